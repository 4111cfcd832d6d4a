"""Dtypes through conversion, model.json and the CPU path: integer and bool graph inputs, run-time
casts, comparisons and indices keep their dtypes; the WebGPU path refuses what it cannot hold."""

import asyncio

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import pycore
from pycore.errors import GraphError, PycoreError
from pycore.graph import Graph
from pycore.onnx import convert, save


def typed_model(nodes, inputs, outputs, inits=(), opset=13):
    """inputs and outputs: [(name, ONNX element type, shape)]."""
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        list(inits),
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def counted_model():
    """y = where(n > 2, n / 2, n) (int64, truncating), flags = not(b), top = argmin(x): int64, bool
    and float32 inputs, each of a dtype of its own on the way."""
    two = numpy_helper.from_array(np.array(2, np.int64), "two")
    nodes = [
        helper.make_node("Greater", ["n", "two"], ["big"]),
        helper.make_node("Div", ["n", "two"], ["half"]),
        helper.make_node("Where", ["big", "half", "n"], ["y"]),
        helper.make_node("Not", ["b"], ["flags"]),
        helper.make_node("ArgMin", ["x"], ["top"], axis=1, keepdims=0),
    ]
    inputs = [("n", TensorProto.INT64, [5]), ("b", TensorProto.BOOL, [3]), ("x", TensorProto.FLOAT, [2, 4])]
    outputs = [
        ("y", TensorProto.INT64, [5]),
        ("flags", TensorProto.BOOL, [3]),
        ("top", TensorProto.INT64, [2]),
    ]
    return typed_model(nodes, inputs, outputs, [two])


FEEDS = {
    "n": np.array([-7, 1, 3, 7, 10], np.int64),
    "b": np.array([True, False, True]),
    "x": np.array([[3, 1, 2, 1], [0, 5, -1, 4]], np.float32),
}


def test_dtypes_are_inferred_for_every_tensor():
    g = convert(counted_model())
    assert [(i.name, i.dtype) for i in g.inputs] == [("n", "int64"), ("b", "bool"), ("x", "float32")]
    assert {t: g.dtypes[t] for t in ("big", "half", "y", "flags", "top")} == {
        "big": "bool",
        "half": "int64",
        "y": "int64",
        "flags": "bool",
        "top": "int64",
    }


def test_integer_and_bool_tensors_keep_their_dtypes_through_model_json(tmp_path):
    save(convert(counted_model()), str(tmp_path / "m"))
    model = pycore.load(str(tmp_path / "m"))
    assert [i.dtype for i in model.inputs] == ["int64", "bool", "float32"]
    out = model.run(FEEDS)
    assert out["y"].dtype == np.int64 and out["y"].tolist() == [-7, 1, 1, 3, 5]  # 3 / 2 truncates to 1
    assert out["flags"].tolist() == [False, True, False]
    assert out["top"].dtype == np.int64 and out["top"].tolist() == [1, 2]  # the first of equal minima


def test_feeds_take_the_input_dtype():
    """A list of numbers for an int64 input arrives as int64, as a float32 model's does as float32."""
    model = pycore.Model.from_bytes(*_files(convert(counted_model())))
    out = model.run({"n": [4, 5, 6, 7, 8], "b": [True, True, False], "x": FEEDS["x"].tolist()})
    assert out["y"].tolist() == [2, 2, 3, 3, 4]


def test_run_time_cast_converts_to_the_target_dtype():
    m = typed_model(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.INT32)],
        [("x", TensorProto.FLOAT, [4])],
        [("y", TensorProto.INT32, [4])],
    )
    g = convert(m)
    assert [n.op for n in g.nodes] == ["Cast"] and g.dtypes["y"] == "int32"
    out = pycore.Model.from_bytes(*_files(g)).run(np.array([-1.5, 0.5, 2.7, 9.0], np.float32))
    assert out.dtype == np.int32 and out.tolist() == [-1, 0, 2, 9]


def test_a_dtype_pycore_lacks_is_refused_in_model_json():
    doc = {
        "format": "pycore/1",
        "inputs": [{"name": "x", "shape": [2], "dtype": "bfloat16"}],
        "outputs": ["x"],
        "nodes": [],
    }
    with pytest.raises(GraphError, match="tensor 'x' has dtype 'bfloat16'; pycore's are bool, float16"):
        Graph.from_json(doc, {})


def test_webgpu_refuses_what_it_cannot_hold_or_compute():
    """Before anything is planned (on a device that records, no GPU needed): the model falls back
    to the CPU path with this note."""
    from recording_device import RecordingDevice

    from pycore.webgpu import WebGPUBackend

    device = asyncio.run(RecordingDevice.open())

    def refusal(nodes, inputs, outputs, inits=()):
        with pytest.raises(PycoreError) as e:
            graph = convert(typed_model(nodes, inputs, outputs, inits))
            asyncio.run(WebGPUBackend.create(graph, device=device))
        return str(e.value)

    doubles = [("x", TensorProto.DOUBLE, [4])]
    neg = [helper.make_node("Neg", ["x"], ["y"])]
    assert "tensors only; tensor 'x' is float64" in refusal(neg, doubles, doubles)
    big = numpy_helper.from_array(np.array([1, 2**40], np.int64), "big")
    ints = [("n", TensorProto.INT64, [2])]
    add = [helper.make_node("Add", ["n", "big"], ["y"])]
    assert refusal(add, ints, ints, [big]) == (
        "the WebGPU path runs int64 tensors only where their values fit int32; "
        "tensor 'big' holds 1 .. 1099511627776"
    )
    pow_ = [helper.make_node("Pow", ["n", "n"], ["y"])]
    assert "runs Pow on float32 and float16 tensors only, not integer" in refusal(pow_, ints, ints)


def _files(graph):
    from tools import onnx_conformance

    return onnx_conformance.serialise(graph)
