import torch
import torch.nn.functional as F

from seer_trainer.calibrate import build_bank, layer_stats, prototypes


def _data():
    torch.manual_seed(3)
    centers = torch.randn(3, 8) * 2
    labels = torch.tensor([0] * 5 + [1] * 4 + [2] * 6)
    reps = centers[labels] + torch.randn(len(labels), 8)
    test_labels = torch.tensor([0, 1, 2, 2])
    test = centers[test_labels] + 0.3 * torch.randn(4, 8)
    return reps, labels, test, test_labels


def test_prototypes_are_renormalised_means_of_unit_vectors():
    reps, labels, _, _ = _data()
    p = prototypes(reps, labels, 3)
    for c in range(3):
        units = [r / r.norm() for r, y in zip(reps, labels) if y == c]
        mean = sum(units) / len(units)
        assert torch.allclose(p[c], mean / mean.norm(), atol=1e-6)


def test_layer_stats_against_loops():
    reps, labels, test, test_labels = _data()
    p = prototypes(reps, labels, 3)
    s = layer_stats(reps, labels, 3, p, test, test_labels)
    z = F.normalize(reps, dim=-1)
    n = len(labels)
    cos = [[float(z[i] @ z[j]) for j in range(n)] for i in range(n)]
    same = [cos[i][j] for i in range(n) for j in range(n) if i != j and labels[i] == labels[j]]
    diff = [cos[i][j] for i in range(n) for j in range(n) if labels[i] != labels[j]]
    assert abs(s["sameConceptCos"] - sum(same) / len(same)) < 1e-5
    assert abs(s["differentConceptCos"] - sum(diff) / len(diff)) < 1e-5
    assert abs(s["gap"] - (s["sameConceptCos"] - s["differentConceptCos"])) < 1e-9
    sil = []
    for i in range(n):
        d = lambda c: [1 - cos[i][j] for j in range(n) if labels[j] == c and j != i]
        a = sum(d(int(labels[i]))) / len(d(int(labels[i])))
        b = min(sum(d(c)) / len(d(c)) for c in range(3) if c != labels[i])
        sil.append((b - a) / max(a, b))
    assert abs(s["silhouette"] - sum(sil) / n) < 1e-4
    pred = [max(range(3), key=lambda c: float(F.normalize(t, dim=0) @ p[c])) for t in test]
    assert s["heldOutAccuracy"] == sum(int(a == b) for a, b in zip(pred, test_labels.tolist())) / 4
    assert s["counts"] == [5, 4, 6]
    assert torch.allclose(torch.tensor(s["prototypeSimilarity"]), p @ p.t(), atol=1e-6)


def test_bank_layout():
    reps, labels, test, test_labels = _data()
    stack = torch.stack([reps, reps * 2 + 1])
    bank = build_bank("b", ["x", "y", "z"], ["z"], stack, labels, torch.stack([test, test]), test_labels, "abc",
                      {"dataset": "t", "rowsUsed": 15, "rowsSkipped": 0, "skipped": {}})
    assert bank["numLayers"] == 1 and bank["hiddenSize"] == 8 and len(bank["layers"]) == 2
    assert [len(l["prototypes"]) for l in bank["layers"]] == [3, 3]
    assert all(abs(sum(x * x for x in p) - 1) < 1e-5 for l in bank["layers"] for p in l["prototypes"])
