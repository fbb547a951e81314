"""Writes a copy of an ONNX model whose tensor data points outside the file (used by hostileBundle.test.ts).

usage: craftExternalData.py SRC OUT LOCATION {initializer|constant} DATA_OUT
  initializer: model.layers.0.attn_norm.weight's data moves to LOCATION (its bytes are written to DATA_OUT,
               so a runtime that follows LOCATION from DATA_OUT's folder gets the same model).
  constant:    a Constant node whose value tensor lives at LOCATION is added to the graph.
"""
import sys

import onnx
from onnx import helper


def make_external(tensor, location, length):
    tensor.data_location = onnx.TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", "0"), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def main(src, out, location, where, data_out):
    model = onnx.load(src)
    if where == "initializer":
        tensor = next(t for t in model.graph.initializer if t.name == "model.layers.0.attn_norm.weight")
        raw = tensor.raw_data
        tensor.ClearField("raw_data")
        make_external(tensor, location, len(raw))
    else:
        tensor = helper.make_tensor("hostile_constant", onnx.TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
        raw = b"\0" * 16
        make_external(tensor, location, 16)
        model.graph.node.append(helper.make_node("Constant", [], ["hostile_out"], value=tensor))
    with open(data_out, "wb") as f:
        f.write(raw)
    # Serialised by hand: onnx.save would write (or look for) the external data itself.
    with open(out, "wb") as f:
        f.write(model.SerializeToString())


if __name__ == "__main__":
    main(*sys.argv[1:6])
