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


def test_upto_layer_stops_early_with_the_same_states(tiny_model):
    ids = torch.randint(0, TINY.vocab_size, (2, 6))
    full = tiny_model(ids, torch.ones_like(ids))
    early = tiny_model(ids, torch.ones_like(ids), upto_layer=1)
    assert early.logits is None and len(early.hidden_states) == 2
    assert all(torch.equal(a, b) for a, b in zip(early.hidden_states, full.hidden_states[:2]))


def test_seer_objective_is_unchanged_by_stopping_the_pair_batch_at_the_target_layer(monkeypatch):
    """seer_losses runs the contrastive batch up to the target layer only (a third faster on the default model):
    the loss and every gradient must be bit-identical to the full forward's, so models build as before."""
    import copy
    from seer_trainer.config import SeerConfig
    from seer_trainer.model import SeerLlama
    from seer_trainer.train import seer_losses
    torch.manual_seed(1)
    model = SeerLlama(TINY)
    with torch.no_grad():  # away from the frozen copy, so retain and KL have gradients too
        frozen = copy.deepcopy(model).eval()
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    ids = torch.randint(0, TINY.vocab_size, (8, 9))
    mask = torch.ones_like(ids)
    mask[::2, 6:] = 0
    general = (torch.randint(0, TINY.vocab_size, (2, 12)), torch.ones(2, 12, dtype=torch.long))
    batch = ((ids, mask), 4, torch.tensor([0, 1, 2, 3]))

    def objective():
        model.zero_grad(set_to_none=True)
        loss = seer_losses(model, frozen, batch, general, SeerConfig(), [1])[0]
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}

    truncated = objective()
    full_forward = SeerLlama.forward
    monkeypatch.setattr(SeerLlama, "forward", lambda self, i, m=None, upto_layer=None: full_forward(self, i, m))
    full = objective()
    assert torch.equal(truncated[0], full[0])
    assert truncated[1].keys() == full[1].keys() and all(torch.equal(truncated[1][n], full[1][n]) for n in full[1])
    # the layer above the target got gradients only from the general batch, and still the same ones
    assert full[1]["layers.1.mlp.down_proj.weight"].abs().sum() > 0


def test_seer_objective_reads_the_configured_pooling():
    """seer.pooling "mean": the InfoNCE term is that of the mean-pooled states (what the bundle is then read at)."""
    from seer_trainer.config import SeerConfig
    from seer_trainer.losses import info_nce
    from seer_trainer.model import SeerLlama, pool
    from seer_trainer.train import seer_losses
    torch.manual_seed(1)
    model = SeerLlama(TINY).eval()
    ids = torch.randint(0, TINY.vocab_size, (8, 9))
    mask = torch.ones_like(ids)
    mask[::2, 6:] = 0
    labels = torch.tensor([0, 1, 2, 3])
    general = (torch.randint(0, TINY.vocab_size, (2, 12)), torch.ones(2, 12, dtype=torch.long))
    with torch.no_grad():
        hs = model(ids, mask).hidden_states[1]
        got = {how: seer_losses(model, model, ((ids, mask), 4, labels), general, SeerConfig(pooling=how), [1])[1]
               for how in ("last", "mean")}
        for how in ("last", "mean"):
            pooled = pool(hs, mask, how)
            assert torch.allclose(got[how], info_nce(pooled[:4], pooled[4:], 10.0, labels), atol=1e-6)
    assert not torch.allclose(got["last"], got["mean"])


def test_retain_windows_take_their_dialogue_share(tmp_path, monkeypatch):
    """seer.retain_dialogue_share 0.5 of 4 windows: 2 come from the dialogue stream, 2 from general text; at 0 all
    4 are general text, the very windows drawn before the setting existed."""
    import random
    from seer_trainer import train
    from seer_trainer.batching import stream_windows
    from seer_trainer.checkpoint import StageCheckpoint
    from seer_trainer.config import SeerConfig
    from seer_trainer.model import SeerLlama
    general_stream, dialogue_stream = torch.full((500,), 5), torch.arange(1000, 1500) % TINY.vocab_size
    seen = []
    real = train.seer_losses

    def spy(model, frozen, pairs, general, cfg, layers):
        seen.append(general[0].clone())
        return real(model, frozen, pairs, general, cfg, layers)
    monkeypatch.setattr(train, "seer_losses", spy)
    torch.manual_seed(1)
    ids = [torch.randint(3, TINY.vocab_size, (6,)).tolist() for _ in range(8)]
    pairs = train.PairSampler.from_encoded({"a": ids[:4], "b": ids[4:]}, 0)
    for share, dialogue_rows in ((0.5, 2), (0.0, 0)):
        seen.clear()
        cfg = SeerConfig(steps=1, pairs_per_batch=2, general_batch_size=4, general_seq_len=8, lora=False,
                         retain_dialogue_share=share, log_every=10)
        train.seer_finetune(SeerLlama(TINY), pairs, general_stream, cfg, [1], 7,
                            StageCheckpoint(tmp_path / str(share), "seer", "fp"), 100,
                            dialogue_stream=dialogue_stream if share else None)
        (batch,) = seen
        from_dialogue = [bool((row != 5).all()) for row in batch]
        assert from_dialogue == [False] * (4 - dialogue_rows) + [True] * dialogue_rows
        if share == 0:  # the same draws as a build without the setting: the step's rng, general windows first
            rng = train.reseed(8, 0)
            pairs.sample(cfg.pairs_per_batch, rng, cfg.pairs_per_concept)
            assert torch.equal(batch, stream_windows(general_stream, 4, 8, rng)[0])


def test_without_retain_dialogue_l2_only_kl_holds_the_dialogue_windows():
    """retain_dialogue_l2 False: the l2 term is that of the general windows alone (the first rows), KL that of all."""
    from seer_trainer.config import SeerConfig
    from seer_trainer.losses import kl_to_frozen, retain_l2
    from seer_trainer.model import SeerLlama
    from seer_trainer.train import seer_losses
    torch.manual_seed(2)
    model, frozen = SeerLlama(TINY).eval(), SeerLlama(TINY).eval()
    ids = torch.randint(3, TINY.vocab_size, (4, 7))
    pairs = ((ids, torch.ones_like(ids)), 2, torch.tensor([0, 1]))
    gids = torch.randint(3, TINY.vocab_size, (4, 10))
    general = (gids, torch.ones_like(gids))
    with torch.no_grad():
        out, ref = model(*general), frozen(*general)
        for l2, rows in ((True, 4), (False, 2)):
            cfg = SeerConfig(general_batch_size=4, retain_dialogue_share=0.5, retain_dialogue_l2=l2)
            _, _, retain, kl = seer_losses(model, frozen, pairs, general, cfg, [1])
            want = retain_l2([h[:rows] for h in out.hidden_states], [h[:rows] for h in ref.hidden_states], general[1][:rows])
            assert torch.allclose(retain, want, atol=1e-6)
            assert torch.allclose(kl, kl_to_frozen(out.logits, ref.logits, general[1]), atol=1e-6)
    assert not torch.allclose(retain_l2(out.hidden_states, ref.hidden_states, general[1]), want)
