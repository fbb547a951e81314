"""REPORT.md: the SEER model next to its baseline twin, from numbers computed by the build."""
import math

import torch

from .batching import encode_prompt, pad_batch
from .losses import lm_loss
from .temperature import SCALE_RANGE


@torch.no_grad()
def perplexity(model, stream: torch.Tensor, seq_len: int = 64, max_windows: int = 400) -> float:
    """exp(mean next-token loss) over consecutive non-overlapping windows of held-out text."""
    n = min(max_windows, len(stream) // seq_len)
    windows = stream[: n * seq_len].view(n, seq_len)
    total = 0.0
    for i in range(0, n, 32):
        ids = windows[i:i + 32]
        mask = torch.ones_like(ids)
        total += lm_loss(model(ids, mask).logits, ids, mask).item() * len(ids)
    return math.exp(total / n)


@torch.no_grad()
def response_perplexity(model, tok, examples, template: str, add_bos: bool, max_tokens: int, batch_size: int = 32) -> float:
    """exp(mean next-token loss) on the reference responses of held-out concept prompts, each after its templated
    prompt, as the LM stage's dialogues read: the dialogue ability the general-text perplexity does not see (the
    SEER term moves the prompt's states the response reads; the retain and KL terms hold glosses, and dialogues only
    with seer.retain_dialogue_share)."""
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        seqs, starts = [], []
        for e in examples[i:i + batch_size]:
            prompt = encode_prompt(tok, e.prompt, template, add_bos, max_tokens)[0]
            seqs.append((prompt + tok.encode(f" {e.response}"))[:model.config.max_context])  # a long response's tail is cut
            starts.append(len(prompt))
        ids, mask = pad_batch(seqs, tok.pad_id)
        scored = mask.clone()
        for row, start in enumerate(starts):
            scored[row, :start] = 0  # a response token is scored from the position before it: the prompt's are not
        logp = torch.log_softmax(model(ids, mask).logits[:, :-1].float(), -1)
        nll = -logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        keep = scored[:, 1:].bool()
        total += nll[keep].sum().item()
        count += int(keep.sum())
    return math.exp(total / count)


def _row(l, s, b, targets):
    mark = " **(target)**" if l in targets else ""
    return (f"| {l}{mark} | {s['sameConceptCos']:.3f} | {s['differentConceptCos']:.3f} | {s['gap']:.3f} | "
            f"{s['heldOutAccuracy']:.3f} | {b['sameConceptCos']:.3f} | {b['differentConceptCos']:.3f} | "
            f"{b['gap']:.3f} | {b['heldOutAccuracy']:.3f} |")


def render(seer_bank, base_bank, ppl_seer, ppl_base, targets, info: dict, read_outs=None, read_layer=None,
           response_ppl=None) -> str:
    """read_outs: {"seer", "baseline"} -> temperature.calibrate_read_out at read_layer (the calibration section);
    response_ppl: {"seer", "baseline"} -> response_perplexity on the held-out test prompts."""
    lines = [
        "# SEER default model vs its baseline twin",
        "",
        "Written by `npm run build:model` (`python -m seer_trainer build-default`); every number below is",
        "computed by that command. Do not edit by hand.",
        "",
        f"- Model: seer-llama, {info['arch']}",
        f"- Baseline twin: the same pretrained checkpoint ({info['pretrain_steps']} LM steps), without the SEER stage.",
        f"- SEER stage: {info['seer']}",
        f"- Calibration (prototypes, same/different cosine): {info['calibration']}",
        f"- Held-out accuracy: nearest prototype on {info['test']}",
        f"- Perplexity: held-out general text ({info['ppl_text']}: the first {info['ppl_tokens']} tokens, windows of 64)"
        + ("; and of the reference responses to the held-out test prompts, each after its templated prompt (the dialogue "
           "form the LM stage read; where the retain and KL terms run: the SEER stage above)" if response_ppl else ""),
        f"- Build: seed {info['seed']}, threads={info['threads']}, {info['seconds']:.0f} s wall clock",
        "",
        "## Headline (target layer" + ("s" if len(targets) > 1 else "") + f" {', '.join(map(str, targets))})",
        "",
        "| metric | SEER | baseline |",
        "|---|---|---|",
    ]
    for l in targets:
        s, b = seer_bank["layers"][l]["stats"], base_bank["layers"][l]["stats"]
        lines += [
            f"| same-concept cosine (layer {l}) | {s['sameConceptCos']:.3f} | {b['sameConceptCos']:.3f} |",
            f"| different-concept cosine (layer {l}) | {s['differentConceptCos']:.3f} | {b['differentConceptCos']:.3f} |",
            f"| gap (layer {l}) | **{s['gap']:.3f}** | {b['gap']:.3f} |",
            f"| held-out nearest-prototype accuracy (layer {l}) | **{s['heldOutAccuracy']:.3f}** | {b['heldOutAccuracy']:.3f} |",
        ]
    lines += [
        f"| perplexity, held-out general text | {ppl_seer:.3f} ({100 * (ppl_seer / ppl_base - 1):+.2f}%) | {ppl_base:.3f} |",
        *([f"| perplexity, responses to the held-out test prompts | {response_ppl['seer']:.3f} "
           f"({100 * (response_ppl['seer'] / response_ppl['baseline'] - 1):+.1f}%) | {response_ppl['baseline']:.3f} |"]
          if response_ppl else []),
        "",
        "## Every layer",
        "",
        "| layer | SEER same | SEER diff | SEER gap | SEER acc | base same | base diff | base gap | base acc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ls, lb in zip(seer_bank["layers"], base_bank["layers"]):
        lines.append(_row(ls["layer"], ls["stats"], lb["stats"], targets))
    if read_outs:
        lines += _calibration(read_outs, read_layer)
    lines += ["", "## Reproduction", "", info["reproduction"], ""]
    return "\n".join(lines)


def _cell(x, fmt="{:.3f}"):
    return "–" if x != x else fmt.format(x)


def _calibration(read_outs, layer) -> list:
    s, b = read_outs["seer"], read_outs["baseline"]
    lo, hi = SCALE_RANGE
    lines = [
        "",
        f"## Calibration of the headline probability (layer {layer})",
        "",
        f"softmax(logitScale · cosine) on the {s['rows']} held-out prompts: at the SEER training scale {s['trainingScale']:g},",
        f"and at the read-out scale fitted on those prompts (held-out NLL minimised over [{lo:g}, {hi:g}]; one parameter,",
        "so measuring on the rows it was fitted on flatters it very little). The fitted scale is each bundle's",
        "`logitScale`. ECE: 10 equal-width confidence bins, as `seer eval` computes it."
        + "".join(f" The {name} fit sits at an end of the search range: the best scale may lie beyond it."
                  for name, r in (("SEER", s), ("baseline", b)) if r["fittedScale"] in (lo, hi)),
        "",
        "| metric | SEER | baseline |",
        "|---|---|---|",
        f"| logit scale: training → fitted | {s['trainingScale']:g} → **{s['fittedScale']:g}** | {b['trainingScale']:g} → **{b['fittedScale']:g}** |",
        f"| held-out NLL: training → fitted scale | {s['before']['nll']:.3f} → {s['after']['nll']:.3f} | {b['before']['nll']:.3f} → {b['after']['nll']:.3f} |",
        f"| ECE: training → fitted scale | {s['before']['ece']:.3f} → **{s['after']['ece']:.3f}** | {b['before']['ece']:.3f} → **{b['after']['ece']:.3f}** |",
        f"| held-out accuracy (either scale) | {s['after']['accuracy']:.3f} | {b['after']['accuracy']:.3f} |",
    ]
    for name, r in (("SEER", s), ("baseline", b)):
        lines += [
            "",
            f"Reliability, {name} (rows, mean confidence, accuracy per bin of the headline probability):",
            "",
            f"| confidence | rows at {r['trainingScale']:g} | confidence | accuracy | rows at {r['fittedScale']:g} | confidence | accuracy |",
            "|---|---|---|---|---|---|---|",
        ]
        for x, y in zip(r["before"]["bins"], r["after"]["bins"]):
            lines.append(f"| {x['from']:.1f}–{x['to']:.1f} | {x['count']} | {_cell(x['meanConfidence'])} | {_cell(x['accuracy'])} | "
                         f"{y['count']} | {_cell(y['meanConfidence'])} | {_cell(y['accuracy'])} |")
    return lines
