"""float16 models on the WebGPU path where the adapter has shader-f16 (lavapipe has it): tensors
held as f16, each kernel loading them into f32 and storing its result as f16, against the CPU
path's float16. Without the feature the model is refused by name and the CPU path runs it."""

import asyncio
import json

import numpy as np
import pytest
from gpu_harness import DEVICE, max_rel_error, node, on_both, run

from pycore.errors import PycoreError
from pycore.graph import Graph
from pycore.webgpu import WebGPUBackend
from pycore.webgpu.native import NativeDevice
from tests.faults import faulty
from tests.op_cases import CASES

# float16 keeps 11 significant bits (2^-11 = 4.9e-4 relative); the two paths round each kernel's
# result once but may sum in another order, and WGSL lets f32 -> f16 round either way
RTOL = 4e-3
# the training ops and Cast to int8 have no float16 form on the CPU path either
ONLY_FLOAT32 = {"BatchNormStats", "ConvGradInput", "ConvGradWeight", "MaxPoolGrad", "AveragePoolGrad"}


def half_graph(nodes, shapes, outputs=None):
    outputs = outputs or [t for n in nodes for t in n["outputs"]]
    doc = {
        "format": "pycore/1",
        "name": "float16",
        "inputs": [{"name": k, "shape": list(s), "dtype": "float16"} for k, s in shapes.items()],
        "outputs": outputs,
        "nodes": nodes,
    }
    return Graph.from_json(json.dumps(doc), {})


def feeds_for(shapes):
    rng = np.random.default_rng(3)
    return {k: rng.uniform(-2, 2, s).astype(np.float16) for k, s in shapes.items()}


def case_id(case):
    nodes, _ = case
    return (
        "+".join(n["op"] for n in nodes)
        + "-"
        + "-".join(f"{k}={v}" for k, v in nodes[0]["attrs"].items())[:40]
    )


HALF_CASES = [c for c in CASES if not {n["op"] for n in c[0]} & ONLY_FLOAT32]


def test_lavapipe_has_shader_f16():
    # the tests below would prove nothing on a device without it
    assert "shader-f16" in DEVICE.features


@pytest.mark.parametrize("case", HALF_CASES, ids=[case_id(c) for c in HALF_CASES])
def test_every_op_runs_on_float16_tensors(case):
    nodes, shapes = case
    g = half_graph(nodes, shapes)
    feeds = feeds_for(shapes)
    want, got = on_both(g, feeds)
    for t in g.outputs:
        assert got[t].dtype == want[t].dtype, f"{t}: GPU dtype {got[t].dtype}, CPU {want[t].dtype}"
        assert got[t].shape == want[t].shape
        w, v = want[t].astype(np.float64), got[t].astype(np.float64)
        assert np.array_equal(np.isnan(w), np.isnan(v)), f"{t}: NaN in different places"
        finite = ~np.isnan(w)
        error = max_rel_error(v[finite], w[finite])
        assert error <= RTOL, f"{t}: max error {error:.3g} relative to max |CPU| exceeds {RTOL}"


def test_a_float16_model_keeps_its_tensors_half_on_the_gpu():
    g = half_graph(
        [node("Conv", ["x", "w"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        {"x": (1, 3, 8, 8), "w": (4, 3, 3, 3)},
    )
    backend = asyncio.run(WebGPUBackend.create(g, device=DEVICE))
    try:
        assert {backend.elements[t] for t in ("x", "w", "y")} == {"f16"}
        assert all(dict(s.fill)["T"] == "f16" for s in backend.steps)
        feeds = feeds_for({"x": (1, 3, 8, 8), "w": (4, 3, 3, 3)})
        assert run(backend, feeds)["y"].dtype == np.float16
    finally:
        backend.close()


def test_float16_values_at_the_edges_of_its_range():
    # 65504 is float16's largest; doubled it overflows to inf on both paths, and the subnormals
    # (below 6.1e-5) survive a kernel's round trip through f32
    x = np.array([65504, -65504, 6e-8, -3e-5, 1e-4, 0, np.inf, -np.inf], np.float16)
    g = half_graph([node("Add", ["x", "x"], ["y"]), node("Mul", ["x", "h"], ["z"])], {"x": (8,), "h": (1,)})
    feeds = {"x": x, "h": np.array([0.5], np.float16)}
    want, got = on_both(g, feeds)
    for t in ("y", "z"):
        np.testing.assert_array_equal(got[t], want[t], err_msg=t)


def test_casts_to_and_from_float16_round_as_numpy_does():
    x = (np.random.default_rng(5).standard_normal(64) * 1000).astype(np.float32)
    doc = {
        "format": "pycore/1",
        "name": "casts",
        "inputs": [{"name": "x", "shape": [64], "dtype": "float32"}],
        "outputs": ["h", "back", "i"],
        "nodes": [
            node("Cast", ["x"], ["h"], to="float16"),
            node("Cast", ["h"], ["back"], to="float32"),
            node("Cast", ["h"], ["i"], to="int64"),
        ],
    }
    want, got = on_both(Graph.from_json(json.dumps(doc), {}), {"x": x})
    for t in ("h", "back", "i"):
        assert got[t].dtype == want[t].dtype, t
        np.testing.assert_array_equal(got[t], want[t], err_msg=t)


def test_without_shader_f16_a_float16_model_is_refused_by_name():
    dev = asyncio.run(faulty(NativeDevice, "no-f16").open())
    try:
        assert "shader-f16" not in dev.features
        g = half_graph([node("Relu", ["x"])], {"x": (4,)})
        with pytest.raises(
            PycoreError, match="float16 tensors only where the adapter has shader-f16.*tensor 'x'"
        ):
            asyncio.run(WebGPUBackend.create(g, device=dev))
    finally:
        dev.destroy()
