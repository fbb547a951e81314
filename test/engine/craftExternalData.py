"""Writes copies of an ONNX model whose tensor data lies in external data (used by hostileBundle.test.ts).

usage:
  craftExternalData.py move SRC OUT LOCATION {initializer|constant} DATA_OUT
      initializer: the first initializer's data moves to LOCATION (its bytes are written to DATA_OUT, so a
                   runtime that follows LOCATION from DATA_OUT's folder gets the same model).
      constant:    a Constant node whose value tensor lives at LOCATION is added to the graph.
      Prints the name of the tensor that points outside.
  craftExternalData.py externalize SRC OUT_DIR
      OUT_DIR/model.onnx with every initializer in OUT_DIR/model.onnx.data, as bundle format 2 writes a big
      model. Prints {"bytes": N, "sha256": "..."} of the data file.
  craftExternalData.py edit SRC OUT KEY=VALUE...
      The external_data entries of SRC's largest external initializer set to the given values (location,
      offset, length). Prints the tensor's name.
"""
import hashlib
import json
import os
import sys

import onnx
from onnx import helper

DATA_FILE = "model.onnx.data"


def set_external(tensor, entries):
    tensor.data_location = onnx.TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in entries.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def save_bytes(model, out):
    # Serialised by hand: onnx.save would write (or look for) the external data itself.
    with open(out, "wb") as f:
        f.write(model.SerializeToString())


def move(src, out, location, where, data_out):
    model = onnx.load(src)
    if where == "initializer":
        tensor = next(t for t in model.graph.initializer if t.raw_data)
        raw = tensor.raw_data
        tensor.ClearField("raw_data")
        set_external(tensor, {"location": location, "offset": "0", "length": str(len(raw))})
    else:
        tensor = helper.make_tensor("hostile_constant", onnx.TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
        raw = b"\0" * 16
        set_external(tensor, {"location": location, "offset": "0", "length": "16"})
        model.graph.node.append(helper.make_node("Constant", [], ["hostile_out"], value=tensor))
    with open(data_out, "wb") as f:
        f.write(raw)
    save_bytes(model, out)
    print(tensor.name)


def externalize(src, out_dir):
    model = onnx.load(src)
    onnx.save_model(model, os.path.join(out_dir, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location=DATA_FILE, size_threshold=0)
    data = open(os.path.join(out_dir, DATA_FILE), "rb").read()
    print(json.dumps({"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}))


def edit(src, out, *assignments):
    model = onnx.load(src, load_external_data=False)
    external = [t for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    length = lambda t: int(next(e.value for e in t.external_data if e.key == "length"))
    tensor = max(external, key=length)
    entries = {e.key: e.value for e in tensor.external_data}
    entries.update(a.split("=", 1) for a in assignments)
    set_external(tensor, entries)
    save_bytes(model, out)
    print(tensor.name)


if __name__ == "__main__":
    {"move": move, "externalize": externalize, "edit": edit}[sys.argv[1]](*sys.argv[2:])
