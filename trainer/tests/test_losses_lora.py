import copy
import math

import torch
import torch.nn.functional as F

from conftest import REPO, TINY
from seer_trainer.config import load_config
from seer_trainer.lora import LoRALinear, apply_lora, merge_lora
from seer_trainer.losses import info_nce, kl_to_frozen, nt_xent, retain_l2, same_different_cosine


def test_info_nce_matches_hand_computation():
    torch.manual_seed(1)
    z1, z2 = torch.randn(4, 5), torch.randn(4, 5)
    cos = lambda a, b: sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
    a, b = z1.tolist(), z2.tolist()
    s = [[10 * cos(a[i], b[j]) for j in range(4)] for i in range(4)]
    rows = [-s[i][i] + math.log(sum(math.exp(s[i][j]) for j in range(4))) for i in range(4)]
    cols = [-s[j][j] + math.log(sum(math.exp(s[i][j]) for i in range(4))) for j in range(4)]
    expected = (sum(rows) / 4 + sum(cols) / 4) / 2
    assert abs(info_nce(z1, z2, 10.0).item() - expected) < 1e-5


def test_nt_xent_matches_the_simclr_formula_by_loops():
    # SimCLR: views v = [z1; z2], positive of i is its pair; denominator: every view but i itself; tau = 1 / 10.
    torch.manual_seed(4)
    z1, z2 = torch.randn(3, 5), torch.randn(3, 5)
    v = (torch.cat([z1, z2])).tolist()
    cos = lambda a, b: sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
    n, terms = 3, []
    for i in range(2 * n):
        pos = (i + n) % (2 * n)
        denom = sum(math.exp(10 * cos(v[i], v[k])) for k in range(2 * n) if k != i)
        terms.append(-math.log(math.exp(10 * cos(v[i], v[pos])) / denom))
    assert abs(nt_xent(z1, z2, 10.0).item() - sum(terms) / (2 * n)) < 1e-5
    # Unlike InfoNCE/CLIP, same-side views are negatives too: another number on the same pairs.
    assert abs(nt_xent(z1, z2, 10.0).item() - info_nce(z1, z2, 10.0).item()) > 1e-3


def test_info_nce_prefers_aligned_pairs():
    z = torch.eye(4)
    assert info_nce(z, z, 10.0) < info_nce(z, z.roll(1, 0), 10.0)


def test_info_nce_with_labels_drops_same_concept_negatives_by_hand():
    # Pairs 0 and 1 share a concept: each is left out of the other's denominator (rows and columns alike).
    torch.manual_seed(2)
    z1, z2 = torch.randn(4, 5), torch.randn(4, 5)
    labels = torch.tensor([7, 7, 3, 5])
    s = (10 * F.normalize(z1, dim=-1) @ F.normalize(z2, dim=-1).t()).tolist()
    keep = lambda i, j: i == j or labels[i] != labels[j]
    rows = [-s[i][i] + math.log(sum(math.exp(s[i][j]) for j in range(4) if keep(i, j))) for i in range(4)]
    cols = [-s[j][j] + math.log(sum(math.exp(s[i][j]) for i in range(4) if keep(i, j))) for j in range(4)]
    assert abs(info_nce(z1, z2, 10.0, labels).item() - (sum(rows) / 4 + sum(cols) / 4) / 2) < 1e-5
    # all concepts distinct: the paper's loss, unchanged
    assert abs(info_nce(z1, z2, 10.0, torch.arange(4)).item() - info_nce(z1, z2, 10.0).item()) < 1e-6


def test_retain_and_kl_are_zero_at_init_with_lora(tiny_model):
    frozen = copy.deepcopy(tiny_model)
    apply_lora(tiny_model, rank=4, alpha=8, dropout=0.0)
    ids = torch.randint(0, TINY.vocab_size, (2, 9))
    mask = torch.tensor([[1] * 9, [1] * 6 + [0] * 3])
    out, ref = tiny_model(ids, mask), frozen(ids, mask)
    assert retain_l2(out.hidden_states, ref.hidden_states, mask).item() == 0.0
    assert abs(kl_to_frozen(out.logits, ref.logits, mask).item()) < 1e-7
    shifted = tuple(h + 0.5 for h in out.hidden_states)
    # every real token of each layer 1..L moved by 0.5 in every hidden unit: 0.25 per unit
    assert abs(retain_l2(shifted, ref.hidden_states, mask).item() - 0.25) < 1e-6


def _states(width, layers=3, seed=0):
    torch.manual_seed(seed)
    return tuple(torch.randn(2, 5, width) for _ in range(layers))


def test_retain_does_not_grow_with_width():
    mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2])
    errors = [torch.randn(2, 5, 16) for _ in range(3)]
    ref, wide_ref = _states(16), _states(32)
    # the same per-unit errors, each unit's twice in the 2x wider model
    narrow = retain_l2(tuple(r + e for r, e in zip(ref, errors)), ref, mask)
    wide = retain_l2(tuple(r + torch.cat([e, e], -1) for r, e in zip(wide_ref, errors)), wide_ref, mask)
    assert narrow.item() > 0 and abs(wide.item() - narrow.item()) < 1e-6


def test_the_small_configs_retain_weight_is_the_summed_squared_distance():
    # trainer/configs/small.json (hidden 128, the 1.47M default until 2026-11-27) was trained with retain = squared
    # distance summed over hidden units, weight 1.0: retain_weight 128 x the mean per unit is that objective
    cfg = load_config(REPO / "trainer/configs/small.json")
    ref = _states(cfg.model.hidden_size)
    moved = tuple(h + 0.1 * torch.randn_like(h) for h in ref)
    mask = torch.tensor([[1] * 5, [1] * 2 + [0] * 3])
    m = mask.unsqueeze(-1).float()
    summed = torch.stack([(((h - f) ** 2) * m).sum() / m.sum() for h, f in zip(moved[1:], ref[1:])]).mean()
    assert torch.allclose(cfg.seer.retain_weight * retain_l2(moved, ref, mask), summed, rtol=1e-6)


def test_kl_matches_torch_kl_div_on_perturbed_logits():
    torch.manual_seed(3)
    frozen = torch.randn(2, 6, 11)
    trained = frozen + 0.7 * torch.randn_like(frozen)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    # KL(frozen || trained) per token: kl_div(input=log q_trained, target=log p_frozen, log_target=True)
    per_token = F.kl_div(trained.log_softmax(-1), frozen.log_softmax(-1), reduction="none", log_target=True).sum(-1)
    expected = per_token[mask.bool()].mean()
    kl = kl_to_frozen(trained, frozen, mask)
    assert kl.item() > 0.01
    assert abs(kl.item() - expected.item()) < 1e-6
    swapped = kl_to_frozen(frozen, trained, mask)  # KL(trained || frozen): another number
    assert abs(swapped.item() - kl.item()) > 1e-3


def test_same_different_cosine_by_loops():
    torch.manual_seed(2)
    z, y = torch.randn(6, 4), torch.tensor([0, 0, 1, 1, 1, 2])
    zn = torch.nn.functional.normalize(z, dim=-1)
    same = [float(zn[i] @ zn[j]) for i in range(6) for j in range(6) if i != j and y[i] == y[j]]
    diff = [float(zn[i] @ zn[j]) for i in range(6) for j in range(6) if y[i] != y[j]]
    s, d = same_different_cosine(z, y)
    assert abs(s - sum(same) / len(same)) < 1e-6 and abs(d - sum(diff) / len(diff)) < 1e-6


def test_lora_merged_equals_unmerged(tiny_model):
    apply_lora(tiny_model, rank=4, alpha=8, dropout=0.1)
    for m in tiny_model.modules():
        if isinstance(m, LoRALinear):
            torch.nn.init.normal_(m.lora_B, std=0.05)  # non-zero adapters, as after training
    tiny_model.eval()
    ids = torch.randint(0, TINY.vocab_size, (2, 8))
    before = tiny_model(ids)
    merge_lora(tiny_model)
    assert not any(isinstance(m, LoRALinear) for m in tiny_model.modules())
    after = tiny_model(ids)
    assert torch.allclose(before.logits, after.logits, atol=1e-5)
    for a, b in zip(before.hidden_states, after.hidden_states):
        assert torch.allclose(a, b, atol=1e-5)


def test_lora_trains_only_adapters(tiny_model):
    params = apply_lora(tiny_model, rank=2, alpha=4, dropout=0.0)
    trainable = [p for p in tiny_model.parameters() if p.requires_grad]
    assert len(trainable) == len(params) == 2 * 7 * TINY.num_layers


def test_pair_sampler_draws_distinct_prompts_per_concept_and_labels_them():
    import random
    from collections import Counter
    from seer_trainer.tokenizer import ByteLevelBPE, train_bpe
    from seer_trainer.train import PairSampler
    from seer_trainer.concepts import Example
    rows = [Example(c, f"{c} prompt number {i}", "") for c in ("a", "b", "c") for i in range(6)]
    tok = ByteLevelBPE(*train_bpe([r.prompt for r in rows], 300))
    sampler = PairSampler(tok, rows, ["a", "b", "c"], "User: {prompt}\nAssistant:", True, 64)
    (ids, mask), n, labels = sampler.sample(6, random.Random(0), per_concept=3)
    assert n == 6 and ids.shape[0] == 12
    assert sorted(Counter(labels.tolist()).values()) == [3, 3]  # two concepts, three pairs each
    texts = [tok.decode([t for t, m in zip(row, mk) if m]) for row, mk in zip(ids.tolist(), mask.tolist())]
    for k in range(n):  # both views of a pair come from the pair's concept...
        concept = "abc"[labels[k]]
        assert f"{concept} prompt" in texts[k] and f"{concept} prompt" in texts[n + k]
    assert len(set(texts)) == 12  # ...and no prompt is drawn twice in a batch
    # one pair per concept (the paper's setting): every pair a different concept
    _, n1, labels1 = sampler.sample(3, random.Random(0))
    assert n1 == 3 and sorted(labels1.tolist()) == [0, 1, 2]
