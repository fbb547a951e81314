"""Tokenization for hf-train by the engine itself: engine_tokenizer.cjs runs engine/src/bundle/tokenizer.ts
(@huggingface/tokenizers over the checkpoint's tokenizer.json, the prompt template, BOS and truncation
rules) in Node. The trainer's own Python BPE (tokenizer.py) only reads the default model's GPT-2-style
tokenizer, and the `tokenizers` package is not available here; this way a SEER-trained model is trained
on exactly the token ids `seer explain` will feed it."""
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List

from .errors import SeerInputError

SCRIPT = Path(__file__).with_name("engine_tokenizer.cjs")
SETUP = "hf-train tokenizes with the engine (Node 20+ and the checkout's node_modules: run `npm ci` in the repository)"


@dataclass
class EncodedPrompt:
    ids: List[int]
    position: int  # the read-out token (engine/src/representation.ts readOutPosition)
    has_suffix: bool  # the template has tokens after the prompt (request-end reads the first of them)
    truncated: bool


def encode(tokenizer_json: Path, manifest: dict, prompts: List[str], raw: List[str], max_prompt_tokens: int, pooling: str):
    """(EncodedPrompt per prompt, ids per raw text, {"bos", "eos", "pad"} ids). manifest: promptTemplate, addBos,
    specialTokens and architecture {vocabSize, maxContext}, as in seer.json; pooling: "last" or "request-end"."""
    node = shutil.which("node")
    if node is None:
        raise SeerInputError(f"node not found: {SETUP}")
    request = {"tokenizer": str(tokenizer_json), "manifest": manifest, "prompts": prompts, "raw": raw,
               "maxPromptTokens": max_prompt_tokens, "pooling": pooling}
    run = subprocess.run([node, str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True)
    if run.returncode == 3:  # the engine's own error (e.g. a special token not in the vocabulary)
        raise SeerInputError(f"{tokenizer_json}: {run.stderr.strip()}")
    if run.returncode != 0:
        detail = run.stderr.strip().splitlines()
        raise SeerInputError(f"the engine's tokenizer did not run ({detail[0] if detail else f'exit code {run.returncode}'}): {SETUP}")
    out = json.loads(run.stdout)
    return [EncodedPrompt(p["ids"], p["position"], p["hasSuffix"], p["truncated"]) for p in out["prompts"]], out["raw"], out["special"]
