"""Loading a labelled calibration dataset (CSV or JSONL) with errors that name the file, the row and the fix."""
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import SeerInputError


@dataclass
class Row:
    row: int  # 1-based data row number (CSV: header excluded; JSONL: line number)
    text: str
    concept: str
    test: bool


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise SeerInputError(
            f"{path}: line {line}: bytes are not valid UTF-8 (byte offset {e.start}: {data[e.start:e.start + 4]!r}). "
            f"Re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 {path.name} > fixed.csv`.")


def _records(path: Path, text: str):
    """Yields (row number, dict) for CSV or JSONL."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise SeerInputError(f"{path}: line {i}: invalid JSON ({e.msg}); each line must be one JSON object.")
            if not isinstance(obj, dict):
                raise SeerInputError(f"{path}: line {i}: expected a JSON object, got {type(obj).__name__}.")
            yield i, obj
        return
    csv.field_size_limit(1 << 30)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        for i, rec in enumerate(reader, 1):
            yield i, rec
    except csv.Error as e:
        raise SeerInputError(f"{path}: CSV row near line {reader.line_num}: {e}; check quoting in that row.")


def _hashed_test(text: str, fraction: float) -> bool:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction


def load_labelled(path, text_column, concept_column, use="prompt", response_column="response",
                  split_column=None, test_fraction=0.2, flags=None):
    """Returns (rows, skipped: dict reason -> count). Raises SeerInputError on unusable input.
    text_column may be a list of columns (joined like prompt and response); flags maps a column to the
    command-line flag that names it, for the error messages of commands with other flag names (hf-train)."""
    text_columns = [text_column] if isinstance(text_column, str) else list(text_column)
    path = Path(path)
    if not path.exists():
        raise SeerInputError(f"{path}: file not found; pass --data with a CSV or JSONL file.")
    needed = [concept_column] + (text_columns if use in ("prompt", "both") else []) \
        + ([response_column] if use in ("response", "both") else []) + ([split_column] if split_column else [])
    flag = {**{c: "--text-column" for c in text_columns}, concept_column: "--concept-column",
            response_column: "--response-column", split_column: "--split-column", **(flags or {})}
    rows, skipped = [], {}
    for i, rec in _records(path, _decode(path)):
        missing = [c for c in needed if c not in rec]
        if missing:
            where = "the header" if path.suffix.lower() not in (".jsonl", ".ndjson") else f"line {i}"
            raise SeerInputError(
                f"{path}: {where} has no column {missing[0]!r} (columns: {', '.join(map(str, rec))}); "
                f"pass {flag[missing[0]]} NAME with one of those.")
        concept = str(rec[concept_column] if rec[concept_column] is not None else "").strip()
        if not concept:
            raise SeerInputError(f"{path}: row {i}: empty value in concept column {concept_column!r}; "
                                 "fill in the concept or delete the row.")
        parts = []
        if use in ("prompt", "both"):
            parts += [str(rec[c] or "") for c in text_columns]
        if use in ("response", "both"):
            parts.append(str(rec[response_column] or ""))
        text = "\n\n".join(p for p in parts if p.strip())  # as the engine joins them (datasetReader.ts TEXT_SEPARATOR)
        if not text.strip():
            skipped["emptyText"] = skipped.get("emptyText", 0) + 1
            continue
        test = (str(rec[split_column]).strip().lower() == "test") if split_column else _hashed_test(text, test_fraction)
        rows.append(Row(i, text, concept, test))
    concepts = sorted({r.concept for r in rows})
    if not rows:
        raise SeerInputError(f"{path}: no usable rows (an empty file, or all texts empty?); check {flag[text_columns[0]]}/--use.")
    if len(concepts) < 2:
        raise SeerInputError(f"{path}: only one concept ({concepts[0]!r}) in column {concept_column!r}; "
                             "calibration needs at least two concepts to compare.")
    for c in concepts:
        n_train = sum(1 for r in rows if r.concept == c and not r.test)
        if n_train == 0:
            first = next(r.row for r in rows if r.concept == c)
            raise SeerInputError(f"{path}: concept {c!r} (first at row {first}) has no held-in rows, so it gets no "
                                 "prototype; add more rows for it or mark fewer of them as test.")
    return rows, skipped
