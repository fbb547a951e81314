"""Where the torch provider's forward spends its time on a GPU, beside transformers on the same checkpoint
(bench/gpu-session.sh runs it after the benchmark; issue 10). Each variant runs in its own process, so that the
first call at each new shape pays what a user's first prompt of that length pays (kernel loading, attention
plans), and reports:
  - per call, in order: tokens x batch, milliseconds (CUDA synchronised), first or repeated shape;
  - torch.profiler's top CUDA kernels and CPU ops at 128 x 1 and 512 x 32.
Variants: "ours" (torch_explain.explain_outputs with the engine's fetches and CUDA graphs, as serve-forward runs
it: its first call captures the batch-1 graphs ahead, as the engine's warm-up explain at load does), "ours-eager"
(the same with SEER_TORCH_GRAPHS=0: every kernel launched one by one), "ours-cudnn" (eager, with PyTorch's cuDNN
attention allowed), "forward" (HFDecoder's forward alone, no read-outs) and "hf" (transformers' LlamaForCausalLM,
sdpa, as bench/gpu_torch.py measures it).

usage: gpu_torch_profile.py BUNDLE CHECKPOINT [--variants ours,ours-eager,ours-cudnn,forward,hf] [--device cuda]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "trainer"))

# (tokens, batch) in the order a session might meet them: a short prompt, then the benchmark's shapes, each twice,
# then lengths not seen before (what a user's next prompt is).
SHAPES = [(10, 1), (128, 1), (128, 1), (137, 1), (512, 1), (512, 1), (128, 32), (128, 32), (512, 32), (512, 32), (301, 1), (77, 4)]
FETCHES = ["readout_cosines", "map_cosines", "token_cosines", "top_ids", "top_logits", "log_sum_exp"]
# Each variant's environment beside this process's: the eager ones without CUDA graphs (torch_graphs.graphs_for).
ENV = {"ours-eager": {"SEER_TORCH_GRAPHS": "0"}, "ours-cudnn": {"SEER_TORCH_GRAPHS": "0"}}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def feeds_for(c, tokens, batch, target, generator):
    ids = torch.randint(0, c.vocab_size, (batch, tokens), generator=generator)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "positions": torch.full((batch,), tokens - 1, dtype=torch.int64),
            "token_layers": torch.tensor([target], dtype=torch.int64), "steering": torch.zeros(c.num_layers + 1, c.hidden_size),
            "token_prototypes": torch.randn(1, 3, c.hidden_size, generator=generator), "top_k": torch.tensor([5], dtype=torch.int64),
            "readout_prototypes": torch.randn(c.num_layers + 1, 3, c.hidden_size, generator=generator),
            "map_vectors": torch.randn(400, c.hidden_size, generator=generator), "map_layer": torch.tensor([target], dtype=torch.int64)}


def run_variant(variant, bundle, checkpoint, device_name):
    device = torch.device(device_name)
    g = torch.Generator().manual_seed(0)
    if variant == "hf":
        from transformers import LlamaForCausalLM
        model = LlamaForCausalLM.from_pretrained(checkpoint, dtype=torch.bfloat16, attn_implementation="sdpa").to(device).eval()
        vocab, layers = model.config.vocab_size, model.config.num_hidden_layers

        def call(tokens, batch):
            ids = torch.randint(0, vocab, (batch, tokens), generator=g).to(device)
            with torch.inference_mode():
                out = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True, logits_to_keep=1, use_cache=False)
                torch.stack([h[:, -1] for h in out.hidden_states]).float().cpu()
                out.logits[:, -1].float().cpu()
    else:
        from seer_trainer import torch_forward as tf
        from seer_trainer.torch_explain import explain_outputs
        from seer_trainer.torch_graphs import graphs_for
        if variant != "ours-cudnn":
            tf.prefer_fused_attention_kernels()
        if device.type == "cuda":
            tf.one_host_thread()  # as serve-forward does on a GPU
        model = tf.load_bundle(bundle, device, torch.bfloat16 if device.type == "cuda" else torch.float32)
        graphs = graphs_for(device, lambda line: print(line, file=sys.stderr, flush=True))
        c = model.config
        target = c.num_layers * 3 // 4

        def call(tokens, batch):
            feeds = feeds_for(c, tokens, batch, target, g)
            if variant == "forward":
                with torch.inference_mode():
                    model(feeds["input_ids"].to(device), feeds["attention_mask"].to(device))
            else:
                explain_outputs(model, feeds, FETCHES, graphs)

    lines, seen = [], set()
    for tokens, batch in SHAPES:
        sync(device)
        t0 = time.perf_counter()
        call(tokens, batch)
        sync(device)
        ms = round((time.perf_counter() - t0) * 1000, 2)
        lines.append({"variant": variant, "tokens": tokens, "batch": batch, "ms": ms, "first": (tokens, batch) not in seen})
        seen.add((tokens, batch))
    for line in lines:
        print(json.dumps(line), flush=True)
    if device.type != "cuda":
        return
    from torch.profiler import ProfilerActivity, profile
    for tokens, batch in [(128, 1), (512, 32)]:
        call(tokens, batch)
        sync(device)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                call(tokens, batch)
            sync(device)
        print(f"--- {variant} {tokens} x {batch}: 3 calls, top CUDA time", flush=True)
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=14, max_name_column_width=70), flush=True)
        print(f"--- {variant} {tokens} x {batch}: top CPU time", flush=True)
        print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10, max_name_column_width=70), flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("bundle")
    p.add_argument("checkpoint")
    p.add_argument("--variants", default="ours,ours-eager,ours-cudnn,forward,hf")
    p.add_argument("--device", default="cuda")
    p.add_argument("--one", help=argparse.SUPPRESS)  # the child process: one variant
    a = p.parse_args(argv)
    if a.one:
        run_variant(a.one, a.bundle, a.checkpoint, a.device)
        return 0
    code = 0
    for variant in a.variants.split(","):
        r = subprocess.run([sys.executable, __file__, a.bundle, a.checkpoint, "--device", a.device, "--one", variant],
                           env={**os.environ, **ENV.get(variant, {})})
        if r.returncode:
            print(f"{variant}: exit {r.returncode}", flush=True)
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
