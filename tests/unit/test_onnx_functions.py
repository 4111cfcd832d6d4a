"""ONNX ops pycore has no function for, converted through the function body ONNX defines them by
(pycore/onnx/functions.py)."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from pycore.cpu import CPUBackend
from pycore.onnx import ConversionError, convert


def one_node(op, shape, opset, inits=(), **attrs):
    """op(x, *inits) -> y; inits: [(name, array)]."""
    g = helper.make_graph(
        [helper.make_node(op, ["x", *(n for n, _ in inits)], ["y"], name="n", **attrs)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, n) for n, v in inits],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


X = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)


def test_an_op_defined_by_a_function_converts_to_its_body():
    g = convert(one_node("MeanVarianceNormalization", list(X.shape), 13))
    assert "MeanVarianceNormalization" not in {n.op for n in g.nodes} and len(g.nodes) > 3
    got = CPUBackend(g).run_sync({"x": X})["y"]
    mean = X.mean(axis=(0, 2, 3), keepdims=True)  # the schema's default axes, which the node leaves out
    want = (X - mean) / np.sqrt(((X - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_a_body_made_for_the_node_converts_too():
    """RMSNormalization's body depends on the node's input types (a context-dependent function)."""
    scale = np.linspace(0.5, 2, 5, dtype=np.float32)
    g = convert(one_node("RMSNormalization", list(X.shape), 23, [("scale", scale)], axis=-1))
    got = CPUBackend(g).run_sync({"x": X})["y"]
    want = X / np.sqrt((X * X).mean(axis=-1, keepdims=True) + 1e-5) * scale
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_an_op_without_a_body_is_still_refused_by_name():
    with pytest.raises(ConversionError, match=r"node 'n' \(TopK, opset 13\): op TopK is not supported"):
        convert(one_node("TopK", [4], 13))
