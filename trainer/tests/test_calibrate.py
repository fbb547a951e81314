import pytest
import torch
import torch.nn.functional as F

from seer_trainer.calibrate import bank_prototypes, build_bank, held_out_mask, layer_stats, mulberry32, nearest_rank, prototypes, seed_for
from seer_trainer.errors import SeerInputError


def _data():
    torch.manual_seed(3)
    centers = torch.randn(3, 8) * 2
    labels = torch.tensor([0] * 5 + [1] * 4 + [2] * 6)
    reps = centers[labels] + torch.randn(len(labels), 8)
    held_out = torch.zeros(len(labels), dtype=torch.bool)
    held_out[[0, 5, 9, 10]] = True
    return reps, labels, held_out


def test_prototypes_are_renormalised_means_of_unit_vectors():
    reps, labels, _ = _data()
    p = prototypes(reps, labels, 3)
    for c in range(3):
        units = [r / r.norm() for r, y in zip(reps, labels) if y == c]
        mean = sum(units) / len(units)
        assert torch.allclose(p[c].float(), mean / mean.norm(), atol=1e-6)


def test_layer_stats_against_pairwise_loops():
    """docs/bundle-format.md "Bank statistics", computed the slow way on every pair."""
    reps, labels, held_out = _data()
    train, y = reps[~held_out], labels[~held_out].tolist()
    held, hy = reps[held_out], labels[held_out].tolist()
    s = layer_stats(train, labels[~held_out], 3, held, labels[held_out])["stats"]
    z = F.normalize(train.double(), dim=-1)
    hz = F.normalize(held.double(), dim=-1)
    n = len(y)
    cos = [[float(z[i] @ z[j]) for j in range(n)] for i in range(n)]
    mean = lambda xs: sum(xs) / len(xs)
    same = mean([mean([cos[i][j] for i in range(n) for j in range(n) if i != j and y[i] == y[j] == c]) for c in range(3)])
    diff = mean([mean([cos[i][j] for i in range(n) for j in range(n) if y[i] == c and y[j] == d])
                 for c in range(3) for d in range(c + 1, 3)])
    assert s["sameConceptCos"] == pytest.approx(same, abs=1e-9)
    assert s["differentConceptCos"] == pytest.approx(diff, abs=1e-9)
    # Silhouette of each held-out row against the bank's rows (it is not one of them).
    sil = []
    for x, c in zip(hz, hy):
        dist = lambda d: mean([1 - float(x @ z[j]) for j in range(n) if y[j] == d])
        a, b = dist(c), min(dist(d) for d in range(3) if d != c)
        sil.append((b - a) / max(a, b))
    assert s["silhouette"] == pytest.approx(mean(sil), abs=1e-9)
    p = prototypes(train, labels[~held_out], 3)
    pred = [max(range(3), key=lambda c: float(x @ p[c])) for x in hz]
    assert s["heldOutAccuracy"] == sum(int(a == b) for a, b in zip(pred, hy)) / len(hy)
    best = sorted(max(float(x @ p[c]) for c in range(3)) for x in hz)
    assert s["heldOutMaxCosineP05"] == pytest.approx(best[0], abs=1e-12)  # fewer than 20 held-out rows: the smallest
    assert s["counts"] == [4, 3, 4]
    assert torch.allclose(torch.tensor(s["prototypeSimilarity"], dtype=torch.float64), p @ p.t(), atol=1e-9)


def test_nearest_rank_percentile():
    # the ceil(n * 5 / 100)-th smallest: exact integer arithmetic (0.05 * 60 is 3.0000000000000004 in floats)
    assert nearest_rank([3.0, 1.0, 2.0], 5) == 1.0
    assert nearest_rank([float(i) for i in range(20, 0, -1)], 5) == 1.0
    assert nearest_rank([float(i) for i in range(21)], 5) == 1.0
    assert nearest_rank([float(i) for i in range(60)], 5) == 2.0
    assert nearest_rank([float(i) for i in range(100)], 5) == 4.0


def test_seeded_split_matches_the_engine_generator():
    # Values of engine/src/calibration/seededSampling.ts (node: mulberry32(1)() ×3, seedFor(1, "privacy violation")).
    draw = mulberry32(1)
    assert [draw() for _ in range(3)] == pytest.approx([0.6270739405881613, 0.002735721180215478, 0.5274470399599522], abs=1e-15)
    assert seed_for(1, "privacy violation") == 1771343303
    labels = [0, 1] * 50
    mask = held_out_mask(labels, ["a", "b"], 0.2, 7).tolist()
    assert sum(m for m, y in zip(mask, labels) if y == 0) == 10 and sum(mask) == 20


def test_bank_layout_and_unknown_safety():
    reps, labels, held_out = _data()
    stack = torch.stack([reps, reps * 2 + 1])
    bank = build_bank("b", ["x", "y", "z"], None, stack[:, ~held_out], labels[~held_out], stack[:, held_out],
                      labels[held_out], "abc", {"dataset": "t", "rowsUsed": 15, "rowsSkipped": 0, "skipped": {}})
    assert bank["numLayers"] == 1 and bank["hiddenSize"] == 8 and len(bank["layers"]) == 2
    assert bank["safeConcepts"] is None
    assert [l["stats"]["counts"] for l in bank["layers"]] == [[4, 3, 4]] * 2  # held-out rows only measure the bank
    assert bank["formatVersion"] == 2 and all(isinstance(l["prototypes"], dict) for l in bank["layers"])  # packed
    norms = torch.stack([bank_prototypes(bank, l).norm(dim=1) for l in range(2)])
    assert norms.shape == (2, 3) and torch.allclose(norms, torch.ones(2, 3), atol=1e-5)


def test_calibrate_never_replaces_an_existing_bank(tmp_path):
    from types import SimpleNamespace
    from seer_trainer.calibrate_cli import run_calibrate
    bundle = tmp_path / "b"
    (bundle / "banks").mkdir(parents=True)
    (bundle / "seer.json").write_text('{"files": {}, "architecture": {}}')
    (bundle / "banks" / "mine.json").write_text("keep")
    a = SimpleNamespace(bundle=str(bundle), out=None, bank_name="mine")
    with pytest.raises(SeerInputError, match="already exists"):
        run_calibrate(a)
    assert (bundle / "banks" / "mine.json").read_text() == "keep"


def test_bank_registration_rewrites_only_the_banks_map():
    from seer_trainer.calibrate_cli import with_bank_entry
    text = ('{\n  "architecture": { "normEps": 1e-5, "ropeTheta": 10000.0 },\n  "banks": {\n    "default": "banks/default.json"\n'
            '  },\n  "logitScale": 10.0\n}\n')
    out = with_bank_entry(text, "mine", "banks/mine.json")
    assert out == text.replace('"banks/default.json"\n', '"banks/default.json",\n    "mine": "banks/mine.json"\n')
    assert with_bank_entry(out, "mine", "banks/mine.json") == out
    one_line = '{"a": 1.50, "banks": { "default": "banks/d.json" }, "z": [1e-5]}'
    assert with_bank_entry(one_line, "x", "banks/x.json") == \
        '{"a": 1.50, "banks": { "default": "banks/d.json", "x": "banks/x.json" }, "z": [1e-5]}'
    nested = '{\n  "training": { "banks": {} },\n  "eps": 1e-5\n}\n'
    assert with_bank_entry(nested, "x", "banks/x.json") == \
        '{\n  "training": { "banks": {} },\n  "eps": 1e-5,\n  "banks": {\n    "x": "banks/x.json"\n  }\n}\n'
