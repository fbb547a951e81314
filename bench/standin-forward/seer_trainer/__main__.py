"""A stand-in for the torch provider's `python -m seer_trainer serve-forward` (trainer/seer_trainer/torch_forward.py),
for `npm run bench:host` (bench/host-work.mjs): the same wire protocol, answered at once with random outputs of the
shapes asked for, so that the engine's own host work (tokenizing, the pipe, building results) is timed without a
model or a GPU. It says it runs on "cuda" (the engine then batches as on a GPU: bench/host-work.mjs's point) and,
with STANDIN_MS_FIXED / STANDIN_MS_PER_KTOKEN, sleeps as a GPU would take (a fixed part plus per 1,000 padded
tokens). Needs numpy only."""
import json
import os
import struct
import sys
import time

import numpy as np


def write(out, header, arrays=()):
    header = dict(header, tensors=[{"name": n, "dtype": "float32" if x.dtype == np.float32 else "int64", "dims": list(x.shape),
                                    "bytes": x.nbytes} for n, x in arrays])
    text = json.dumps(header).encode()
    out.write(struct.pack("<I", len(text)) + text)
    for _, x in arrays:
        if x.nbytes:
            out.write(memoryview(x).cast("B"))
    out.flush()


def read_exact(inp, n):
    data = b""
    while len(data) < n:
        chunk = inp.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(bundle, inp, out):
    a = json.load(open(os.path.join(bundle, "seer.json")))["architecture"]
    L, H, V = a["numLayers"], a["hiddenSize"], a["vocabSize"]
    rng = np.random.default_rng(0)
    kept = {}  # key -> the number of vectors of a kept input (their values do not matter here)
    write(out, {"type": "ready", "torchVersion": "stand-in", "device": "cuda", "dtype": "bfloat16",
                "numLayers": L, "hiddenSize": H, "vocabSize": V})
    fixed, per_ktoken = float(os.environ.get("STANDIN_MS_FIXED", 0)), float(os.environ.get("STANDIN_MS_PER_KTOKEN", 0))
    while True:
        head = read_exact(inp, 4)
        if head is None:
            return
        header = json.loads(read_exact(inp, struct.unpack("<I", head)[0]))
        feeds = {}
        for t in header["tensors"]:
            raw = read_exact(inp, t["bytes"]) if t["bytes"] else b""
            feeds[t["name"]] = np.frombuffer(raw, dtype=np.float32 if t["dtype"] == "float32" else np.int64).reshape(t["dims"])
        keys = header.get("kept") or {}
        for name, key in keys.items():
            if name in feeds:
                kept[key] = feeds[name].shape[-2]
        count = {name: kept[key] for name, key in keys.items()}
        B, T = feeds["input_ids"].shape
        spent = fixed + per_ktoken * B * T / 1000
        if spent:
            time.sleep(spent / 1000)
        k, top_k = len(feeds["token_layers"]), int(feeds["top_k"][0]) if "top_k" in feeds else 0
        shapes = {"states": (L + 1, B, H), "mean_states": (L + 1, B, H), "last_logits": (B, V), "token_states": (k, B, T, H),
                  "token_cosines": (k, B, T, count.get("token_prototypes", 0)),
                  "readout_cosines": (L + 1, B, count.get("readout_prototypes", 0)), "map_cosines": (B, count.get("map_vectors", 0)),
                  "top_logits": (B, top_k), "log_sum_exp": (B,)}
        result = []
        for name in header["fetches"]:
            if name == "top_ids":
                result.append((name, rng.integers(0, V, (B, top_k), dtype=np.int64)))
            elif name == "top_logits":
                result.append((name, -np.sort(-rng.standard_normal(shapes[name], dtype=np.float32), axis=-1)))
            elif name == "log_sum_exp":  # above every logit: probabilities below 1
                result.append((name, np.full(shapes[name], 10, dtype=np.float32)))
            elif name in shapes:
                result.append((name, rng.uniform(-1, 1, shapes[name]).astype(np.float32)))
        write(out, {"type": "result", "id": header["id"], "forwardMs": spent, "phasesMs": {"check": 0, "launch": 0, "wait": spent}}, result)


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--probe" in args:
        print(json.dumps({"torch": "stand-in", "cuda": True, "devices": ["stand-in"]}), flush=True)
    else:
        serve(args[args.index("--bundle") + 1], sys.stdin.buffer, sys.stdout.buffer)
