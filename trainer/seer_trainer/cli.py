"""Command line: `python -m seer_trainer build-default | calibrate | hf-train | import`. Input errors are
reported as one clear message (exit code 2), never as a traceback."""
import argparse
import sys
from pathlib import Path

from .errors import SeerInputError

ROOT = Path(__file__).resolve().parents[2]


def _build_default(a):
    from .build import build_default
    build_default(a.config, a.out, a.baseline_out, a.ckpt_dir)


def _calibrate(a):
    from .calibrate_cli import run_calibrate
    run_calibrate(a)


def _hf_train(a):
    from .hf import run_hf
    run_hf(a)


def _import(a):
    from .hf_import import run_import
    run_import(a)


def parser():
    p = argparse.ArgumentParser(prog="python -m seer_trainer", description="SEER trainer: build, calibrate and export SEER bundles.")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build-default", help="train the default SEER model and its baseline twin; write both bundles + REPORT.md")
    b.add_argument("--config", default=str(ROOT / "trainer/configs/default.json"))
    b.add_argument("--out", default=str(ROOT / "models/default"))
    b.add_argument("--baseline-out", default=str(ROOT / "models/baseline"))
    b.add_argument("--ckpt-dir", default=str(ROOT / "trainer/.ckpt"), help="checkpoints; a rerun resumes from here")
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

    h = sub.add_parser("hf-train", help="SEER-fine-tune a Hugging Face causal LM (needs transformers + peft) and export a bundle")
    h.add_argument("--hf-model", required=True, help="local path of a Hugging Face causal LM")
    h.add_argument("--config", default=str(ROOT / "trainer/configs/hf.json"))
    h.add_argument("--out", required=True)
    h.add_argument("--ckpt-dir", default=str(ROOT / "trainer/.ckpt/hf"))
    h.set_defaults(func=_hf_train)

    i = sub.add_parser("import", help="turn a Hugging Face checkpoint folder (Llama, Mistral, Qwen2/3, Gemma 2) into a SEER bundle, without transformers")
    i.add_argument("hf_dir", metavar="HF_DIR", help="checkpoint folder: config.json, *.safetensors, tokenizer.json, tokenizer_config.json")
    i.add_argument("--out", required=True, help="bundle folder to create")
    i.add_argument("--force", action="store_true", help="replace an existing --out folder (refused otherwise)")
    i.set_defaults(func=_import)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except SeerInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command (training resumes from the last checkpoint; import starts clean)", file=sys.stderr)
        return 130
    return 0
