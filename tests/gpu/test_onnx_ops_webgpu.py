"""ONNX ops of current image models, converted and run on the native WebGPU path, against
onnxruntime: those that map onto new IR ops (LayerNormalization, Mod, ReduceProd, the activations)
and those composed from existing ones (GroupNormalization, Einsum, Trilu, the composed reductions,
Clip with bounds computed at run time)."""

import asyncio

import numpy as np
import onnxruntime as ort
import pytest
from gpu_harness import DEVICE
from onnx import TensorProto, helper, numpy_helper

from pycore import passes
from pycore.cpu import CPUBackend
from pycore.onnx import convert
from pycore.webgpu import WebGPUBackend

RNG = np.random.default_rng(0)


def normal(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def one_node(op, inputs, consts, opset, attrs):
    names = [*inputs, *consts]
    g = helper.make_graph(
        [helper.make_node(op, names, ["y"], **attrs)],
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


ROW, GROUPS = {"s": normal(6), "b": normal(6)}, {"s": normal(2), "b": normal(2)}
BOUNDS = {"lo": np.array(-0.5, np.float32), "hi": np.array(0.3, np.float32)}
DIVISORS = np.array([1.5, -2.0, 0.7, -0.3], np.float32)
CASES = [
    ("LayerNormalization", {"x": normal(2, 5, 6, scale=3)}, ROW, 17, {"epsilon": 1e-3}),
    ("LayerNormalization", {"x": normal(2, 3, 2)}, {"s": normal(3, 2)}, 17, {"axis": 1}),
    ("GroupNormalization", {"x": normal(2, 6, 4, 5)}, ROW, 21, {"num_groups": 3}),
    ("GroupNormalization", {"x": normal(2, 6, 4, 5)}, GROUPS, 18, {"num_groups": 2}),
    ("Einsum", {"a": normal(2, 3, 4, 5), "b": normal(2, 3, 6, 5)}, {}, 12, {"equation": "bhqd,bhkd->bhqk"}),
    ("Einsum", {"a": normal(2, 3, 4), "b": normal(4, 5)}, {}, 12, {"equation": "bij,jk->bik"}),
    ("Einsum", {"a": normal(3, 4), "b": normal(3, 4)}, {}, 12, {"equation": "ij,ij->i"}),
    ("Einsum", {"a": normal(3, 4, 5)}, {}, 12, {"equation": "ijk->kj"}),
    ("Trilu", {"x": normal(2, 4, 5)}, {"k": np.array(1)}, 14, {"upper": 0}),
    ("Trilu", {"x": normal(4, 5)}, {}, 14, {}),
    ("ReduceLogSumExp", {"x": normal(3, 4, 5, scale=10)}, {"axes": np.array([1])}, 18, {}),
    ("ReduceL2", {"x": normal(3, 4, 5)}, {"axes": np.array([0, 2])}, 18, {"keepdims": 0}),
    ("ReduceL1", {"x": normal(3, 4, 5)}, {}, 18, {}),
    ("ReduceProd", {"x": 1 + 0.1 * normal(3, 4, 5)}, {"axes": np.array([2])}, 18, {}),
    ("ReduceMin", {"x": normal(3, 4, 5)}, {"axes": np.array([1])}, 18, {"keepdims": 0}),
    ("Clip", {"x": normal(3, 4), **BOUNDS}, {}, 13, {}),
    ("Mod", {"x": normal(3, 4, scale=5), "d": DIVISORS}, {}, 13, {"fmod": 1}),
    ("Gelu", {"x": normal(3, 40, scale=3)}, {}, 20, {}),
    ("HardSigmoid", {"x": normal(3, 40, scale=3)}, {}, 22, {"alpha": 0.3, "beta": 0.4}),
    ("Upsample", {"x": normal(1, 2, 3, 4)}, {"s": np.array([1, 1, 2, 3], np.float32)}, 9, {}),
]  # fmt: skip


def on_gpu(model, feeds):
    backend = asyncio.run(WebGPUBackend.create(passes.optimize(convert(model)), device=DEVICE))
    try:
        return asyncio.run(backend.run(feeds))
    finally:
        backend.close()


def _interpolates(case):
    """Nearest or linear, no antialias, no crop: the cases pycore converts."""
    attrs = {a.name: a for a in case.model.graph.node[0].attribute}
    if "mode" in attrs and attrs["mode"].s == b"cubic" or "antialias" in attrs and attrs["antialias"].i:
        return False
    return (
        "coordinate_transformation_mode" not in attrs
        or attrs["coordinate_transformation_mode"].s != b"tf_crop_and_resize"
    )


def test_resize_matches_the_node_suite():
    """The node suite's Resize and Upsample cases in nearest and linear, scales or sizes made
    constants, on WebGPU (tests/unit/test_onnx_ops.py runs them on the CPU path; node_suite.expected
    says why one expected output is the spec's rather than the suite's)."""
    from tools import onnx_conformance as conf
    from tools.conformance import node_suite

    cases = [c for c in node_suite.node_cases_of("Resize", "Upsample") if _interpolates(c)]
    for case in cases:
        model, feeds, expected = node_suite.folded(case)
        ok, err, why = conf.compare(list(on_gpu(model, feeds).values()), expected, case.rtol, case.atol)
        assert ok, f"{case.name}: {why} (max error {err})"
    assert len(cases) == 23


def test_resize_of_an_image_matches_the_cpu_path():
    x = normal(2, 3, 37, 41)
    consts = {"roi": np.zeros(0, np.float32), "s": np.array([1, 1, 1.7, 0.45], np.float32)}
    for attrs in ({"mode": "linear"}, {"mode": "nearest", "coordinate_transformation_mode": "asymmetric"}):
        model = one_node("Resize", {"x": x}, consts, 13, attrs)
        want = CPUBackend(passes.optimize(convert(model))).run_sync({"x": x})["y"]
        np.testing.assert_allclose(on_gpu(model, {"x": x})["y"], want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "op, inputs, consts, opset, attrs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_converted_op_matches_onnxruntime(op, inputs, consts, opset, attrs):
    m = one_node(op, inputs, consts, opset, attrs)
    (want,) = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, inputs
    )
    np.testing.assert_allclose(on_gpu(m, inputs)["y"], want, rtol=1e-4, atol=1e-5)
