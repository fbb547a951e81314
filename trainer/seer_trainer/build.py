"""`build-default`: the whole pipeline behind `npm run build:model`: data, tokenizer, LM pretraining,
baseline twin, SEER stage, export of both bundles (format 2, through export.write_seer_llama_graph),
calibration and REPORT.md."""
import copy
import dataclasses
import json
import os
import random
import shutil
import time
from pathlib import Path

import torch

from . import concepts as concept_data
from .batching import apply_template, encode_prompt, pad_batch, token_stream
from .calibrate import bank_prototypes, build_bank, representations
from .checkpoint import StageCheckpoint, fingerprint
from .config import config_dict, load_config
from .export import manifest, save_weights, write_manifest, write_seer_llama_graph
from .general_text import describe_sources, read_general, split_heldout
from .io_utils import write_json_atomic, write_text_atomic
from .model import SeerLlama
from .pretrained import seed_pretrain_stage
from .report import perplexity, render, response_perplexity
from .temperature import calibrate_read_out, manifest_summary
from .errors import SeerInputError
from .train import PairSampler, pretrain, round_weights_, seer_finetune

REPRODUCTION = (
    "Deterministic by construction: fixed seed, torch.use_deterministic_algorithms, per-step reseeding "
    "(a resumed run ends where an uninterrupted one does), a fixed thread count (config `threads`, "
    "OPENBLAS_NUM_THREADS=1). Measured on the build machine (Debian torch 1.13 CPU + OpenBLAS): two "
    "fresh builds of the tiny config are compared byte for byte by trainer/tests/test_build_tiny.py, which also "
    "rebuilds a default from its baseline twin alone (build-default --pretrained-from: the twin's weights are the "
    "pretrain stage's result) byte for byte; two runs of the default config's SEER stage from its baseline twin, "
    "in separate processes, logged identical losses (the first 50 steps compared). Not measured: other CPUs, BLAS libraries or torch versions; "
    "there float summation order differs, so expect the weights and these numbers to drift at float "
    "precision and compound over training (the same SEER-over-baseline effect, not the same digits). "
    "On CUDA (config `device`): the same switches plus CUBLAS_WORKSPACE_CONFIG=:4096:8, TF32 as config `tf32` "
    "says; batches are drawn on the CPU, so the data order is the same on every device. Two CUDA runs of one "
    "config have not yet been compared byte for byte.")
TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def resolve_device(name: str) -> torch.device:
    """"auto": cuda when torch sees a GPU, else cpu; "cuda" without one is an input error, not a traceback."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SeerInputError("device cuda: torch sees no CUDA GPU (torch.cuda.is_available() is False; torch "
                             f"{torch.__version__}); build with --device cpu or --device auto.")
    return torch.device(name)


def setup_determinism(cfg) -> torch.device:
    # Deterministic cuBLAS needs its workspace fixed before CUDA starts; harmless on CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
        torch.backends.cudnn.allow_tf32 = cfg.tf32
    return device


def prepare_data(cfg, corpus, gen_train, gen_held, train, test, cache: StageCheckpoint, log):
    """The tokenizer and every token the training stages read, kept in the checkpoint folder (data-<fp>.pt):
    a rerun skips the BPE training and tokenization (about a minute for a vocabulary of 8192), and a machine
    without the `regex` package (the tokenizer's) can still train from it."""
    data = cache.load()
    if data:
        log(f"[build] data: tokenizer and token streams from {cache.path}")
        return data
    from .tokenizer import ByteLevelBPE, train_bpe
    p = cfg.prompt
    tok_corpus, chars = [], 0
    for line in corpus:
        if chars >= cfg.tokenizer_train_chars:
            break
        tok_corpus.append(line)
        chars += len(line)
    vocab, merges = train_bpe(tok_corpus, cfg.model.vocab_size)
    tok = ByteLevelBPE(vocab, merges)
    small = torch.int16 if cfg.model.vocab_size <= 32767 else torch.int32  # a third of int64 on disk
    concepts, _ = concept_data.concept_lists(cfg.corpus)
    pairs = PairSampler(tok, train, concepts, p.template, p.add_bos, p.max_tokens)
    probe_rows = held_out_probe(test, cfg)
    probe = pad_batch([encode_prompt(tok, e.prompt, p.template, p.add_bos, p.max_tokens)[0] for e in probe_rows], tok.pad_id)
    data = {"vocab": vocab, "merges": merges, "tokenizerTrainChars": chars, "pairs": pairs.by_concept,
            "probe": (*probe, torch.tensor([concepts.index(e.concept) for e in probe_rows])),
            **{name: token_stream(tok, texts, cfg.seed + i).to(small)
               for i, (name, texts) in enumerate((("lm", corpus), ("general", gen_train), ("held", gen_held)))}}
    cache.save(data)
    return data


def trained_on(pre_hist, seer_hist) -> str:
    """Where and how long the stages trained, as their last history entries record it (train._finish): a
    build that resumes finished stages (exported here, trained on a GPU machine) reports the training run."""
    return ", ".join(f"{name} on {h[-1].get('device', '?')} in {h[-1].get('seconds', '?')} s"
                     for name, h in (("pretrain", pre_hist), ("SEER", seer_hist)) if h)


def held_out_probe(test, cfg):
    """Prompts for the same/different cosine logged during the SEER stage: a fixed, seeded sample of the
    held-out test split (phrasings and tasks never trained on), so the log shows generalisation."""
    return concept_data.per_concept_sample(test, cfg.probe_per_concept, cfg.seed + 3, concept_data.concept_lists(cfg.corpus)[0])


def write_bundle(folder: Path, name, description, model, tok, cfg, bank, training, report_text, logit_scale):
    """Writes the bundle into a sibling temp folder, then swaps it in, so a crash never leaves half a bundle. (No
    golden.json: the engine's tests compute the PyTorch reference from model.onnx, golden.golden_of_bundle.)"""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    graph = write_seer_llama_graph(model, tmp, log=lambda *_: None, weights_dtype=cfg.weights_dtype)
    # model.pt in the same dtype (the weights are already rounded to it: nothing is lost)
    save_weights(copy.deepcopy(model).to(TORCH_DTYPES[cfg.weights_dtype]), tmp / "model.pt")
    tok.save(tmp / "tokenizer.json")
    p = cfg.prompt
    bank = {**bank, "modelSha256": graph.model_sha256}
    write_json_atomic(tmp / "banks" / "default.json", bank)
    write_manifest(tmp, manifest(name, description, cfg.model, cfg.target_layers, p.template, p.add_bos,
                                 logit_scale, *concept_data.concept_lists(cfg.corpus), graph, training, cfg.weights_dtype,
                                 representation=cfg.seer.pooling))
    if report_text is not None:
        write_text_atomic(tmp / "REPORT.md", report_text)
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return bank


def build_default(config_path, out_dir, baseline_dir, ckpt_dir, log=print, device=None, stop_after=None, corpus=None,
                  pretrained_from="none"):
    """device, corpus: override the config's. stop_after "data": stop once the tokenizer and token streams are cached in
    ckpt_dir; "training": once both stages' checkpoints are written (scripts/gpu-build-model.sh: a GPU machine
    without onnx, regex or Node trains, this machine exports from the same checkpoint folder).
    pretrained_from: where the finished pretrain stage may come from when ckpt_dir lacks it (pretrained.py):
    "auto" the baseline_dir bundle if it holds this build's stage (else pretrain, saying why), a folder (refused
    unless it holds it), "none" (pretrain)."""
    t0 = time.time()
    cfg = load_config(config_path)
    if device:
        cfg = dataclasses.replace(cfg, device=device)
    if corpus:
        cfg = dataclasses.replace(cfg, corpus=corpus)
    p = cfg.prompt
    device = setup_determinism(cfg)
    general = read_general(cfg.general_sources, cfg.general_max_lines)
    gen_train, gen_held = split_heldout(general)
    train, test = concept_data.generate(cfg.seed, version=cfg.corpus)
    concepts, safe = concept_data.concept_lists(cfg.corpus)
    # The LM stage's dialogues come from config `pretrain_corpus` (default: the SEER stage's corpus).
    lm_train = train if cfg.pretrain_corpus in (None, cfg.corpus) else concept_data.generate(cfg.seed, version=cfg.pretrain_corpus)[0]
    dialogues = [f"{apply_template(p.template, e.prompt)} {e.response}" for e in lm_train]
    # The LM stage needs a sample of the dialogues, not all of them: keeps general text the bulk of it.
    dialogues = random.Random(cfg.seed).sample(dialogues, min(len(dialogues), cfg.max_lm_dialogues))
    log(f"[build] general text {len(gen_train)} train / {len(gen_held)} held-out lines; concepts {len(train)} train / {len(test)} test")

    corpus = gen_train + dialogues
    random.Random(cfg.seed).shuffle(corpus)
    # Checkpoints are reused only for the same config AND the same data (a changed corpus retrains).
    # Stage 1 depends on everything but the SEER settings, so changing only those reuses its checkpoint.
    # The device runs the same computation, and weights_dtype only rounds each stage's result: neither is in
    # the fingerprints, so a build resumes on another device and a stage's result is reused.
    # A SEER corpus other than the LM stage's adds "seerData": the pretrain fingerprint stays that of the LM data.
    everything = {**{k: v for k, v in config_dict(cfg).items() if k not in ("device", "weights_dtype", "corpus", "pretrain_corpus")},
                  "data": fingerprint([corpus, [(e.concept, e.prompt) for e in lm_train]])}
    fp_pretrain = fingerprint({k: v for k, v in everything.items() if k not in ("seer", "target_layers")})
    if lm_train is not train:
        everything["seerData"] = fingerprint([(e.concept, e.prompt) for e in train])
    fp_seer = fingerprint(everything)
    fp_data = fingerprint({k: everything[k] for k in ("data", "seerData", "seed", "general_max_lines", "tokenizer_train_chars",
                                                      "probe_per_concept", "prompt") if k in everything} | {"vocab": cfg.model.vocab_size})
    log(f"[build] config {config_path} (fingerprints: data {fp_data}, pretrain {fp_pretrain}, seer {fp_seer}); "
        f"device {device.type}, torch {torch.__version__}")
    data = prepare_data(cfg, corpus, gen_train, gen_held, train, test, StageCheckpoint(ckpt_dir, "data", fp_data), log)
    if stop_after == "data":
        log(f"[build] stopped after data: {StageCheckpoint(ckpt_dir, 'data', fp_data).path}")
        return None
    lm_stream, general_stream, held_stream = (data[k].long() for k in ("lm", "general", "held"))
    log(f"[build] tokenizer {len(data['vocab'])} tokens, LM stream {len(lm_stream)} tokens ({time.time() - t0:.0f}s)")

    torch.manual_seed(cfg.seed)
    model = SeerLlama(cfg.model).to(device)  # initialised on the CPU (seeded): the same start on every device
    wdtype = TORCH_DTYPES[cfg.weights_dtype]
    t_stage = time.time()
    pre_ckpt = StageCheckpoint(ckpt_dir, "pretrain", fp_pretrain)
    seed_pretrain_stage(pre_ckpt, pretrained_from, Path(baseline_dir), cfg, fp_pretrain, data, wdtype, log)
    pre_hist = pretrain(model, lm_stream, cfg.pretrain, cfg.seed, pre_ckpt, cfg.checkpoint_every, log, weights_dtype=wdtype)
    log(f"[build] stage pretrain done in {time.time() - t_stage:.1f}s ({time.time() - t0:.0f}s)")
    baseline = copy.deepcopy(model).eval()

    pairs = PairSampler.from_encoded(data["pairs"], data["vocab"]["<|pad|>"])
    from .tokenizer import ByteLevelBPE
    tok = ByteLevelBPE(data["vocab"], data["merges"])
    # The LM stage's dialogues for the retain/KL windows: tokenised here, not cached with the data, so a build
    # without them keeps its data fingerprint (a few seconds of work).
    dialogue_stream = token_stream(tok, dialogues, cfg.seed + 5) if cfg.seer.retain_dialogue_share else None
    t_stage = time.time()
    seer_seed = cfg.seed if cfg.seer.seed is None else cfg.seer.seed
    seer_model, seer_hist = seer_finetune(model, pairs, general_stream, cfg.seer, cfg.target_layers, seer_seed,
                                          StageCheckpoint(ckpt_dir, "seer", fp_seer), cfg.checkpoint_every,
                                          probe=data["probe"], log=log, weights_dtype=wdtype,
                                          dialogue_stream=dialogue_stream)
    log(f"[build] stage seer done in {time.time() - t_stage:.1f}s ({time.time() - t0:.0f}s)")
    if stop_after == "training":
        log(f"[build] stopped after training: checkpoints in {ckpt_dir}; rerun without --stop-after to export")
        return None
    # Calibration, reports and export run on the CPU, as everywhere else; a merged LoRA is rounded again.
    chars = data["tokenizerTrainChars"]
    seer_model, baseline = (round_weights_(m.cpu(), wdtype) for m in (seer_model, baseline))
    t_stage = time.time()

    calib = concept_data.per_concept_sample(train, cfg.calibration_per_concept, cfg.seed, concepts)
    # The rows the banks are calibrated on, for the engine's concept maps (scripts/build-model.sh: seer concept-map).
    write_text_atomic(Path(ckpt_dir) / "calibration-rows.jsonl",
                      "".join(json.dumps({"prompt": e.prompt, "concept": e.concept}) + "\n" for e in calib))
    labels = torch.tensor([concepts.index(e.concept) for e in calib])
    test_labels = torch.tensor([concepts.index(e.concept) for e in test])
    source = {"dataset": f"generated concept corpus (trainer/seer_trainer/concepts.py, seed {cfg.seed}), "
                         f"{cfg.calibration_per_concept} held-in prompts per concept; held-out test split {len(test)} prompts",
              "rowsUsed": len(calib), "rowsSkipped": 0, "skipped": {}}

    results = {}
    read_layer = cfg.target_layers[0]
    for key, m in (("seer", seer_model), ("baseline", baseline)):
        reps, _ = representations(m, tok, [e.prompt for e in calib], p.template, p.add_bos, p.max_tokens, cfg.seer.pooling)
        test_reps, _ = representations(m, tok, [e.prompt for e in test], p.template, p.add_bos, p.max_tokens, cfg.seer.pooling)
        bank = build_bank("default", concepts, safe, reps, labels, test_reps, test_labels,
                          None, source, cfg.seer.pooling)  # modelSha256 is filled in when the ONNX file is written
        # The read-out scale is fitted at the headline layer (the engine's targetLayers[0]) on the held-out prompts.
        read_out = calibrate_read_out(bank_prototypes(bank, read_layer), test_reps[read_layer], test_labels,
                                      cfg.seer.logit_scale)
        results[key] = {"bank": bank, "ppl": perplexity(m, held_stream), "readOut": read_out,
                        "responsePpl": response_perplexity(m, tok, test, p.template, p.add_bos, p.max_tokens)}
        log(f"[build] {key}: held-out perplexity {results[key]['ppl']:.2f}, responses {results[key]['responsePpl']:.3f}; "
            f"read-out scale {read_out['fittedScale']} "
            f"(ECE {read_out['before']['ece']:.3f} at {cfg.seer.logit_scale} -> {read_out['after']['ece']:.3f})")
    log(f"[build] stage calibration done in {time.time() - t_stage:.1f}s ({time.time() - t0:.0f}s)")

    m = cfg.model
    arch = (f"{m.num_layers} layers, hidden {m.hidden_size}, {m.num_heads} heads, SwiGLU {m.intermediate_size}, "
            f"vocab {m.vocab_size}, {sum(p.numel() for p in seer_model.parameters()) / 1e6:.2f}M parameters")
    s = cfg.seer
    per_concept = (f" ({s.pairs_per_concept} per concept; same-concept rows masked out of the negatives)"
                   if s.pairs_per_concept > 1 else "")
    corpora = (f"concept corpus v{cfg.corpus}" if lm_train is train
               else f"concept corpus v{cfg.corpus} (the LM stage read corpus v{cfg.pretrain_corpus}'s dialogues)")
    seer_desc = (f"{corpora}, {s.steps} steps, {s.pairs_per_batch} same-concept pairs per batch{per_concept}, InfoNCE (logit scale {s.logit_scale}) "
                 f"at layers {cfg.target_layers} x {s.contrastive_weight} + retain l2 (mean per hidden unit) x {s.retain_weight} + KL x {s.kl_weight}"
                 f"{f' (on general text and, in {s.retain_dialogue_share:.0%} of the windows, dialogues' + ('' if s.retain_dialogue_l2 else ', KL only') + ')' if s.retain_dialogue_share else ''}, "
                 + (f"LoRA r={s.lora_rank} alpha={s.lora_alpha} dropout={s.lora_dropout}" if s.lora else "full fine-tuning"))
    training_common = {"seed": cfg.seed, "config": config_dict(cfg), "pretrain": pre_hist[-3:],
                       "fingerprints": {"data": fp_data, "pretrain": fp_pretrain, "seer": fp_seer},
                       "tokenizerTrainChars": chars, "generalTextLines": len(gen_train)}
    banks = {k: v["bank"] for k, v in results.items()}
    info = {"arch": arch, "pretrain_steps": cfg.pretrain.steps, "seer": seer_desc, "seed": cfg.seed,
            "threads": f"{cfg.threads} ({trained_on(pre_hist, seer_hist)}; {cfg.weights_dtype} weights)",
            "seconds": time.time() - t0,
            "calibration": f"{cfg.calibration_per_concept} held-in training prompts per concept x {len(concepts)} concepts",
            "test": f"{len(test)} held-out prompts (held-out phrasings and held-out verbs/objects)",
            "ppl_tokens": min(400 * 64, len(held_stream)), "ppl_text": describe_sources(cfg.general_sources),
            "reproduction": REPRODUCTION}
    read_outs = {k: v["readOut"] for k, v in results.items()}
    report = render(banks["seer"], banks["baseline"], results["seer"]["ppl"], results["baseline"]["ppl"], cfg.target_layers, info,
                    read_outs, read_layer, {k: v["responsePpl"] for k, v in results.items()})

    t_stage = time.time()
    write_bundle(Path(out_dir), "seer-default", "Default SEER model: a small seer-llama decoder fine-tuned with the SEER "
                 f"objective on the project's generated concept corpus ({len(concepts)} concepts).", seer_model, tok, cfg,
                 banks["seer"],
                 {**training_common, "stage": "pretrain + SEER", "seer": seer_hist, "heldOutPerplexity": results["seer"]["ppl"],
                  "heldOutResponsePerplexity": results["seer"]["responsePpl"],
                  "logitScale": manifest_summary(read_outs["seer"], read_layer)}, report, read_outs["seer"]["fittedScale"])
    write_bundle(Path(baseline_dir), "seer-baseline", "Baseline twin of seer-default: the same pretrained model without "
                 "the SEER stage (for comparison).", baseline, tok, cfg, banks["baseline"],
                 {**training_common, "stage": "pretrain only", "heldOutPerplexity": results["baseline"]["ppl"],
                  "heldOutResponsePerplexity": results["baseline"]["responsePpl"],
                  "logitScale": manifest_summary(read_outs["baseline"], read_layer)}, report, read_outs["baseline"]["fittedScale"])
    log(f"[build] stage export done in {time.time() - t_stage:.1f}s ({time.time() - t0:.0f}s)")
    log(f"[build] wrote {out_dir} and {baseline_dir} in {time.time() - t0:.0f}s")
    return banks, results
