import torch

from conftest import TINY
from seer_trainer.model import pool


def test_shapes(tiny_model):
    ids = torch.randint(0, TINY.vocab_size, (3, 7))
    out = tiny_model(ids, torch.ones_like(ids))
    assert out.logits.shape == (3, 7, TINY.vocab_size)
    assert len(out.hidden_states) == TINY.num_layers + 1
    assert all(h.shape == (3, 7, TINY.hidden_size) for h in out.hidden_states)
    # hidden_states[0] is the raw token embedding
    assert torch.equal(out.hidden_states[0], tiny_model.embed_tokens(ids))


def test_causal(tiny_model):
    ids = torch.randint(0, TINY.vocab_size, (1, 10))
    changed = ids.clone()
    changed[0, 6:] = (changed[0, 6:] + 1) % TINY.vocab_size
    a = tiny_model(ids).hidden_states
    b = tiny_model(changed).hidden_states
    for ha, hb in zip(a, b):
        assert torch.allclose(ha[:, :6], hb[:, :6], atol=1e-6)
        assert not torch.allclose(ha[:, 6:], hb[:, 6:])


def test_right_padding_does_not_change_real_tokens(tiny_model):
    short = torch.randint(3, TINY.vocab_size, (1, 5))
    alone = tiny_model(short).hidden_states
    padded = torch.cat([short, torch.zeros(1, 4, dtype=torch.long)], 1)
    mask = torch.tensor([[1] * 5 + [0] * 4])
    batched = tiny_model(padded, mask).hidden_states
    for ha, hb in zip(alone, batched):
        assert torch.allclose(ha, hb[:, :5], atol=1e-5)
    assert torch.allclose(pool(batched[-1], mask), alone[-1][:, -1], atol=1e-5)


def test_mean_pool_ignores_pads():
    h = torch.arange(12, dtype=torch.float32).view(1, 4, 3)
    mask = torch.tensor([[1, 1, 0, 0]])
    assert torch.allclose(pool(h, mask, "mean"), h[0, :2].mean(0, keepdim=True))
