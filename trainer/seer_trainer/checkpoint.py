"""Resumable stages: state is saved atomically every N steps and reloaded when the same stage of
the same configuration is run again. Each step reseeds from (seed, step), so a resumed run follows
the same trajectory as an uninterrupted one."""
import hashlib
import io
import json
from pathlib import Path

import torch

from .io_utils import write_bytes_atomic


def fingerprint(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class StageCheckpoint:
    def __init__(self, folder, stage: str, fp: str):
        self.path = Path(folder) / f"{stage}-{fp}.pt"

    def load(self):
        if not self.path.exists():
            return None
        return torch.load(self.path, map_location="cpu")

    def save(self, state: dict) -> None:
        buf = io.BytesIO()
        torch.save(state, buf)
        write_bytes_atomic(self.path, buf.getvalue())
