"""`calibrate`: a concept bank for an existing bundle from a labelled dataset; registers it in seer.json."""
import json
from collections import Counter
from pathlib import Path

import torch

from .bundle_model import load_seer_llama
from .calibrate import build_bank, held_out_mask, representations
from .datasets import load_labelled
from .errors import SeerInputError
from .io_utils import write_json_atomic, write_text_atomic


def load_bundle_model(bundle: Path):
    """seer.json, SeerLlama with the weights of the bundle's model.onnx (bundle_model: so a fresh checkout, which
    has no model.pt, calibrates too), and the tokenizer."""
    if not (bundle / "seer.json").is_file():
        raise SeerInputError(f"{bundle}/seer.json not found; --bundle must be a SEER bundle folder (e.g. models/default).")
    return load_seer_llama(bundle)


def run_calibrate(a, log=print):
    bundle = Path(a.bundle)
    out = Path(a.out) if a.out else bundle / "banks" / f"{a.bank_name}.json"
    if out.exists() and not getattr(a, "force", False):  # never replace a bank silently (as the engine's calibrate)
        raise SeerInputError(f"{out} already exists; calibrating would replace it. Choose another --bank-name or --out.")
    manifest, model, tok = load_bundle_model(bundle)
    max_ctx = manifest["architecture"]["maxContext"]
    a.max_tokens = a.max_tokens or max_ctx
    if not 8 <= a.max_tokens <= max_ctx:
        raise SeerInputError(f"--max-tokens {a.max_tokens} must be between 8 and the model context {max_ctx}.")
    rows, skipped = load_labelled(a.data, a.text_column, a.concept_column, a.use, a.response_column, a.split_column)
    # Concepts in order of first appearance; a concept with a single row cannot be measured (as in the engine).
    per_concept = Counter(r.concept for r in rows)
    singles = [r for r in rows if per_concept[r.concept] < 2]
    if singles:
        skipped["concept with a single example"] = len(singles)
        rows = [r for r in rows if per_concept[r.concept] >= 2]
    concepts = list(dict.fromkeys(r.concept for r in rows))
    labels = [concepts.index(r.concept) for r in rows]
    # Held-out rows: the --split-column's test rows, else the engine's seeded split (docs/bundle-format.md).
    held = [r.test for r in rows] if a.split_column else held_out_mask(labels, concepts).tolist()
    train = [(r, y) for r, y, h in zip(rows, labels, held) if not h]
    test = [(r, y) for r, y, h in zip(rows, labels, held) if h]
    template, add_bos = manifest["promptTemplate"], manifest["addBos"]
    pooling = manifest.get("representation", "last")
    reps, cut_train = representations(model, tok, [r.text for r, _ in train], template, add_bos, a.max_tokens, pooling)
    test_reps, cut_test = None, 0
    if test:
        test_reps, cut_test = representations(model, tok, [r.text for r, _ in test], template, add_bos, a.max_tokens, pooling)
    source = {"dataset": str(a.data), "rowsUsed": len(rows), "rowsSkipped": sum(skipped.values()), "skipped": skipped,
              "truncated": cut_train + cut_test, "heldOutRows": len(test)}
    bank = build_bank(a.bank_name, concepts, None, reps, torch.tensor([y for _, y in train]), test_reps,
                      torch.tensor([y for _, y in test], dtype=torch.long), manifest["modelSha256"], source, pooling)
    write_json_atomic(out, bank)
    if out.parent.resolve() == (bundle / "banks").resolve():
        manifest_file = bundle / "seer.json"
        text = manifest_file.read_text(encoding="utf-8")
        updated = with_bank_entry(text, a.bank_name, f"banks/{out.name}")
        if updated != text:
            write_text_atomic(manifest_file, updated)
    if source["truncated"]:
        log(f"note: {source['truncated']} rows longer than {a.max_tokens} tokens were truncated at their end.")
    best = max(bank["layers"], key=lambda l: l["stats"]["gap"])
    log(f"wrote {out}: {len(concepts)} concepts, {len(train)} held-in / {len(test)} held-out rows; "
        f"largest gap {best['stats']['gap']:.3f} at layer {best['layer']}")
    return bank


def with_bank_entry(text, name, rel):
    """seer.json's text with banks[name] = rel; only the `banks` value is rewritten (a json.dumps of the whole
    manifest would rewrite numbers such as 1e-5). The same rule as the engine's withBankEntry (bankFile.ts)."""
    banks = dict(json.loads(text).get("banks") or {})
    if banks.get(name) == rel:
        return text
    banks[name] = rel
    depth, expect_key, i = 0, False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            end = _string_end(text, i)
            if depth == 1 and expect_key and json.loads(text[i:end]) == "banks":
                start = text.index(":", end) + 1
                while text[start].isspace():
                    start += 1
                stop = _value_end(text, start)
                line_start = text.rfind("\n", 0, i) + 1
                indent = text[line_start:i][:len(text[line_start:i]) - len(text[line_start:i].lstrip())]
                return text[:start] + _format_map(banks, indent, "\n" in text[start:stop]) + text[stop:]
            expect_key, i = False, end
            continue
        if ch in "{[":
            depth += 1
            expect_key = depth == 1
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth == 1:
            expect_key = True
        i += 1
    close = text.rindex("}")
    body = text[:close].rstrip()
    return f"{body}{'' if body.endswith('{') else ','}\n  \"banks\": {_format_map(banks, '  ', True)}\n{text[close:]}"


def _format_map(banks, indent, multiline):
    entries = [f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in banks.items()]
    if not entries:
        return "{}"
    if not multiline:
        return "{ " + ", ".join(entries) + " }"
    return "{\n" + ",\n".join(f"{indent}  {e}" for e in entries) + f"\n{indent}}}"


def _string_end(text, i):
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == '"':
            return j + 1
        j += 1
    return len(text)


def _value_end(text, start):
    if text[start] == '"':
        return _string_end(text, start)
    if text[start] not in "{[":
        j = start
        while j < len(text) and text[j] not in ",}] \t\r\n":
            j += 1
        return j
    depth, j = 0, start
    while j < len(text):
        if text[j] == '"':
            j = _string_end(text, j)
            continue
        if text[j] in "{[":
            depth += 1
        elif text[j] in "}]":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)
