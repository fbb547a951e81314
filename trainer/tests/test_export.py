import json

import onnx
import torch

from conftest import TINY
from seer_trainer.export import GOLDEN_PROMPTS, export_onnx, golden


def test_onnx_graph(tiny_model, tmp_path):
    sha = export_onnx(tiny_model, tmp_path / "model.onnx")
    assert len(sha) == 64
    m = onnx.load(str(tmp_path / "model.onnx"))
    onnx.checker.check_model(m)
    assert m.opset_import[0].version == 14
    assert [i.name for i in m.graph.input] == ["input_ids", "attention_mask"]
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.INT64 for i in m.graph.input)
    outs = {o.name: o.type.tensor_type.shape.dim for o in m.graph.output}
    assert list(outs) == ["logits", "hidden_states"]
    assert len(outs["logits"]) == 3 and outs["logits"][2].dim_value == TINY.vocab_size
    hs = outs["hidden_states"]
    assert len(hs) == 4 and hs[0].dim_value == TINY.num_layers + 1 and hs[3].dim_value == TINY.hidden_size
    assert hs[1].dim_param and hs[2].dim_param  # batch and seq stay dynamic


def test_golden_reproduces_with_torch(tiny_model, tok, tmp_path):
    g = json.loads(json.dumps(golden(tiny_model, tok, "User: {prompt}\nAssistant:", True, ["héllo 😀"])))
    assert [i["text"] for i in g["inputs"]] == GOLDEN_PROMPTS
    for inp, hs, last in zip(g["inputs"], g["hidden_states"], g["last_logits"]):
        assert inp["input_ids"][0] == tok.bos_id and inp["input_ids"][1:] == tok.encode(inp["templated"])
        out = tiny_model(torch.tensor([inp["input_ids"]]))
        ref = torch.stack(out.hidden_states)[:, 0]
        assert torch.tensor(hs).shape == ref.shape == (TINY.num_layers + 1, len(inp["input_ids"]), TINY.hidden_size)
        assert (torch.tensor(hs) - ref).abs().max() < 1e-6
        assert (torch.tensor(last) - out.logits[0, -1]).abs().max() < 1e-5
    assert g["tokenization"] == [{"text": "héllo 😀", "ids": tok.encode("héllo 😀")}]
