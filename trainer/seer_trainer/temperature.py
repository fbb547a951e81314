"""The read-out scale: the bundle's `logitScale` (concept probabilities = softmax(logitScale · cosine)), fitted
after the SEER stage by minimising the negative log-likelihood of held-out rows, and the expected calibration
error that says whether a headline probability means what it says. The SEER loss keeps its own scale
(config `seer.logit_scale`): a scale that trains well is not a scale whose probabilities are honest.

ECE and the reliability table follow engine/src/calibration/reliability.ts (`seer eval`): equal-width bins of
the headline probability, [b/B, (b+1)/B), a probability of exactly 1 in the last bin."""
import math

import torch
import torch.nn.functional as F

SCALE_RANGE = (1.0, 100.0)
RELIABILITY_BINS = 10
_GRID = 64  # log-spaced grid points that bracket the minimum before the golden-section refinement
_GOLDEN = (math.sqrt(5) - 1) / 2


def cosines(prototypes, reps) -> torch.Tensor:
    """[K, H] prototypes (unit rows, as in the bank), [N, H] representations -> [N, K] cosines (float64)."""
    return F.normalize(torch.as_tensor(reps, dtype=torch.float64), dim=-1) @ torch.as_tensor(prototypes, dtype=torch.float64).t()


def nll(cos: torch.Tensor, labels: torch.Tensor, scale: float) -> float:
    """Mean negative log-likelihood of the true concepts under softmax(scale · cosine)."""
    return F.cross_entropy(scale * cos.double(), labels).item()


def fit_scale(cos: torch.Tensor, labels: torch.Tensor, lo=SCALE_RANGE[0], hi=SCALE_RANGE[1], tol=1e-6) -> float:
    """The scale in [lo, hi] minimising nll: a log-spaced grid brackets the minimum, golden-section search refines it.
    NLL is convex in the scale (log-sum-exp of linear functions minus a linear one), so the bracket holds the
    global minimum. Deterministic: no randomness, fixed evaluation order."""
    grid = [lo * (hi / lo) ** (i / (_GRID - 1)) for i in range(_GRID)]
    losses = [nll(cos, labels, s) for s in grid]
    best = min(range(_GRID), key=losses.__getitem__)
    a, b = grid[max(0, best - 1)], grid[min(_GRID - 1, best + 1)]
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = nll(cos, labels, c), nll(cos, labels, d)
    while b - a > tol * max(1.0, a):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - _GOLDEN * (b - a)
            fc = nll(cos, labels, c)
        else:
            a, c, fc = c, d, fd
            d = a + _GOLDEN * (b - a)
            fd = nll(cos, labels, d)
    found = (a + b) / 2
    return found if nll(cos, labels, found) <= losses[best] else grid[best]


def reliability(confidence: torch.Tensor, correct: torch.Tensor, bins=RELIABILITY_BINS) -> list:
    """Every bin, empty ones included (count 0, NaN means): from, to, count, meanConfidence, accuracy."""
    index = (confidence.double() * bins).floor().clamp(0, bins - 1).long()
    rows = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        rows.append({"from": b / bins, "to": (b + 1) / bins, "count": n,
                     "meanConfidence": confidence[inside].double().mean().item() if n else float("nan"),
                     "accuracy": correct[inside].double().mean().item() if n else float("nan")})
    return rows


def expected_calibration_error(table: list) -> float:
    """Σ_b (n_b / N) · |accuracy_b − mean confidence_b| over a reliability table; NaN when it is empty."""
    total = sum(r["count"] for r in table)
    if not total:
        return float("nan")
    return sum(r["count"] / total * abs(r["accuracy"] - r["meanConfidence"]) for r in table if r["count"])


def at_scale(cos: torch.Tensor, labels: torch.Tensor, scale: float) -> dict:
    """How honest softmax(scale · cosine) is on these rows: NLL, ECE, reliability table, accuracy."""
    probs = torch.softmax(scale * cos.double(), dim=-1)
    confidence, predicted = probs.max(dim=-1)
    correct = predicted == labels
    table = reliability(confidence, correct)
    return {"scale": scale, "nll": nll(cos, labels, scale), "ece": expected_calibration_error(table),
            "accuracy": correct.double().mean().item(), "bins": table}


def calibrate_read_out(prototypes, reps, labels, training_scale: float) -> dict:
    """Fits the read-out scale on held-out rows ([N, H] at the target layer, labels [N]) against the bank's
    prototypes and measures it before (at the training scale) and after. The fitted scale is rounded to
    4 significant digits, the precision written to seer.json."""
    cos = cosines(prototypes, reps)
    labels = torch.as_tensor(labels, dtype=torch.long)
    fitted = float(f"{fit_scale(cos, labels):.4g}")
    return {"trainingScale": training_scale, "fittedScale": fitted, "rows": len(labels),
            "before": at_scale(cos, labels, training_scale), "after": at_scale(cos, labels, fitted)}


def manifest_summary(read_out: dict, layer: int) -> dict:
    """seer.json's training.logitScale: both scales and what the fit bought, for humans."""
    before, after = read_out["before"], read_out["after"]
    return {"training": read_out["trainingScale"], "fitted": read_out["fittedScale"],
            "fittedOn": f"{read_out['rows']} held-out generated prompts at layer {layer}: held-out NLL minimised "
                        f"over [{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}]",
            "heldOutNll": {"training": round(before["nll"], 4), "fitted": round(after["nll"], 4)},
            "heldOutEce": {"training": round(before["ece"], 4), "fitted": round(after["ece"], 4)}}
