"""PyTorch eager reference for `npm run bench`: the trainer's SeerLlama forward pass with all hidden states,
at the bundle's architecture, same thread count, same token lengths, with the bundle's PyTorch weights when it
ships them (seer.json files.weights); otherwise random weights, as the cost of an eager pass does not depend on
their values (correctness is checked separately against golden.json).
Usage: /usr/bin/python3 bench/torch_reference.py BUNDLE THREADS [--quick]  (PYTHONPATH=trainer); prints JSON."""
import json
import sys
import time
from pathlib import Path

import torch

from seer_trainer.config import ModelConfig
from seer_trainer.model import SeerLlama


def main():
    bundle, threads, quick = Path(sys.argv[1]), int(sys.argv[2]), "--quick" in sys.argv
    manifest = json.loads((bundle / "seer.json").read_text())
    a = manifest["architecture"]
    cfg = ModelConfig(vocab_size=a["vocabSize"], hidden_size=a["hiddenSize"], num_layers=a["numLayers"], num_heads=a["numHeads"],
                      intermediate_size=a["intermediateSize"], max_context=a["maxContext"], rope_theta=a["ropeTheta"],
                      norm_eps=a["normEps"], tied_embeddings=a["tiedEmbeddings"])
    model = SeerLlama(cfg).eval()
    weights = manifest["files"].get("weights")
    if weights and (bundle / weights).exists():
        model.load_state_dict(torch.load(bundle / weights, map_location="cpu", weights_only=True))  # never unpickle code
    runs = 5 if quick else 40
    out = {"threads": threads, "torch": torch.__version__, "weights": weights or "random", "latency": {}, "latency1Thread": {}}
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
