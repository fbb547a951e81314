"""Shared tiny fixtures: a 2-layer model and a tokenizer trained on a few hundred generated lines,
so the whole suite runs in minutes on 2 CPU cores."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seer_trainer import concepts  # noqa: E402
from seer_trainer.config import ModelConfig  # noqa: E402
from seer_trainer.model import SeerLlama  # noqa: E402
from seer_trainer.tokenizer import ByteLevelBPE, train_bpe  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TINY = ModelConfig(vocab_size=400, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_context=128)

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def default_golden():
    """The committed default bundle's PyTorch reference (golden.py), computed once for the session."""
    from seer_trainer.golden import golden_of_bundle
    return golden_of_bundle(REPO / "models/default")


@pytest.fixture(scope="session")
def corpus():
    train, _ = concepts.generate(0)
    return [e.prompt for e in train[::40]] + [e.response for e in train[::97]]


@pytest.fixture(scope="session")
def tok(corpus):
    return ByteLevelBPE(*train_bpe(corpus, TINY.vocab_size))


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return SeerLlama(TINY).eval()
