"""Bad calibration input: exit code 2 and one clear line naming the file, row and fix; no traceback."""
import json

import pytest

from conftest import TINY
from seer_trainer.cli import main
from seer_trainer.export import manifest, write_manifest, write_seer_llama_graph


@pytest.fixture
def bundle(tiny_model, tok, tmp_path):
    d = tmp_path / "bundle"
    d.mkdir()
    graph = write_seer_llama_graph(tiny_model, d, log=lambda *_: None)  # no model.pt: calibrate reads the graph's weights
    tok.save(d / "tokenizer.json")
    write_manifest(d, manifest("t", "tiny", TINY, [1], "User: {prompt}\nAssistant:", True, 10, ["a", "b"], ["b"], graph, {}))
    return d


def run(bundle, data, capsys, *extra):
    code = main(["calibrate", "--bundle", str(bundle), "--data", str(data), "--concept-column", "value", *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_missing_column(bundle, tmp_path, capsys):
    code, err = run(bundle, write(tmp_path / "d.csv", "prompt,label\nhi,a\n"), capsys)
    assert code == 2 and "d.csv" in err and "'value'" in err and "--concept-column" in err and "prompt, label" in err


def test_one_concept(bundle, tmp_path, capsys):
    code, err = run(bundle, write(tmp_path / "d.csv", "prompt,value\nhi,a\nho,a\n"), capsys)
    assert code == 2 and "only one concept" in err and "'a'" in err


def test_empty_concept_value(bundle, tmp_path, capsys):
    code, err = run(bundle, write(tmp_path / "d.csv", "prompt,value\nhi,a\nho,\nhu,b\n"), capsys)
    assert code == 2 and "row 2" in err and "empty value" in err


def test_concept_without_held_in_rows(bundle, tmp_path, capsys):
    data = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in [
        {"prompt": "hi", "value": "a", "split": "train"}, {"prompt": "ho", "value": "b", "split": "test"}]))
    code, err = run(bundle, data, capsys, "--split-column", "split")
    assert code == 2 and "'b'" in err and "row 2" in err and "no held-in rows" in err


def test_non_utf8(bundle, tmp_path, capsys):
    data = write(tmp_path / "d.csv", b"prompt,value\nhi,a\ncaf\xe9,b\n")
    code, err = run(bundle, data, capsys)
    assert code == 2 and "line 3" in err and "UTF-8" in err and "iconv" in err


def test_bad_jsonl_line(bundle, tmp_path, capsys):
    code, err = run(bundle, write(tmp_path / "d.jsonl", '{"prompt": "x", "value": "a"}\n{oops\n'), capsys)
    assert code == 2 and "line 2" in err and "invalid JSON" in err


def test_too_long_rows_are_truncated_and_reported(bundle, tmp_path, capsys):
    rows = ["prompt,value"] + [f"{'word ' * (400 if i == 0 else 3)}{i},{'ab'[i % 2]}" for i in range(12)]
    out = tmp_path / "bank.json"
    code = main(["calibrate", "--bundle", str(bundle), "--data", str(write(tmp_path / "d.csv", "\n".join(rows))),
                 "--concept-column", "value", "--max-tokens", "64", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "1 rows longer than 64 tokens were truncated" in captured.out
    bank = json.loads(out.read_text())
    assert bank["source"]["truncated"] == 1 and bank["concepts"] == ["a", "b"]
    assert len(bank["layers"]) == TINY.num_layers + 1


def test_calibrate_registers_bank_in_manifest(bundle, tmp_path, capsys):
    rows = ["prompt,value"] + [f"text number {i},{'ab'[i % 2]}" for i in range(20)]
    code = main(["calibrate", "--bundle", str(bundle), "--data", str(write(tmp_path / "d.csv", "\n".join(rows))),
                 "--concept-column", "value", "--bank-name", "mine"])
    assert code == 0, capsys.readouterr().err
    m = json.loads((bundle / "seer.json").read_text())
    assert m["banks"]["mine"] == "banks/mine.json" and (bundle / "banks/mine.json").exists()
    assert json.loads((bundle / "banks/mine.json").read_text())["modelSha256"] == m["modelSha256"]


def test_missing_bundle(tmp_path, capsys):
    code = main(["calibrate", "--bundle", str(tmp_path / "nope"), "--data", "x.csv"])
    err = capsys.readouterr().err
    assert code == 2 and "seer.json not found" in err and "Traceback" not in err


def test_bad_build_config(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"pretrain": {"stepz": 3}}')
    code = main(["build-default", "--config", str(cfg), "--out", str(tmp_path / "o"), "--baseline-out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 2 and "c.json.pretrain" in err and "stepz" in err and "Traceback" not in err
