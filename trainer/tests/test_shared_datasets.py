"""Real labelled files from ../shared/datasets through the dataset loader (skipped when absent)."""
import pytest

from conftest import REPO
from seer_trainer.datasets import load_labelled

SHARED = REPO.parent / "shared/datasets"


@pytest.mark.skipif(not (SHARED / "math/math-7concepts.csv").exists(), reason="../shared/datasets not present")
def test_math_csv_with_multiline_quoted_fields():
    rows, skipped = load_labelled(SHARED / "math/math-7concepts.csv", "prompt", "type", use="both")
    assert len(rows) == 2800 and skipped == {}
    assert len({r.concept for r in rows}) == 7
    assert any("\n" in r.text for r in rows)  # responses span lines inside quotes
    held = sum(r.test for r in rows) / len(rows)
    assert 0.15 < held < 0.25  # the hashed 20% split


@pytest.mark.skipif(not (SHARED / "xstest/xstest-v2-prompts.csv").exists(), reason="../shared/datasets not present")
def test_xstest_prompts_by_type():
    rows, _ = load_labelled(SHARED / "xstest/xstest-v2-prompts.csv", "prompt", "type")
    assert len({r.concept for r in rows}) >= 5 and all(r.text for r in rows)
