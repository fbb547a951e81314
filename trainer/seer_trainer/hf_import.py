"""`import`: a Hugging Face checkpoint folder -> a SEER bundle (docs/bundle-format.md), without transformers.

The model is hf_model.HFDecoder (one implementation for every family), exported to ONNX with the output
contract the engine reads today (export.OnnxWrapper: logits [B, T, V], hidden_states [L+1, B, T, H],
dynamic batch and sequence). The prompt format is the model's own chat template, rendered once here for
one user message around a sentinel that then becomes `{prompt}`. Everything is written into a temporary
folder beside --out and renamed at the end, so an interrupted import leaves no half-written bundle."""
import json
import shutil
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

from .errors import SeerInputError
from .config import ModelConfig
from .export import export_onnx, manifest, write_manifest
from .hf_families import load_decoder_config
from .hf_model import HFDecoder
from .safetensors_io import Checkpoint

ONNX_LIMIT = 2 * 1024 ** 3  # one protobuf; the engine refuses external data (issue 14)
TARGET_FRACTION = 0.78  # the paper's target layer: 25 of 32 for Llama-3.1-8B
SENTINEL = "\u27e6sEEr-prompt\u27e7"  # ⟦sEEr-prompt⟧: in no real template; any case filter changes it
PLAIN_TEMPLATE = "{prompt}"


class OnnxHead(torch.nn.Module):
    """HFDecoder with every token's logits, as export.OnnxWrapper expects of a model (engine contract)."""

    def __init__(self, decoder: HFDecoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, input_ids, attention_mask):
        out = self.decoder(input_ids, attention_mask)
        return SimpleNamespace(logits=self.decoder.logits(out.hidden_states[-1]), hidden_states=out.hidden_states)


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
    if '"ByteLevel"' not in json.dumps(tokenizer_json.get("pre_tokenizer")):
        raise SeerInputError(f"{src / 'tokenizer.json'}: not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer); "
                             "bundle format 1 supports byte-level BPE only (Llama 3, Qwen 2/2.5/3 use it; "
                             "SentencePiece tokenizers such as Llama 2's, Mistral's and Gemma's are not supported yet)")
    return tokenizer_json, _read_json(src / "tokenizer_config.json", "the checkpoint folder needs tokenizer_config.json (special tokens, chat template)")


def bundle_manifest(src: Path, config, template, add_bos, special, sha) -> dict:
    """seer.json for an imported model: no concept bank yet (`defaultBank` names the bank to calibrate)."""
    arch = ModelConfig(vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_layers=config.num_layers,
                       num_heads=config.num_heads, intermediate_size=config.intermediate_size,
                       max_context=config.max_position_embeddings, rope_theta=config.rope.theta,
                       norm_eps=config.norm_eps, tied_embeddings=config.tie_word_embeddings)
    name = src.resolve().name
    m = manifest(name, f"{config.architecture} imported from the Hugging Face checkpoint {name}", arch,
                 [target_layer(config.num_layers)], template, add_bos, 10.0, [], [], sha,
                 {"importedFrom": name, "family": config.family})  # the folder name only: no local path in a shared bundle
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


def import_checkpoint(src, out, force=False, log=print) -> dict:
    """Writes the bundle folder `out` and returns its manifest."""
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise SeerInputError(f"{src}: not a folder; pass a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)")
    _check_output(src, out, force)
    config = load_decoder_config(src)
    tokenizer_json, tokenizer_config = _tokenizer_files(src)
    template, add_bos, special = prompt_format(tokenizer_config, tokenizer_json, log)
    fp32_bytes = sum(p.numel() for p in HFDecoder(config, device="meta").parameters()) * 4
    if fp32_bytes > ONNX_LIMIT - (64 << 20):
        raise SeerInputError(f"{src}: the model's float32 ONNX graph would be {fp32_bytes / 1e9:.1f} GB; models over 2 GB "
                             "need ONNX external data, which is not yet supported (issue 9)")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".importing"))
    old = None
    try:
        with Checkpoint(src) as ckpt:
            decoder = HFDecoder(config, device="meta").load_weights(ckpt).eval()
        if decoder.unused_tensors:
            log(f"note: {len(decoder.unused_tensors)} tensors of the checkpoint are not used (e.g. {decoder.unused_tensors[0]})")
        log(f"exporting {config.architecture} ({config.num_layers} layers, hidden {config.hidden_size}) to ONNX …")
        with warnings.catch_warnings():  # the tracer's notes on hf_model's input checks and shape inference: not the user's concern
            warnings.simplefilter("ignore")
            sha = export_onnx(OnnxHead(decoder), tmp / "model.onnx", to_file=True)
        shutil.copyfile(src / "tokenizer.json", tmp / "tokenizer.json")
        data = bundle_manifest(src, config, template, add_bos, special, sha)
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
    import_checkpoint(a.hf_dir, a.out, a.force, log)
