"""Command line: `python -m seer_trainer build-default | calibrate | hf-train | import | serve-forward`. Input errors are
reported as one clear message (exit code 2), never as a traceback."""
import argparse
import signal
import sys
from pathlib import Path

from .concepts import CORPUS_VERSIONS
from .errors import SeerInputError

ROOT = Path(__file__).resolve().parents[2]


def _build_default(a):
    from .build import build_default
    build_default(a.config, a.out, a.baseline_out, a.ckpt_dir, device=a.device, stop_after=a.stop_after, corpus=a.corpus,
                  pretrained_from=a.pretrained_from)


def _calibrate(a):
    from .calibrate_cli import run_calibrate
    run_calibrate(a)


def _hf_train(a):
    from .hf import run_hf
    run_hf(a)


def _import(a):
    from .hf_import import run_import
    run_import(a)


def _serve_forward(a):
    from .torch_forward import run_serve
    run_serve(a)


def parser():
    p = argparse.ArgumentParser(prog="python -m seer_trainer", description="SEER trainer: build, calibrate and export SEER bundles.")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build-default", help="train the default SEER model and its baseline twin; write both bundles + REPORT.md")
    b.add_argument("--config", default=str(ROOT / "trainer/configs/default.json"))
    b.add_argument("--out", default=str(ROOT / "models/default"))
    b.add_argument("--baseline-out", default=str(ROOT / "models/baseline"))
    b.add_argument("--ckpt-dir", default=str(ROOT / "trainer/.ckpt"), help="checkpoints; a rerun resumes from here")
    b.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where to train (default: the config's `device`, auto = cuda when there is a GPU)")
    b.add_argument("--corpus", type=int, choices=list(CORPUS_VERSIONS), help="the concept corpus's version (default: the config's `corpus`; "
                   "concepts.py: 2 adds entertainment and home_and_garden and more contrast prompts)")
    b.add_argument("--stop-after", choices=["data", "training"], help="stop once the tokenizer and token streams (data) or the training "
                   "stages' checkpoints (training) are in --ckpt-dir; a rerun without it continues from there")
    b.add_argument("--pretrained-from", default="auto", metavar="auto|none|BUNDLE",
                   help="when --ckpt-dir has no finished pretrain stage, take it from a baseline twin this config built: its weights "
                        "are that stage's result (default auto: the --baseline-out bundle when it holds this config's stage, so the "
                        "committed models/baseline spares a CPU the LM stage; none: always pretrain)")
    b.set_defaults(func=_build_default)

    c = sub.add_parser("calibrate", help="compute a concept bank for a bundle from a labelled CSV/JSONL dataset")
    c.add_argument("--bundle", required=True, help="SEER bundle folder (with seer.json); its PyTorch weights come from --weights")
    c.add_argument("--data", required=True, help="CSV or JSONL file")
    c.add_argument("--text-column", default="prompt")
    c.add_argument("--response-column", default="response")
    c.add_argument("--concept-column", default="concept")
    c.add_argument("--use", choices=["prompt", "response", "both"], default="prompt")
    c.add_argument("--split-column", help="column whose value 'test' marks held-out rows (default: the seeded 20%% split of docs/bundle-format.md)")
    c.add_argument("--max-tokens", type=int, help="longer rows are truncated (reported) to this many tokens (default: the model context)")
    c.add_argument("--bank-name", default="custom")
    c.add_argument("--out", help="bank file to write (default: <bundle>/banks/<bank-name>.json)")
    c.add_argument("--force", action="store_true", help="replace an existing bank file (refused otherwise)")
    c.set_defaults(func=_calibrate)

    h = sub.add_parser("hf-train", help="SEER-train a Hugging Face checkpoint (Llama, Mistral, Qwen2/3, Gemma 2) on your labelled data, "
                                        "without transformers, and write its bundle as `import` does")
    h.add_argument("--hf-model", required=True, metavar="HF_DIR", help="checkpoint folder: config.json, *.safetensors, tokenizer.json, tokenizer_config.json")
    h.add_argument("--data", required=True, help="labelled CSV or JSONL: the concepts to train")
    h.add_argument("--text", action="append", metavar="COLUMN", help="text column; repeat for several (joined by a newline; default: prompt)")
    h.add_argument("--label", required=True, metavar="COLUMN", help="column holding each row's concept")
    h.add_argument("--general", help="general text for the retain and KL terms, one text per line (default: WordNet glosses)")
    h.add_argument("--loss", choices=["info-nce", "nt-xent"], default="info-nce",
                   help="contrastive loss: CLIP-style InfoNCE over pairs, or SimCLR's NT-Xent (the paper's best safety numbers)")
    h.add_argument("--position", choices=["last", "request-end"], default="last",
                   help="token the representation is read from: the last one, or the template token right after the prompt")
    h.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: bf16 weights with autocast and gradient checkpointing")
    h.add_argument("--steps", type=int, help="training steps (default: seer.steps of --config)")
    h.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32", help="the bundle's weight storage, as `import --dtype`")
    h.add_argument("--config", default=str(ROOT / "trainer/configs/hf.json"))
    h.add_argument("--out", required=True, help="bundle folder to create")
    h.add_argument("--force", action="store_true", help="replace an existing --out bundle (refused otherwise)")
    h.add_argument("--ckpt-dir", default=str(ROOT / "trainer/.ckpt/hf"), help="checkpoints; the same command resumes from here")
    h.set_defaults(func=_hf_train)

    i = sub.add_parser("import", help="turn a Hugging Face checkpoint folder (Llama, Mistral, Qwen2/3, Gemma 2) into a SEER bundle, without transformers")
    i.add_argument("hf_dir", metavar="HF_DIR", help="checkpoint folder: config.json, *.safetensors, tokenizer.json, tokenizer_config.json")
    i.add_argument("--out", required=True, help="bundle folder to create")
    i.add_argument("--force", action="store_true", help="replace an existing --out folder (refused otherwise)")
    i.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32",
                   help="weight storage in model.onnx: fp16 halves the bundle (the graph still computes and outputs float32)")
    i.add_argument("--via", choices=["graph", "transformers"], default="graph",
                   help="graph: SEER's own graph writer (the families above, streamed, no transformers); transformers: "
                        "any causal LM transformers loads (needs transformers; whole model in memory; fp32 only)")
    i.set_defaults(func=_import)

    f = sub.add_parser("serve-forward", help="the engine's torch provider: run a bundle's forward pass on PyTorch over stdin/stdout "
                       "(engine/src/runtime/torchSession.ts starts it; the wire format is in torch_forward.py)")
    f.add_argument("--bundle", help="SEER bundle folder (seer.json, model.onnx)")
    f.add_argument("--device", default="auto", help="auto (the first CUDA device, else cpu), cpu, cuda or cuda:N")
    f.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto",
                   help="compute type (auto: bfloat16 on CUDA, float32 on CPU)")
    f.add_argument("--probe", action="store_true", help="print what PyTorch can run on (JSON) and exit")
    f.set_defaults(func=_serve_forward)
    return p


def _interrupt_on_signals():
    """Ctrl-C and SIGTERM (how `seer import` and VS Code cancel) both raise KeyboardInterrupt, so the `except
    BaseException` cleanups run (an import removes its temporary folder). Later signals are ignored, so that the
    cleanup is not interrupted in turn: Ctrl-C reaches the whole process group, and the Node CLI then sends SIGTERM.
    Returns the previous handlers (main restores them: the tests call main in pytest's process)."""
    def interrupt(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt
    return {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    previous = _interrupt_on_signals()
    try:
        args.func(args)
    except SeerInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command (training resumes from the last checkpoint; import starts clean)", file=sys.stderr)
        return 130
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
