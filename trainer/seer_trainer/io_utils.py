"""Atomic file writes: write a temp file in the same folder, then rename over the target."""
import hashlib
import json
import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, obj, indent=None) -> None:
    """Without `indent`, compact (no spaces after separators, as the engine's JSON.stringify writes banks): machine
    files such as tokenizer.json and banks are a tenth smaller so."""
    separators = None if indent is not None else (",", ":")
    write_text_atomic(path, json.dumps(obj, indent=indent, separators=separators, ensure_ascii=False) + "\n")


def sha256_file(path) -> str:
    """The file's SHA-256 (hex), read in 1 MB chunks: weights files may be larger than memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
