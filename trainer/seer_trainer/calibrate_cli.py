"""`calibrate`: a concept bank for an existing bundle from a labelled dataset; registers it in seer.json."""
import json
from pathlib import Path

import torch

from .calibrate import build_bank, representations
from .config import ModelConfig
from .datasets import load_labelled
from .errors import SeerInputError
from .io_utils import write_json_atomic
from .model import SeerLlama
from .tokenizer import ByteLevelBPE


def load_bundle_model(bundle: Path):
    """The bundle's PyTorch twin (model.pt, written next to model.onnx by the trainer) and tokenizer."""
    try:
        manifest = json.loads((bundle / "seer.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeerInputError(f"{bundle}/seer.json not found; --bundle must be a SEER bundle folder (e.g. models/default).")
    weights = bundle / manifest["files"].get("weights", "model.pt")
    if not weights.exists():
        raise SeerInputError(f"{weights} not found: calibrating in Python needs the PyTorch weights the trainer writes; "
                             "use the engine's calibrate (seer calibrate) for bundles without them.")
    a = manifest["architecture"]
    cfg = ModelConfig(vocab_size=a["vocabSize"], hidden_size=a["hiddenSize"], num_layers=a["numLayers"],
                      num_heads=a["numHeads"], intermediate_size=a["intermediateSize"], max_context=a["maxContext"],
                      rope_theta=a["ropeTheta"], norm_eps=a["normEps"], tied_embeddings=a["tiedEmbeddings"])
    model = SeerLlama(cfg)
    model.load_state_dict(torch.load(weights, map_location="cpu"))
    model.eval()
    return manifest, model, ByteLevelBPE.load(bundle / manifest["files"]["tokenizer"])


def run_calibrate(a, log=print):
    bundle = Path(a.bundle)
    manifest, model, tok = load_bundle_model(bundle)
    max_ctx = manifest["architecture"]["maxContext"]
    a.max_tokens = a.max_tokens or max_ctx
    if not 8 <= a.max_tokens <= max_ctx:
        raise SeerInputError(f"--max-tokens {a.max_tokens} must be between 8 and the model context {max_ctx}.")
    rows, skipped = load_labelled(a.data, a.text_column, a.concept_column, a.use, a.response_column, a.split_column)
    concepts = sorted({r.concept for r in rows})
    train = [r for r in rows if not r.test]
    test = [r for r in rows if r.test]
    template, add_bos = manifest["promptTemplate"], manifest["addBos"]
    pooling = manifest.get("representation", "last")
    reps, cut_train = representations(model, tok, [r.text for r in train], template, add_bos, a.max_tokens, pooling)
    labels = torch.tensor([concepts.index(r.concept) for r in train])
    test_reps, test_labels, cut_test = None, torch.tensor([], dtype=torch.long), 0
    if test:
        test_reps, cut_test = representations(model, tok, [r.text for r in test], template, add_bos, a.max_tokens, pooling)
        test_labels = torch.tensor([concepts.index(r.concept) for r in test])
    source = {"dataset": str(a.data), "rowsUsed": len(rows), "rowsSkipped": sum(skipped.values()), "skipped": skipped,
              "truncated": cut_train + cut_test, "heldOutRows": len(test)}
    bank = build_bank(a.bank_name, concepts, [], reps, labels, test_reps, test_labels, manifest["modelSha256"], source, pooling)
    out = Path(a.out) if a.out else bundle / "banks" / f"{a.bank_name}.json"
    write_json_atomic(out, bank)
    if out.parent.resolve() == (bundle / "banks").resolve():
        manifest["banks"][a.bank_name] = f"banks/{out.name}"
        write_json_atomic(bundle / "seer.json", manifest, indent=2)
    if source["truncated"]:
        log(f"note: {source['truncated']} rows longer than {a.max_tokens} tokens were truncated at their end.")
    best = max(bank["layers"], key=lambda l: l["stats"]["gap"])
    log(f"wrote {out}: {len(concepts)} concepts, {len(train)} held-in / {len(test)} held-out rows; "
        f"largest gap {best['stats']['gap']:.3f} at layer {best['layer']}")
    return bank
