"""Vectors in JSON files as {"encoding": "float32-le-base64", "data": base64 of little-endian float32}: a bank's
prototypes (bank format 2) and the PyTorch reference's tensors (golden.py). The engine reads and writes the same
form (engine/src/bundle/packedFloats.ts, which also has float16 for concept maps). Exact, and under half the bytes
of decimal text."""
import base64

import numpy as np

FLOAT32 = "float32-le-base64"


def pack_floats(values) -> dict:
    """Any array-like of numbers (flattened, row after row) as float32."""
    a = np.asarray(values, dtype="<f4").reshape(-1)
    return {"encoding": FLOAT32, "data": base64.b64encode(a.tobytes()).decode("ascii")}


def unpack_floats(packed: dict) -> np.ndarray:
    """The float32 values of pack_floats' form (flat); another encoding is a ValueError."""
    if packed.get("encoding") != FLOAT32:
        raise ValueError(f"packed floats in {packed.get('encoding')!r}, expected {FLOAT32!r}")
    return np.frombuffer(base64.b64decode(packed["data"]), dtype="<f4").copy()
