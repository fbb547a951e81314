"""An interrupted stage resumes from its last checkpoint and ends exactly where an uninterrupted run ends."""
import pytest
import torch

from conftest import TINY
from seer_trainer.checkpoint import StageCheckpoint
from seer_trainer.config import PretrainConfig
from seer_trainer.model import SeerLlama
from seer_trainer.train import pretrain

CFG = PretrainConfig(steps=6, batch_size=2, seq_len=16, lr=1e-3, warmup=2)


def fresh():
    torch.manual_seed(0)
    return SeerLlama(TINY)


def test_resume_matches_uninterrupted(tmp_path):
    stream = torch.randint(3, TINY.vocab_size, (500,))
    full = fresh()
    pretrain(full, stream, CFG, 7, StageCheckpoint(tmp_path / "a", "pretrain", "x"), every=2, log=lambda *_: None)

    ckpt = StageCheckpoint(tmp_path / "b", "pretrain", "x")
    real_save, saves = ckpt.save, []

    def save_then_crash(state):
        real_save(state)
        saves.append(state["step"])
        if state["step"] == 4:
            raise KeyboardInterrupt

    ckpt.save = save_then_crash
    with pytest.raises(KeyboardInterrupt):
        pretrain(fresh(), stream, CFG, 7, ckpt, every=2, log=lambda *_: None)
    ckpt.save = real_save
    logs = []
    resumed = fresh()
    pretrain(resumed, stream, CFG, 7, ckpt, every=2, log=logs.append)
    assert saves == [2, 4] and any("resumed at step 4" in l for l in logs)
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
