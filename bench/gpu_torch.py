"""PyTorch CUDA eager beside the engine, for `npm run bench -- --gpu` (bench/gpu.mjs): transformers'
LlamaForCausalLM on the same checkpoint folder the engine's bundle was imported from, the same tokens x batch
shapes, and the same outputs brought to the host as the engine's explain head returns: every layer's hidden
state at the last token ([L+1, batch, hidden], via output_hidden_states) and the last token's logits
(logits_to_keep=1). Also the GPU's measured memory bandwidth (device-to-device copy), the physical bound's input.
Prints one JSON object on stdout.

usage: gpu_torch.py CHECKPOINT [--dtypes fp32,bf16] [--tokens 128,512] [--batches 1,32] [--runs 20] [--vocab N]
"""
import argparse
import json
import statistics
import sys
import time

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def bandwidth_gbs() -> float:
    """Best of 10 copies of a 1 GiB buffer: each reads and writes it (2 GiB of traffic)."""
    x = torch.empty(1 << 28, dtype=torch.float32, device="cuda")
    y = torch.empty_like(x)
    best = float("inf")
    for _ in range(10):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        y.copy_(x)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    del x, y
    torch.cuda.empty_cache()
    return 2 * (1 << 30) / best / 1e9


def load(checkpoint: str, dtype: torch.dtype):
    from transformers import LlamaForCausalLM
    try:
        model = LlamaForCausalLM.from_pretrained(checkpoint, dtype=dtype, attn_implementation="sdpa")
    except TypeError:  # transformers < 4.56 names it torch_dtype
        model = LlamaForCausalLM.from_pretrained(checkpoint, torch_dtype=dtype, attn_implementation="sdpa")
    return model.to("cuda").eval()


def percentile(sorted_ms, p):
    return sorted_ms[min(len(sorted_ms) - 1, max(0, -(-p * len(sorted_ms) // 100) - 1))]


def measure(model, tokens: int, batch: int, runs: int, vocab: int):
    ids = torch.randint(0, vocab, (batch, tokens), device="cuda")
    mask = torch.ones_like(ids)

    def step():
        with torch.inference_mode():
            out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True, logits_to_keep=1, use_cache=False)
            states = torch.stack([h[:, -1] for h in out.hidden_states]).float().cpu()  # to the host, as the engine's
            logits = out.logits[:, -1].float().cpu()
        return states.shape, logits.shape

    for _ in range(3):
        step()
    samples = []
    for _ in range(runs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()  # .cpu() waits for the GPU
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {"p50": round(percentile(samples, 50), 2), "p95": round(percentile(samples, 95), 2), "n": len(samples),
            "mean": round(statistics.fmean(samples), 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--tokens", default="128,512")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--vocab", type=int, default=2048, help="token ids are drawn below this (the tokenizer's size)")
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print(json.dumps({"error": f"torch {torch.__version__} sees no CUDA device"}))
        return 0
    import transformers
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "transformers": transformers.__version__,
              "bandwidthGBs": round(bandwidth_gbs(), 1), "rows": []}
    for name in a.dtypes.split(","):
        try:
            model = load(a.checkpoint, DTYPES[name])
        except Exception as e:  # noqa: BLE001 - reported in the results, not a crash
            result["rows"].append({"dtype": name, "error": f"load failed: {e}".split("\n")[0]})
            continue
        for tokens in map(int, a.tokens.split(",")):
            for batch in map(int, a.batches.split(",")):
                row = {"dtype": name, "tokens": tokens, "batch": batch}
                try:
                    row["torchCudaMs"] = measure(model, tokens, batch, a.runs, a.vocab)
                except torch.cuda.OutOfMemoryError as e:
                    row["error"] = f"out of GPU memory: {e}".split("\n")[0]
                    torch.cuda.empty_cache()
                result["rows"].append(row)
                print(f"torch {name} {tokens}x{batch}: {row.get('torchCudaMs', row.get('error'))}", file=sys.stderr)
        del model
        torch.cuda.empty_cache()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
