"""fp16 / int8 weight storage: round-trip error bounds, per-channel scales, loading through Model."""

import numpy as np
import pytest

from pycore import Model, safetensors
from pycore.quantize import SCALE, QuantizationError, dequantize, int8, quantize


def test_int8_scales_are_per_output_channel():
    rng = np.random.default_rng(0)
    # channels of very different magnitude: one shared scale would flatten the small one to zero
    magnitude = np.array([1e-3, 1.0, 50.0], np.float32).reshape(3, 1, 1, 1)
    w = rng.standard_normal((3, 4, 3, 3)).astype(np.float32) * magnitude
    w[1, 0, 0, 0] = -7.0  # the largest magnitude may be negative
    q, scale = int8(w, axis=0)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (3, 1, 1, 1)
    np.testing.assert_allclose(scale.reshape(-1), np.abs(w).reshape(3, -1).max(axis=1) / 127, rtol=1e-6)
    assert np.abs(q).max() == 127 and q.min() >= -127
    err = np.abs(q * scale - w)
    assert (err <= scale / 2 + 1e-7 * np.abs(w)).all()
    assert (np.abs(q[0]) > 0).mean() > 0.9  # the small channel keeps its precision


def test_int8_zero_channel_and_other_axis():
    w = np.zeros((5, 2), np.float32)
    w[:, 1] = np.linspace(-2, 2, 5)
    q, scale = int8(w, axis=1)  # MatMul / Gemm without transB: outputs on the last axis
    assert scale.shape == (1, 2) and scale[0, 0] == 1.0 and not q[:, 0].any()
    np.testing.assert_allclose(q * scale, w, atol=2 / 127 / 2 + 1e-7)


def graph(transB=1):
    rng = np.random.default_rng(1)
    weights = {
        "conv.w": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
        "conv.b": rng.standard_normal(8).astype(np.float32),
        "fc.w": rng.standard_normal((10, 8) if transB else (8, 10)).astype(np.float32),
        "fc.b": rng.standard_normal(10).astype(np.float32),
    }
    doc = {
        "format": "pycore/1",
        "name": "tiny",
        "inputs": [{"name": "x", "shape": [1, 3, 6, 6]}],
        "outputs": ["y"],
        "labels": None,
        "nodes": [
            {"op": "Conv", "inputs": ["x", "conv.w", "conv.b"], "outputs": ["c"], "attrs": {"pads": [1] * 4}},
            {"op": "Relu", "inputs": ["c"], "outputs": ["r"]},
            {"op": "GlobalAveragePool", "inputs": ["r"], "outputs": ["p"]},
            {"op": "Flatten", "inputs": ["p"], "outputs": ["f"]},
            {"op": "Gemm", "inputs": ["f", "fc.w", "fc.b"], "outputs": ["y"], "attrs": {"transB": transB}},
        ],
    }
    return doc, weights


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize("transB", [0, 1])
def test_stored_formats_load_through_model(fmt, transB):
    doc, weights = graph(transB)
    stored = quantize(doc, weights, fmt)
    want_dtype = {"fp32": np.float32, "fp16": np.float16, "int8": np.int8}[fmt]
    assert stored["conv.w"].dtype == want_dtype and stored["fc.w"].dtype == want_dtype
    assert stored["conv.b"].dtype == np.float32 and stored["fc.b"].dtype == np.float32  # biases untouched
    if fmt == "int8":
        assert stored["conv.w" + SCALE].shape == (8, 1, 1, 1)
        assert stored["fc.w" + SCALE].shape == ((10, 1) if transB else (1, 10))
    blob = safetensors.write(stored)
    x = np.random.default_rng(2).standard_normal((1, 3, 6, 6)).astype(np.float32)
    ref = Model.from_bytes(doc, safetensors.write(weights)).run(x)
    got = Model.from_bytes(doc, blob).run(x)
    tol = {"fp32": 0, "fp16": 2e-2, "int8": 5e-2}[fmt]
    np.testing.assert_allclose(got, ref, atol=tol * np.abs(ref).max())
    quantized = [k for k in stored if k.startswith(("conv.w", "fc.w"))]
    ratio = sum(stored[k].nbytes for k in quantized) / (weights["conv.w"].nbytes + weights["fc.w"].nbytes)
    assert ratio <= {"fp32": 1, "fp16": 0.5, "int8": 0.4}[fmt]


def test_fp16_round_trip_bound():
    w = np.random.default_rng(3).standard_normal(1000).astype(np.float32)
    back = dequantize({"w": w.astype(np.float16)})["w"]
    assert back.dtype == np.float32
    assert (np.abs(back - w) <= np.abs(w) * 2.0**-11 + 2.0**-25).all()


def test_dequantize_rejects_inconsistent_files():
    q = np.zeros((4, 2), np.int8)
    with pytest.raises(QuantizationError, match="does not match its scale"):
        dequantize({"w": q, "w" + SCALE: np.ones((3, 1), np.float32)})
    with pytest.raises(QuantizationError, match="no int8 tensor"):
        dequantize({"v" + SCALE: np.ones((4, 1), np.float32)})
    with pytest.raises(QuantizationError, match="unknown weight format"):
        quantize(*graph(), "int4")
