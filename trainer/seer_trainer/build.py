"""`build-default`: the whole pipeline behind `npm run build:model`: data, tokenizer, LM pretraining,
baseline twin, SEER stage, export of both bundles (format 2, through export.write_seer_llama_graph),
calibration and REPORT.md."""
import copy
import json
import random
import shutil
import time
from pathlib import Path

import torch

from . import concepts as concept_data
from .batching import apply_template, encode_prompt, pad_batch, token_stream
from .calibrate import representations, build_bank
from .checkpoint import StageCheckpoint, fingerprint
from .config import config_dict, load_config
from .export import golden, manifest, save_weights, write_manifest, write_seer_llama_graph
from .general_text import read_wordnet, split_heldout
from .io_utils import write_json_atomic, write_text_atomic
from .model import SeerLlama
from .report import perplexity, render
from .temperature import calibrate_read_out, manifest_summary
from .tokenization_cases import tokenization_cases
from .tokenizer import ByteLevelBPE, train_bpe
from .train import PairSampler, pretrain, seer_finetune

REPRODUCTION = (
    "Deterministic by construction: fixed seed, torch.use_deterministic_algorithms, per-step reseeding "
    "(a resumed run ends where an uninterrupted one does), a fixed thread count (config `threads`, "
    "OPENBLAS_NUM_THREADS=1). Measured on the build machine (Debian torch 1.13 CPU + OpenBLAS): "
    "repeated from-scratch builds of this config give a byte-identical model.onnx (same modelSha256) "
    "and identical numbers; two fresh builds of the tiny config are compared byte for byte by "
    "trainer/tests/test_build_tiny.py. Not measured: other CPUs, BLAS libraries or torch versions; "
    "there float summation order differs, so expect the weights and these numbers to drift at float "
    "precision and compound over training (the same SEER-over-baseline effect, not the same digits).")


def setup_determinism(cfg):
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    torch.use_deterministic_algorithms(True)


def held_out_probe(test, cfg):
    """Prompts for the same/different cosine logged during the SEER stage: a fixed, seeded sample of the
    held-out test split (phrasings and tasks never trained on), so the log shows generalisation."""
    return concept_data.per_concept_sample(test, cfg.probe_per_concept, cfg.seed + 3)


def write_bundle(folder: Path, name, description, model, tok, cfg, bank, gold_texts, training, report_text, logit_scale):
    """Writes the bundle into a sibling temp folder, then swaps it in, so a crash never leaves half a bundle."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    graph = write_seer_llama_graph(model, tmp, log=lambda *_: None)
    save_weights(model, tmp / "model.pt")
    tok.save(tmp / "tokenizer.json")
    p = cfg.prompt
    write_json_atomic(tmp / "golden.json", golden(model, tok, p.template, p.add_bos, gold_texts, cfg.model.max_context))
    bank = {**bank, "modelSha256": graph.model_sha256}
    write_json_atomic(tmp / "banks" / "default.json", bank)
    write_manifest(tmp, manifest(name, description, cfg.model, cfg.target_layers, p.template, p.add_bos,
                                 logit_scale, concept_data.CONCEPTS, concept_data.SAFE, graph, training))
    if report_text is not None:
        write_text_atomic(tmp / "REPORT.md", report_text)
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return bank


def build_default(config_path, out_dir, baseline_dir, ckpt_dir, log=print):
    t0 = time.time()
    cfg = load_config(config_path)
    p = cfg.prompt
    setup_determinism(cfg)
    general = read_wordnet(cfg.general_max_lines)
    gen_train, gen_held = split_heldout(general)
    train, test = concept_data.generate(cfg.seed)
    dialogues = [f"{apply_template(p.template, e.prompt)} {e.response}" for e in train]
    # The LM stage needs a sample of the dialogues, not all of them: keeps general text the bulk of it.
    dialogues = random.Random(cfg.seed).sample(dialogues, min(len(dialogues), cfg.max_lm_dialogues))
    log(f"[build] general text {len(gen_train)} train / {len(gen_held)} held-out lines; concepts {len(train)} train / {len(test)} test")

    corpus = gen_train + dialogues
    random.Random(cfg.seed).shuffle(corpus)
    # Checkpoints are reused only for the same config AND the same data (a changed corpus retrains).
    # Stage 1 depends on everything but the SEER settings, so changing only those reuses its checkpoint.
    everything = {**config_dict(cfg), "data": fingerprint([corpus, [(e.concept, e.prompt) for e in train]])}
    fp_pretrain = fingerprint({k: v for k, v in everything.items() if k not in ("seer", "target_layers")})
    fp_seer = fingerprint(everything)
    log(f"[build] config {config_path} (fingerprints: pretrain {fp_pretrain}, seer {fp_seer})")
    tok_corpus, chars = [], 0
    for line in corpus:
        if chars >= cfg.tokenizer_train_chars:
            break
        tok_corpus.append(line)
        chars += len(line)
    tok = ByteLevelBPE(*train_bpe(tok_corpus, cfg.model.vocab_size))
    log(f"[build] tokenizer: {len(tok.vocab)} tokens ({time.time() - t0:.0f}s)")

    lm_stream = token_stream(tok, corpus, cfg.seed)
    general_stream = token_stream(tok, gen_train, cfg.seed + 1)
    held_stream = token_stream(tok, gen_held, cfg.seed + 2)
    log(f"[build] LM stream {len(lm_stream)} tokens ({time.time() - t0:.0f}s)")

    torch.manual_seed(cfg.seed)
    model = SeerLlama(cfg.model)
    pre_hist = pretrain(model, lm_stream, cfg.pretrain, cfg.seed, StageCheckpoint(ckpt_dir, "pretrain", fp_pretrain),
                        cfg.checkpoint_every, log)
    baseline = copy.deepcopy(model).eval()

    pairs = PairSampler(tok, train, concept_data.CONCEPTS, p.template, p.add_bos, p.max_tokens)
    probe_rows = held_out_probe(test, cfg)
    pids, pmask = pad_batch([encode_prompt(tok, e.prompt, p.template, p.add_bos, p.max_tokens)[0] for e in probe_rows], tok.pad_id)
    plabels = torch.tensor([concept_data.CONCEPTS.index(e.concept) for e in probe_rows])
    seer_model, seer_hist = seer_finetune(model, pairs, general_stream, cfg.seer, cfg.target_layers, cfg.seed,
                                          StageCheckpoint(ckpt_dir, "seer", fp_seer), cfg.checkpoint_every,
                                          probe=(pids, pmask, plabels), log=log)

    calib = concept_data.per_concept_sample(train, cfg.calibration_per_concept, cfg.seed)
    # The rows the banks are calibrated on, for the engine's concept maps (scripts/build-model.sh: seer concept-map).
    write_text_atomic(Path(ckpt_dir) / "calibration-rows.jsonl",
                      "".join(json.dumps({"prompt": e.prompt, "concept": e.concept}) + "\n" for e in calib))
    labels = torch.tensor([concept_data.CONCEPTS.index(e.concept) for e in calib])
    test_labels = torch.tensor([concept_data.CONCEPTS.index(e.concept) for e in test])
    source = {"dataset": f"generated concept corpus (trainer/seer_trainer/concepts.py, seed {cfg.seed}), "
                         f"{cfg.calibration_per_concept} held-in prompts per concept; held-out test split {len(test)} prompts",
              "rowsUsed": len(calib), "rowsSkipped": 0, "skipped": {}}
    gold_texts = tokenization_cases([e.prompt for e in train + test], gen_train, cfg.seed)

    results = {}
    read_layer = cfg.target_layers[0]
    for key, m in (("seer", seer_model), ("baseline", baseline)):
        reps, _ = representations(m, tok, [e.prompt for e in calib], p.template, p.add_bos, p.max_tokens)
        test_reps, _ = representations(m, tok, [e.prompt for e in test], p.template, p.add_bos, p.max_tokens)
        bank = build_bank("default", concept_data.CONCEPTS, concept_data.SAFE, reps, labels, test_reps, test_labels,
                          None, source)  # modelSha256 is filled in when the ONNX file is written
        # The read-out scale is fitted at the headline layer (the engine's targetLayers[0]) on the held-out prompts.
        read_out = calibrate_read_out(bank["layers"][read_layer]["prototypes"], test_reps[read_layer], test_labels,
                                      cfg.seer.logit_scale)
        results[key] = {"bank": bank, "ppl": perplexity(m, held_stream), "readOut": read_out}
        log(f"[build] {key}: held-out perplexity {results[key]['ppl']:.2f}; read-out scale {read_out['fittedScale']} "
            f"(ECE {read_out['before']['ece']:.3f} at {cfg.seer.logit_scale} -> {read_out['after']['ece']:.3f})")

    m = cfg.model
    arch = (f"{m.num_layers} layers, hidden {m.hidden_size}, {m.num_heads} heads, SwiGLU {m.intermediate_size}, "
            f"vocab {m.vocab_size}, {sum(p.numel() for p in seer_model.parameters()) / 1e6:.2f}M parameters")
    s = cfg.seer
    per_concept = (f" ({s.pairs_per_concept} per concept; same-concept rows masked out of the negatives)"
                   if s.pairs_per_concept > 1 else "")
    seer_desc = (f"{s.steps} steps, {s.pairs_per_batch} same-concept pairs per batch{per_concept}, InfoNCE (logit scale {s.logit_scale}) "
                 f"at layers {cfg.target_layers} x {s.contrastive_weight} + retain l2 (mean per hidden unit) x {s.retain_weight} + KL x {s.kl_weight}, "
                 + (f"LoRA r={s.lora_rank} alpha={s.lora_alpha} dropout={s.lora_dropout}" if s.lora else "full fine-tuning"))
    training_common = {"seed": cfg.seed, "config": config_dict(cfg), "pretrain": pre_hist[-3:],
                       "tokenizerTrainChars": chars, "generalTextLines": len(gen_train)}
    banks = {k: v["bank"] for k, v in results.items()}
    info = {"arch": arch, "pretrain_steps": cfg.pretrain.steps, "seer": seer_desc, "seed": cfg.seed,
            "threads": cfg.threads, "seconds": time.time() - t0,
            "calibration": f"{cfg.calibration_per_concept} held-in training prompts per concept x {len(concept_data.CONCEPTS)} concepts",
            "test": f"{len(test)} held-out prompts (held-out phrasings and held-out verbs/objects)",
            "ppl_tokens": min(400 * 64, len(held_stream)), "reproduction": REPRODUCTION}
    read_outs = {k: v["readOut"] for k, v in results.items()}
    report = render(banks["seer"], banks["baseline"], results["seer"]["ppl"], results["baseline"]["ppl"], cfg.target_layers, info,
                    read_outs, read_layer)

    write_bundle(Path(out_dir), "seer-default", "Default SEER model: a small seer-llama decoder fine-tuned with the SEER "
                 "objective on the project's generated concept corpus (10 concepts).", seer_model, tok, cfg,
                 banks["seer"], gold_texts,
                 {**training_common, "stage": "pretrain + SEER", "seer": seer_hist, "heldOutPerplexity": results["seer"]["ppl"],
                  "logitScale": manifest_summary(read_outs["seer"], read_layer)}, report, read_outs["seer"]["fittedScale"])
    write_bundle(Path(baseline_dir), "seer-baseline", "Baseline twin of seer-default: the same pretrained model without "
                 "the SEER stage (for comparison).", baseline, tok, cfg, banks["baseline"], gold_texts,
                 {**training_common, "stage": "pretrain only", "heldOutPerplexity": results["baseline"]["ppl"],
                  "logitScale": manifest_summary(read_outs["baseline"], read_layer)}, report, read_outs["baseline"]["fittedScale"])
    log(f"[build] wrote {out_dir} and {baseline_dir} in {time.time() - t0:.0f}s")
    return banks, results
