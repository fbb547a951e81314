"""An experiment for the GPU benchmark (bench/gpu-session.sh), not a product path: an imported bundle's explain graph
converted to float16 COMPUTE (today's `--dtype fp16` stores weights in float16 but computes in float32), by
onnxruntime's own converter (onnxruntime.transformers.float16, inputs and outputs kept float32), so that
bench/gpu-profile.mjs can time it on WebGPU and compare its outputs with the float32 graph's. Random weights keep
the activations small; a real model's residual stream can overflow float16 (norms would have to stay float32).

usage: gpu_fp16_compute.py BUNDLE OUT_BUNDLE   (needs onnx and onnxruntime's Python package)
"""
import json
import shutil
import sys
import time
from pathlib import Path

import onnx


def main(src: Path, out: Path) -> int:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    t0 = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file() and not f.name.startswith("model.onnx"):
            shutil.copy2(f, out / f.name)
    model = onnx.load(str(src / "model.onnx"))  # external data too
    # Shape inference serialises the model, which protobuf refuses beyond 2 GB: skipped, as the converter allows.
    converted = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    del model
    onnx.save_model(converted, str(out / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=1024)
    manifest = json.loads((out / "seer.json").read_text())
    manifest["onnx"]["weightsDtype"] = "float16"
    manifest["onnx"]["computeDtype"] = "float16 (experiment)"
    (out / "seer.json").write_text(json.dumps(manifest, indent=2))
    print(json.dumps({"converted": str(out), "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
