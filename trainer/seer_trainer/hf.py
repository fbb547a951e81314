"""`hf-train --hf-model PATH`: the SEER objective on a Hugging Face causal LM with PEFT LoRA, then
the same export (ONNX with logits + stacked hidden states, tokenizer.json, golden.json, concept bank).
Multi-GPU: `accelerate launch -m seer_trainer hf-train ...` or `torchrun --nproc_per_node N -m seer_trainer hf-train ...`
(the Accelerator picks the launcher's environment up).

NOT RUN in this project: transformers/peft/accelerate and model weights are not available here. The
pieces that do not need them (HFAdapter, TokenizerShim, the shared loss step, export of an adapted
model) are unit-tested with our own model class in trainer/tests/test_hf.py."""
import shutil
from pathlib import Path

import torch

from . import concepts as concept_data
from .batching import stream_windows, token_stream
from .calibrate import build_bank, representations
from .checkpoint import StageCheckpoint, fingerprint
from .config import HFConfig, ModelConfig, SeerConfig, config_dict, load_hf_config
from .errors import SeerInputError
from .export import export_onnx, golden, manifest, write_manifest
from .general_text import read_wordnet, split_heldout
from .io_utils import write_json_atomic
from .model import ModelOutput
from .tokenization_cases import tokenization_cases
from .train import PairSampler, learning_rate, reseed, seer_losses


class HFAdapter(torch.nn.Module):
    """Gives a Hugging Face causal LM our model's interface: forward(ids, mask) -> ModelOutput.
    Note the HF convention: hidden_states[-1] is taken after the final norm (ours is before it)."""

    def __init__(self, hf_model):
        super().__init__()
        self.hf = hf_model

    def forward(self, input_ids, attention_mask=None):
        out = self.hf(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, use_cache=False)
        return ModelOutput(logits=out.logits, hidden_states=tuple(out.hidden_states))


class TokenizerShim:
    """What our batching needs (encode, bos_id, pad_id) on top of a Hugging Face tokenizer."""

    def __init__(self, hf_tokenizer):
        self.t = hf_tokenizer
        self.bos_id = hf_tokenizer.bos_token_id if hf_tokenizer.bos_token_id is not None else hf_tokenizer.eos_token_id
        self.eos_id = hf_tokenizer.eos_token_id
        self.pad_id = hf_tokenizer.pad_token_id if hf_tokenizer.pad_token_id is not None else hf_tokenizer.eos_token_id

    def encode(self, text):
        return list(self.t.encode(text, add_special_tokens=False))


def _imports():
    try:
        import accelerate  # noqa: F401
        import peft  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise SeerInputError(f"--hf-model needs transformers, peft and accelerate ({e}). "
                             "Install them with: pip install transformers peft accelerate")
    return accelerate, peft, transformers


def run_hf(a, log=print):
    accelerate, peft, transformers = _imports()
    cfg: HFConfig = load_hf_config(a.config)
    p = cfg.prompt
    src = Path(a.hf_model)
    if not (src / "config.json").exists():
        raise SeerInputError(f"{src}: no config.json; --hf-model must be a local Hugging Face model folder.")
    if not (src / "tokenizer.json").exists():
        raise SeerInputError(f"{src}: no tokenizer.json (a fast tokenizer is needed so the engine can load it).")
    torch.manual_seed(cfg.seed)
    accelerator = accelerate.Accelerator()
    hf_tok = transformers.AutoTokenizer.from_pretrained(src)
    tok = TokenizerShim(hf_tok)
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    base = transformers.AutoModelForCausalLM.from_pretrained(src, torch_dtype=dtype)
    hc = base.config
    n_layers = hc.num_hidden_layers
    targets = cfg.target_layers or [round(2 * n_layers / 3)]
    s: SeerConfig = cfg.seer
    lora = peft.LoraConfig(r=s.lora_rank, lora_alpha=s.lora_alpha, lora_dropout=s.lora_dropout,
                           target_modules=cfg.lora_targets, task_type="CAUSAL_LM")
    model = peft.get_peft_model(base, lora)
    adapter = HFAdapter(model)

    def frozen_forward(ids, mask):  # the frozen model is the same weights with adapters off
        with model.disable_adapter():
            return adapter(ids, mask)

    train, test = concept_data.generate(cfg.seed)
    general = read_wordnet(cfg.general_max_lines)
    gen_train, gen_held = split_heldout(general)
    pairs = PairSampler(tok, train, concept_data.CONCEPTS, p.template, p.add_bos, p.max_tokens)
    stream = token_stream(tok, gen_train, cfg.seed + 1)
    params = [w for w in model.parameters() if w.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay, betas=s.adam_betas)
    adapter, opt = accelerator.prepare(adapter, opt)
    ckpt = StageCheckpoint(a.ckpt_dir, "hf-seer", fingerprint({"model": str(src), **config_dict(cfg)}))
    start = 0
    state = ckpt.load() if accelerator.is_main_process else None
    if state:
        accelerator.unwrap_model(adapter).load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        start = state["step"]
    device = accelerator.device
    for step in range(start, s.steps):
        rng = reseed(cfg.seed + accelerator.process_index, step)
        for g in opt.param_groups:
            g["lr"] = learning_rate(step, s.steps, s.lr, s.warmup)
        (ids, mask), n = pairs.sample(s.pairs_per_batch, rng)
        gids, gmask = (t.to(device) for t in stream_windows(stream, s.general_batch_size, s.general_seq_len, rng))
        loss, contrast, retain, kl = seer_losses(adapter, frozen_forward, ((ids.to(device), mask.to(device)), n),
                                                 (gids, gmask), s, targets)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, s.grad_clip)
        opt.step()
        if accelerator.is_main_process and (step + 1) % s.log_every == 0:
            log(f"[hf-seer] step {step + 1}/{s.steps} loss {loss.item():.4f} contrastive {contrast.item():.4f} "
                f"retain {retain.item():.5f} kl {kl.item():.5f}")
        if accelerator.is_main_process and (step + 1) % cfg.checkpoint_every == 0:
            trainable = {k: v for k, v in accelerator.unwrap_model(adapter).state_dict().items() if "lora_" in k}
            ckpt.save({"step": step + 1, "model": trainable, "opt": opt.state_dict()})
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    merged = HFAdapter(accelerator.unwrap_model(adapter).hf.merge_and_unload().float().cpu()).eval()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    sha = export_onnx(merged, out / "model.onnx", opset=17)
    shutil.copyfile(src / "tokenizer.json", out / "tokenizer.json")
    max_ctx = getattr(hc, "max_position_embeddings", 2048)
    write_json_atomic(out / "golden.json", golden(merged, tok, p.template, p.add_bos,
                                                  tokenization_cases([e.prompt for e in test], gen_held, 0, 100, 50), max_ctx))
    calib = concept_data.per_concept_sample(train, cfg.calibration_per_concept, cfg.seed)
    with torch.no_grad():
        reps, _ = representations(merged, tok, [e.prompt for e in calib], p.template, p.add_bos, p.max_tokens, batch_size=16)
        test_reps, _ = representations(merged, tok, [e.prompt for e in test], p.template, p.add_bos, p.max_tokens, batch_size=16)
    labels = torch.tensor([concept_data.CONCEPTS.index(e.concept) for e in calib])
    test_labels = torch.tensor([concept_data.CONCEPTS.index(e.concept) for e in test])
    bank = build_bank("default", concept_data.CONCEPTS, concept_data.SAFE, reps, labels, test_reps, test_labels, sha,
                      {"dataset": "generated concept corpus", "rowsUsed": len(calib), "rowsSkipped": 0, "skipped": {}})
    write_json_atomic(out / "banks" / "default.json", bank)
    arch = ModelConfig(num_layers=n_layers, hidden_size=hc.hidden_size, num_heads=hc.num_attention_heads,
                       intermediate_size=getattr(hc, "intermediate_size", 4 * hc.hidden_size),
                       vocab_size=hc.vocab_size, max_context=max_ctx, rope_theta=getattr(hc, "rope_theta", 10000.0),
                       norm_eps=getattr(hc, "rms_norm_eps", 1e-5), tied_embeddings=bool(hc.tie_word_embeddings))
    m = manifest(f"seer-{hc.model_type}", f"SEER fine-tune of {src.name}", arch, targets, p.template, p.add_bos, s.logit_scale,
                 concept_data.CONCEPTS, concept_data.SAFE, sha,
                 {"seed": cfg.seed, "steps": s.steps, "source": str(src), "config": config_dict(cfg)})
    m["architecture"]["type"] = f"hf-{hc.model_type}"
    m["onnx"]["opset"] = 17
    del m["files"]["weights"]
    write_manifest(out, m)
    log(f"[hf-seer] wrote {out}")

