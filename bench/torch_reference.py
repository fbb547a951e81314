"""PyTorch eager reference for `npm run bench`: the trainer's SeerLlama forward pass with all hidden states,
at the bundle's architecture, same thread count, same token lengths, with the weights of the bundle's model.onnx
(bundle_model.load_seer_llama; correctness is checked separately, by the tests against the same PyTorch reference).
Usage: /usr/bin/python3 bench/torch_reference.py BUNDLE THREADS [--quick]  (PYTHONPATH=trainer); prints JSON."""
import json
import sys
import time
from pathlib import Path

import torch

from seer_trainer.bundle_model import load_seer_llama


def main():
    bundle, threads, quick = Path(sys.argv[1]), int(sys.argv[2]), "--quick" in sys.argv
    _, model, _ = load_seer_llama(bundle)
    cfg = model.config
    runs = 5 if quick else 40
    out = {"threads": threads, "torch": torch.__version__, "weights": "model.onnx", "latency": {}, "latency1Thread": {}}
    with torch.inference_mode():
        for key, n_threads in (("latency", threads), ("latency1Thread", 1)):
            torch.set_num_threads(n_threads)
            for n in (16, 128, 512):
                ids = torch.randint(0, cfg.vocab_size, (1, n))
                mask = torch.ones_like(ids)
                for _ in range(3):
                    model(ids, mask)
                times = []
                for _ in range(runs if n < 512 else max(3, runs // 2)):
                    t0 = time.perf_counter()
                    model(ids, mask)
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                out[key][str(n)] = {"p50": times[len(times) // 2], "p95": times[min(len(times) - 1, int(0.95 * len(times)))], "n": len(times)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
