"""The read-out scale fit and the calibration error (seer_trainer.temperature) on synthetic cosines with a known truth."""
import math

import pytest
import torch

from seer_trainer.temperature import (at_scale, calibrate_read_out, expected_calibration_error, fit_scale, nll,
                                      reliability)


def sampled_rows(true_scale, n=6000, k=10, seed=0):
    """Cosines uniform in [-1, 1], labels drawn from softmax(true_scale · cosine): true_scale is the right answer."""
    g = torch.Generator().manual_seed(seed)
    cos = torch.rand(n, k, generator=g, dtype=torch.float64) * 2 - 1
    labels = torch.multinomial(torch.softmax(true_scale * cos, -1), 1, generator=g).squeeze(1)
    return cos, labels


@pytest.mark.parametrize("true_scale", [3.0, 10.0, 25.0, 60.0])
def test_fit_recovers_the_generating_scale_within_10_percent(true_scale):
    cos, labels = sampled_rows(true_scale, seed=int(true_scale))
    fitted = fit_scale(cos, labels)
    assert abs(fitted - true_scale) / true_scale < 0.10, fitted


@pytest.mark.parametrize("true_scale", [2.0, 10.0, 40.0, 95.0])
def test_the_fitted_scale_never_has_a_higher_nll_than_10(true_scale):
    cos, labels = sampled_rows(true_scale, n=1500, seed=7)
    assert nll(cos, labels, fit_scale(cos, labels)) <= nll(cos, labels, 10.0)


def test_fit_is_deterministic_and_stays_in_range():
    cos, labels = sampled_rows(30.0, n=800, seed=3)
    assert fit_scale(cos, labels) == fit_scale(cos, labels)
    # Labels that contradict the cosines: the best scale is as small as allowed, never below it.
    assert fit_scale(cos, cos.argmin(1)) == pytest.approx(1.0, rel=1e-3)
    # Labels that always agree: the larger the better, up to the upper end.
    assert fit_scale(cos, cos.argmax(1)) == pytest.approx(100.0, rel=1e-3)


def test_ece_of_a_perfectly_calibrated_set_is_about_zero():
    g = torch.Generator().manual_seed(11)
    confidence = 0.1 + 0.9 * torch.rand(200_000, generator=g, dtype=torch.float64)
    correct = torch.rand(200_000, generator=g, dtype=torch.float64) < confidence
    assert expected_calibration_error(reliability(confidence, correct)) < 0.01


def test_ece_of_an_overconfident_set_is_the_gap():
    confidence = torch.full((1000,), 0.99, dtype=torch.float64)
    correct = torch.arange(1000) % 2 == 0  # right half the time
    table = reliability(confidence, correct)
    assert [r["count"] for r in table] == [0] * 9 + [1000]
    assert math.isnan(table[0]["accuracy"])
    assert expected_calibration_error(table) == pytest.approx(0.49)


def test_bins_are_half_open_with_1_in_the_last():
    table = reliability(torch.tensor([0.0, 0.1, 0.35, 1.0], dtype=torch.float64), torch.tensor([True, False, True, True]))
    assert [r["count"] for r in table] == [1, 1, 0, 1, 0, 0, 0, 0, 0, 1]


def test_fitting_an_overconfident_read_out_lowers_its_ece():
    # Prototypes = the axes, so a unit row's cosines are its coordinates; labels drawn at scale 4, read at 10.
    cos, labels = sampled_rows(4.0, n=4000, seed=5)
    reps = cos / cos.norm(dim=-1, keepdim=True)
    out = calibrate_read_out(torch.eye(10, dtype=torch.float64), reps, labels, training_scale=10.0)
    assert out["trainingScale"] == 10.0 and out["rows"] == 4000
    assert out["before"]["nll"] == pytest.approx(nll(reps, labels, 10.0))
    assert out["fittedScale"] == float(f"{out['fittedScale']:.4g}")
    assert out["after"]["nll"] == pytest.approx(at_scale(reps, labels, out["fittedScale"])["nll"])
    assert out["after"]["nll"] < out["before"]["nll"]
    assert out["after"]["ece"] < out["before"]["ece"]
