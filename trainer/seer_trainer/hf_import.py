"""`import`: a Hugging Face checkpoint folder -> a SEER bundle (docs/bundle-format.md, format 2), without transformers.

The graph is onnx_graph.write_explain_graph's explain head (the one export path of every bundle) in its KV-cache
form (generation feeds only each new token), its weights streamed from the safetensors one tensor at a time at
--dtype (fp32, or fp16 storage), in model.onnx.data beside model.onnx when they exceed 1 GB. The disk and memory that needs are estimated from the checkpoint's headers and
checked before anything is written. The prompt format is the model's own chat template, rendered once here for
one user message around a sentinel that then becomes `{prompt}`. Everything is written into a temporary
folder beside --out and renamed at the end, so an interrupted import leaves no half-written bundle."""
import contextlib
import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import SeerInputError
from .config import ModelConfig
from .export import manifest, write_manifest
from .hf_families import load_decoder_config
from .onnx_graph import write_explain_graph
from .safetensors_io import Checkpoint

TARGET_FRACTION = 0.78  # the paper's target layer: 25 of 32 for Llama-3.1-8B
SENTINEL = "\u27e6sEEr-prompt\u27e7"  # ⟦sEEr-prompt⟧: in no real template; any case filter changes it
PLAIN_TEMPLATE = "{prompt}"
VIA = ("graph", "transformers")  # --via: our own graph writer, or transformers + torch.onnx.export
DTYPES = {"fp32": "float32", "fp16": "float16"}  # --dtype -> the graph's weight storage
BYTES_PER_WEIGHT = {"float32": 4, "float16": 2}
EXTERNAL_DATA_OVER = 1 << 30  # weights beyond this go to model.onnx.data (format 2: "over ~1 GB")
DISK_MARGIN = 64 << 20  # the graph's nodes, seer.json, alignment padding
MEMORY_MARGIN = 512 << 20  # the graph's nodes and the interpreter's own growth while writing


def target_layer(num_layers: int) -> int:
    return max(1, min(num_layers, round(TARGET_FRACTION * num_layers)))


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeerInputError(f"{path} not found: {what}")
    except (UnicodeDecodeError, ValueError) as e:
        raise SeerInputError(f"{path}: not valid JSON ({e}); download it again")
    if not isinstance(data, dict):
        raise SeerInputError(f"{path}: expected a JSON object")
    return data


def _token_text(value):
    """tokenizer_config.json writes special tokens as a string or as an AddedToken object {"content": ...}."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def render_chat_template(template: str, bos: str, eos: str):
    """(promptTemplate, addBos) from a chat template for one user message with add_generation_prompt.
    Rendered in jinja2's sandbox as transformers does (the template is untrusted input)."""
    try:
        from jinja2 import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        raise SeerInputError("rendering the chat template needs jinja2 (Debian: apt install python3-jinja2; pip: jinja2)")

    def raise_exception(message):
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals.update(raise_exception=raise_exception, strftime_now=lambda fmt: "")
    try:
        text = env.from_string(template).render(messages=[{"role": "user", "content": SENTINEL}],
                                                add_generation_prompt=True, bos_token=bos or "", eos_token=eos or "")
    except TemplateError as e:
        raise SeerInputError(f"tokenizer_config.json: the chat_template does not render for one user message: {e}")
    if text.count(SENTINEL) != 1 or "{prompt}" in text:
        raise SeerInputError("tokenizer_config.json: the chat_template changes or repeats the user's message; "
                             "SEER needs it verbatim exactly once to place the prompt")
    add_bos = not (bos and text.startswith(bos))  # never a second BOS: the template already has one
    return text.replace(SENTINEL, "{prompt}"), add_bos


def prompt_format(tokenizer_config: dict, tokenizer_json: dict, log=print):
    """(promptTemplate, addBos, specialTokens) from tokenizer_config.json (and tokenizer.json's vocabulary)."""
    bos, eos = _token_text(tokenizer_config.get("bos_token")), _token_text(tokenizer_config.get("eos_token"))
    pad = _token_text(tokenizer_config.get("pad_token"))
    template = tokenizer_config.get("chat_template")
    if isinstance(template, list):  # [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
        template = next((t.get("template") for t in template if isinstance(t, dict) and t.get("name") == "default"), None)
    if isinstance(template, str) and template.strip():
        prompt_template, add_bos = render_chat_template(template, bos, eos)
        log(f"prompt format: the model's chat template, {json.dumps(prompt_template)}, addBos {str(add_bos).lower()}")
    else:
        # A base model: the prompt as is, with the BOS the tokenizer itself would add.
        prompt_template = PLAIN_TEMPLATE
        add_bos = bool(tokenizer_config.get("add_bos_token", bos is not None and bos in json.dumps(tokenizer_json.get("post_processor"))))
        log(f"prompt format: tokenizer_config.json has no chat_template (a base model): the plain format "
            f"\"{{prompt}}\", addBos {str(add_bos).lower()}")
    if eos is None:
        raise SeerInputError("tokenizer_config.json names no eos_token; SEER bundles need one")
    vocab = {**tokenizer_json.get("model", {}).get("vocab", {}),
             **{t.get("content"): t.get("id") for t in tokenizer_json.get("added_tokens", []) if isinstance(t, dict)}}
    for name, token in (("bos_token", bos), ("eos_token", eos), ("pad_token", pad)):
        if token is not None and token not in vocab:
            raise SeerInputError(f"tokenizer_config.json: {name} {token!r} is not in tokenizer.json's vocabulary; "
                                 "are both files from the same model?")
    # The manifest needs a token for each role; a model without BOS or PAD (Qwen) never uses them:
    # addBos is false without a bos token, and padding is masked out.
    if bos is None:
        add_bos = False
    return prompt_template, add_bos, {"bos": bos or eos, "eos": eos, "pad": pad or eos}


def _tokenizer_files(src: Path):
    if not (src / "tokenizer.json").is_file():
        slow = [n for n in ("tokenizer.model", "vocab.json", "spiece.model") if (src / n).exists()]
        hint = (f" It has only {', '.join(slow)} (a slow tokenizer); convert it once where transformers is installed: "
                "AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR) writes tokenizer.json." if slow else "")
        raise SeerInputError(f"{src}: no tokenizer.json (the fast tokenizer the engine runs).{hint}")
    tokenizer_json = _read_json(src / "tokenizer.json", "")

    # The two kinds the engine runs, recognised as engine/src/bundle/tokenizerKind.ts does: byte-level BPE, or
    # SentencePiece BPE as transformers converts it (byte fallback with all 256 <0xNN> tokens; "▁" for spaces
    # written by a normalizer Replace(" ", "▁") after an optional Prepend("▁"), or by a Metaspace pre-tokenizer
    # with split false: @huggingface/tokenizers does not split at "▁" as Rust's split true does).
    def sentencepiece_problem(t):
        model, norm, pre = t.get("model") or {}, t.get("normalizer"), t.get("pre_tokenizer")
        if model.get("type") != "BPE":
            return f"its model is {model.get('type')!r}, not BPE"
        if model.get("byte_fallback") is not True:
            return "it is BPE without a ByteLevel pre-tokenizer and without byte_fallback"
        missing = [f"<0x{b:02X}>" for b in range(256) if f"<0x{b:02X}>" not in (model.get("vocab") or {})]
        if missing:
            return f"byte_fallback is on but {len(missing)} byte tokens are missing (e.g. {missing[0]})"
        def is_replace(step):
            return isinstance(step, dict) and step.get("type") == "Replace" and step.get("pattern") == {"String": " "} \
                and step.get("content") == "\u2581"

        def is_prepend(step):
            return isinstance(step, dict) and step.get("type") == "Prepend" and step.get("prepend") == "\u2581"

        steps = (norm.get("normalizers") if norm.get("type") == "Sequence" else [norm]) if isinstance(norm, dict) else None
        if norm is not None and not (isinstance(steps, list) and all(is_replace(x) or is_prepend(x) for x in steps)
                                     and sum(map(is_replace, steps)) == 1 and sum(map(is_prepend, steps)) <= 1):
            kinds = [x.get("type") if isinstance(x, dict) else x for x in steps] if isinstance(steps, list) else steps
            return f"its normalizer ({json.dumps(kinds)}) is not the converter's Replace(\" \", \"\u2581\") with an optional Prepend(\"\u2581\")"
        if pre is not None and not (isinstance(pre, dict) and pre.get("type") == "Metaspace" and pre.get("replacement") == "\u2581"
                                    and pre.get("split") is False and pre.get("prepend_scheme") in ("always", "first", "never")):
            shown = json.dumps(pre, ensure_ascii=False) if isinstance(pre, dict) and pre.get("type") == "Metaspace" else pre.get("type") if isinstance(pre, dict) else pre
            return (f"its pre-tokenizer {shown} is not a Metaspace with \"\u2581\", split false and a prepend_scheme "
                    "(a Metaspace that splits at every \"\u2581\" is not reproduced by the engine)")
        if (norm is None) == (pre is None):
            return "its spaces are written as \"\u2581\" by both or neither of its normalizer and a Metaspace pre-tokenizer"
        return None

    if '"ByteLevel"' not in json.dumps(tokenizer_json.get("pre_tokenizer")):
        problem = sentencepiece_problem(tokenizer_json)
        if problem:
            raise SeerInputError(f"{src / 'tokenizer.json'}: not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer) "
                                 f"nor a SentencePiece BPE one: {problem}. SEER runs byte-level BPE (Llama 3, Qwen 2/2.5/3) "
                                 "and SentencePiece BPE as transformers converts it (byte_fallback with the 256 <0xNN> "
                                 "tokens, \"\u2581\" for spaces: Llama 1/2, Mistral, Gemma); Unigram and WordPiece "
                                 "tokenizers (T5, BERT) are not supported")
    return tokenizer_json, _read_json(src / "tokenizer_config.json", "the checkpoint folder needs tokenizer_config.json (special tokens, chat template)")


def bundle_manifest(src: Path, config, template, add_bos, special, graph, weights_dtype) -> dict:
    """seer.json for an imported model: no concept bank yet (`defaultBank` names the bank to calibrate)."""
    arch = ModelConfig(vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_layers=config.num_layers,
                       num_heads=config.num_heads, intermediate_size=config.intermediate_size,
                       max_context=config.max_position_embeddings, rope_theta=config.rope.theta,
                       norm_eps=config.norm_eps, tied_embeddings=config.tie_word_embeddings)
    name = src.resolve().name
    m = manifest(name, f"{config.architecture} imported from the Hugging Face checkpoint {name}", arch,
                 [target_layer(config.num_layers)], template, add_bos, 10.0, [], [], graph,
                 {"importedFrom": name, "family": config.family}, weights_dtype)  # the folder name only: no local path in a shared bundle
    m["architecture"]["type"] = f"hf-{config.family}"
    m["specialTokens"] = special
    m["files"] = {"model": "model.onnx", "tokenizer": "tokenizer.json"}
    m["banks"] = {}
    return m


def _check_output(src: Path, out: Path, force: bool):
    """--force replaces a SEER bundle (or an empty folder), never anything else: it deletes the old folder."""
    if not out.exists():
        return
    if not force:
        raise SeerInputError(f"{out} already exists; choose another --out, or pass --force to replace it")
    if src.resolve() == out.resolve() or out.resolve() in src.resolve().parents:
        raise SeerInputError(f"--out {out} holds the checkpoint itself; choose another folder")
    if not out.is_dir() or not ((out / "seer.json").is_file() or not any(out.iterdir())):
        raise SeerInputError(f"{out} is not a SEER bundle (no seer.json); --force replaces only a bundle or an empty folder, "
                             "so choose another --out")


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def _count(n: int) -> str:
    return f"{n / 1e9:.2f} billion" if n >= 1e9 else f"{n / 1e6:.2f} million"


def available_memory() -> Optional[int]:
    """MemAvailable from /proc/meminfo (what can be allocated without swapping), or None where there is none."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass(frozen=True)
class ImportEstimate:
    parameters: int  # elements of every checkpoint tensor
    disk: int  # the bundle: weights at the chosen dtype, tokenizer.json, the graph
    external: bool  # whether the weights go to model.onnx.data
    largest: str  # the checkpoint's largest tensor
    memory: int  # peak: the largest tensor converted and transposed (two copies), plus a margin


def estimate(ckpt: Checkpoint, src: Path, weights_dtype: str, external_data_over: int) -> ImportEstimate:
    """From the safetensors headers alone (no tensor is read). The graph writer streams: one tensor at a time."""
    size = BYTES_PER_WEIGHT[weights_dtype]
    counts = {name: math.prod(ckpt.shape(name)) for name in ckpt.names()}
    parameters = sum(counts.values())
    largest = max(counts, key=counts.get)
    weights = parameters * size
    return ImportEstimate(parameters, weights + (src / "tokenizer.json").stat().st_size + DISK_MARGIN,
                          weights > external_data_over, largest, 2 * counts[largest] * size + MEMORY_MARGIN)


def _existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_resources(e: ImportEstimate, ckpt: Checkpoint, out: Path, dtype: str, log=print):
    """Refuses (naming the numbers) when --out's file system or the memory cannot hold the import."""
    where = _existing(out.parent)
    free = shutil.disk_usage(where).free
    smaller = " or pass --dtype fp16 (half the weights)" if dtype == "fp32" else ""
    if free < e.disk:
        raise SeerInputError(f"{where}: {_size(free)} free, but the bundle needs about {_size(e.disk)} "
                             f"({_count(e.parameters)} weights at {DTYPES[dtype]}); free some space, choose "
                             f"another --out{smaller}")
    memory = available_memory()
    if memory is not None and memory < e.memory:
        raise SeerInputError(f"the import needs about {_size(e.memory)} of memory (its largest tensor, {e.largest} "
                             f"{list(ckpt.shape(e.largest))}, held twice at {DTYPES[dtype]} while it is converted, plus "
                             f"{_size(MEMORY_MARGIN)}), but {_size(memory)} is available (MemAvailable); close other "
                             f"programs or import on a machine with more memory{smaller}")
    log(f"estimate: {_count(e.parameters)} weights at {DTYPES[dtype]}: about {_size(e.disk)} on disk "
        f"({'model.onnx + model.onnx.data' if e.external else 'one model.onnx'}; {_size(free)} free at {where}), "
        f"peak memory about {_size(e.memory)} (one tensor at a time; "
        f"{_size(memory) + ' available' if memory is not None else 'available memory unknown'})")


def import_checkpoint(src, out, force=False, log=print, *, dtype="fp32", external_data_over=EXTERNAL_DATA_OVER,
                      via="graph", kv_cache=True) -> dict:
    """Writes the bundle folder `out` and returns its manifest. dtype: "fp32" or "fp16" (weight storage; the
    graph computes and outputs float32). external_data_over: weight bytes beyond which model.onnx.data is used.
    via: "graph" (hf_families' architectures, streamed, no transformers) or "transformers" (any causal LM
    transformers loads, exported by hf_transformers_export.py with the whole model in memory). kv_cache: the
    graph writer's KV-cache inputs/outputs (via graph only; False writes a graph that generation re-runs)."""
    src, out = Path(src), Path(out)
    if dtype not in DTYPES:
        raise SeerInputError(f"--dtype {dtype!r}: choose {' or '.join(DTYPES)}")
    if via not in VIA:
        raise SeerInputError(f"--via {via!r}: choose {' or '.join(VIA)}")
    if via == "transformers" and dtype != "fp32":
        raise SeerInputError("--via transformers writes float32 weights only; drop --dtype fp16 (or use the default "
                             "path for a supported family)")
    if not src.is_dir():
        raise SeerInputError(f"{src}: not a folder; pass a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)")
    _check_output(src, out, force)
    config = load_decoder_config(src) if via == "graph" else None
    tokenizer_json, tokenizer_config = _tokenizer_files(src)
    template, add_bos, special = prompt_format(tokenizer_config, tokenizer_json, log)
    weights_dtype = DTYPES[dtype]
    exporter = None
    if via == "transformers":
        from .hf_transformers_export import load_for_export
        exporter = load_for_export(src, log)
        config = exporter.config
    with (Checkpoint(src) if exporter is None else contextlib.nullcontext()) as ckpt:
        if exporter is None:
            check_resources(estimate(ckpt, src, weights_dtype, external_data_over), ckpt, out, dtype, log)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".importing"))
        old = None
        try:
            log(f"writing {config.architecture} ({config.num_layers} layers, hidden {config.hidden_size}) as an ONNX explain graph …")
            graph = (write_explain_graph(config, ckpt, tmp, weights_dtype, external_data_over, log, kv_cache) if exporter is None
                     else exporter.write_graph(tmp, external_data_over, log))
            shutil.copyfile(src / "tokenizer.json", tmp / "tokenizer.json")
            data = bundle_manifest(src, config, template, add_bos, special, graph, weights_dtype)
            write_manifest(tmp, data)
            if out.exists():  # --force: the old bundle is moved aside only once the new one is complete
                old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".replaced"))
                out.rename(old / out.name)
            tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if old is not None and not out.exists():  # put the old bundle back
                (old / out.name).rename(out)
                shutil.rmtree(old, ignore_errors=True)
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    log(f"wrote {out}: target layer {data['targetLayers'][0]} of {config.num_layers}; no concept bank yet: "
        f"calibrate one with `seer calibrate DATA --label COLUMN --bundle {out} --bank-name {data['defaultBank']}`")
    return data


def run_import(a, log=print):
    import_checkpoint(a.hf_dir, a.out, a.force, log, dtype=a.dtype, via=a.via)
