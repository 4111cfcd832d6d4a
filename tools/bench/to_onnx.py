"""Writes a pycore model folder as an ONNX file, so peers run the very same graph and weights.

pycore's IR follows ONNX semantics, so the export is a rename: attributes that later opsets take
as inputs (Reshape shape, Clip bounds, Pad pads) become initializers. Weights are the dequantised
float32 values pycore itself runs. The check at the end compares onnxruntime with pycore's CPU path.

    python3 tools/bench/to_onnx.py dist/models/mnist dist/bench/mnist.onnx
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from pycore.graph import Graph
from pycore.model import read_weights

OPSET = 13
DROP = {"momentum", "storage_order", "seed", "ratio"}


def _as_inputs(node):
    """Initializers for attributes that opset 13 takes as inputs: [(name, array)]."""
    a = node.attrs
    if node.op == "Reshape":
        return [(f"{node.name}.shape", np.asarray(a.pop("shape"), np.int64))], {"allowzero"}
    if node.op == "Clip":
        return [
            (f"{node.name}.min", np.float32(a.pop("min"))),
            (f"{node.name}.max", np.float32(a.pop("max"))),
        ], set()
    if node.op == "Pad":
        pads = np.asarray(a.pop("pads"), np.int64)
        return [(f"{node.name}.pads", pads), (f"{node.name}.value", np.float32(a.pop("value")))], set()
    return [], set()


def export(folder, out):
    folder = Path(folder)
    weights = read_weights((folder / "weights.safetensors").read_bytes())
    graph = Graph.from_json((folder / "model.json").read_text(), weights)
    inits = [numpy_helper.from_array(np.asarray(w, np.float32), k) for k, w in graph.weights.items()]
    nodes = []
    for n in graph.nodes:
        op = "Identity" if n.op == "Dropout" else n.op
        extra, skip = _as_inputs(n)
        inits += [numpy_helper.from_array(v, k) for k, v in extra]
        attrs = {k: v for k, v in n.attrs.items() if k not in DROP | skip and v is not None}
        if op == "AveragePool" and set(attrs.get("dilations", [1])) == {1}:
            attrs.pop("dilations", None)  # an opset-19 attribute; all ones is the older default
        if op == "Identity":
            nodes.append(helper.make_node(op, n.inputs[:1], n.outputs, name=n.name))
            continue
        nodes.append(helper.make_node(op, n.inputs + [k for k, _ in extra], n.outputs, name=n.name, **attrs))
    inputs = [helper.make_tensor_value_info(i.name, TensorProto.FLOAT, list(i.shape)) for i in graph.inputs]
    outputs = [
        helper.make_tensor_value_info(t, TensorProto.FLOAT, list(graph.shapes[t])) for t in graph.outputs
    ]
    model = helper.make_model(
        helper.make_graph(nodes, graph.name, inputs, outputs, inits),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="pycore tools/bench/to_onnx.py",
        ir_version=8,  # what onnxruntime(-web) 1.30 reads
    )
    onnx.checker.check_model(model)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out)
    return model


def check(folder, out):
    """onnxruntime on the exported file must agree with pycore's CPU path."""
    import onnxruntime

    import pycore

    model = pycore.load(folder)
    x = np.random.default_rng(0).random(model.input.shape, dtype=np.float32)
    ours = model.run(x)
    theirs = onnxruntime.InferenceSession(str(out)).run(None, {model.input.name: x})[0]
    err = float(np.abs(ours - theirs).max())
    if err > 1e-4:
        raise SystemExit(f"{out}: onnxruntime and pycore differ by {err}")
    return err


if __name__ == "__main__":
    src, dst = sys.argv[1:3]
    export(src, dst)
    print(json.dumps({"onnx": dst, "max_abs_diff_vs_pycore": check(src, dst)}))
