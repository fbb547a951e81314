"""The SEER objective's terms (issue 2 section 4). They take hidden states / logits, so they run on
our model and on a Hugging Face causal LM alike."""
import torch
import torch.nn.functional as F


def info_nce(z1: torch.Tensor, z2: torch.Tensor, logit_scale: float, labels: torch.Tensor = None) -> torch.Tensor:
    """CLIP loss over (view1, view2) pairs: row i of z1 should match row i of z2 and no other row.
    labels (the pairs' concepts), when given: several pairs of one concept may share a batch, and a pair's
    same-concept rows are left out of its negatives (masked), so the loss never pushes a concept apart."""
    z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    logits = logit_scale * z1 @ z2.t()
    if labels is not None:
        same = labels.view(-1, 1) == labels.view(1, -1)
        logits = logits.masked_fill(same & ~torch.eye(len(labels), dtype=torch.bool, device=z1.device), float("-inf"))
    labels = torch.arange(z1.shape[0], device=z1.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, logit_scale: float) -> torch.Tensor:
    """SimCLR's NT-Xent over the 2N views: each view's positive is its pair, its negatives are the other
    2N - 2 views (both sides, so same-side views repel too, unlike info_nce). Temperature = 1 / logit_scale."""
    z = F.normalize(torch.cat([z1, z2]), dim=-1)
    n = z1.shape[0]
    logits = (logit_scale * z @ z.t()).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, positives)


CONTRASTIVE_LOSSES = {"info-nce": info_nce, "nt-xent": nt_xent}


def retain_l2(hidden, frozen_hidden, attention_mask) -> torch.Tensor:
    """Squared distance to the frozen model's states, averaged over hidden units, real tokens and
    layers 1..L: a mean, not a sum, over units, so a wider model does not weigh it more against InfoNCE."""
    m = attention_mask.to(hidden[0].dtype)
    per_layer = [((h - f) ** 2).mean(-1) for h, f in zip(hidden[1:], frozen_hidden[1:])]
    return torch.stack([(d * m).sum() / m.sum() for d in per_layer]).mean()


def kl_to_frozen(logits, frozen_logits, attention_mask) -> torch.Tensor:
    """KL(frozen || trained) of next-token distributions, averaged over real tokens."""
    logp = logits.log_softmax(-1)
    logq = frozen_logits.log_softmax(-1)
    kl = (logq.exp() * (logq - logp)).sum(-1)
    m = attention_mask.to(kl.dtype)
    return (kl * m).sum() / m.sum()


def lm_loss(logits, input_ids, attention_mask) -> torch.Tensor:
    """Next-token cross-entropy on real tokens."""
    target = input_ids[:, 1:].masked_fill(attention_mask[:, 1:] == 0, -100)
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


@torch.no_grad()
def same_different_cosine(z: torch.Tensor, labels: torch.Tensor):
    """The paper's metric: mean cosine over same-concept pairs (i != j) and over different-concept pairs."""
    z = F.normalize(z.float(), dim=-1)
    sim = z @ z.t()
    same = labels.view(-1, 1) == labels.view(1, -1)
    off_diag = ~torch.eye(len(labels), dtype=torch.bool, device=z.device)
    s, d = sim[same & off_diag], sim[~same]
    return (s.mean().item() if s.numel() else float("nan")), (d.mean().item() if d.numel() else float("nan"))
