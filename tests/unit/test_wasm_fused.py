"""The CPU path's Conv, Gemm, MatMul and convolution weight gradient on the wasm GEMM kernels
(pycore/cpu/fused.py), natively: the same .wasm modules run through wasmtime (wasm_harness), each
op against the numpy kernel it replaces, across the forms it takes and those it hands back to
numpy, then whole models.

The tolerance is float32's: the kernel sums K products in another order than numpy's (and the
relaxed one may fuse), so results agree to a few units of roundoff times K, scaled by the values.
"""

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from pycore import Model, safetensors
from pycore.cpu import KERNELS, CPUBackend, fused, wasm
from pycore.graph import Graph
from pycore.model import read_weights
from pycore.zoo import efficientnet_lite as lite
from tests.unit import graphs
from tests.unit.test_efficientnet import synthetic_state_dict
from tests.unit.wasm_harness import Kernel, Memory, assembled

WASM = assembled()
ROOT = Path(__file__).resolve().parents[2]


def through(gemm, calls):
    """Runners, as wasm.fused_kernels gives them, on wasmtime-run modules (the GEMM named, the
    depthwise, the im2col and the pool one) sharing one stand-in for Pyodide's memory: each call copies the
    arrays its pointers fall in, and copies back those it writes; each is logged in calls."""
    memory = Memory()
    runners = {"address": memory.address}
    for key, module, reads, writes in [
        ("gemm", gemm, (0, 2, 9, 11), (4,)),
        ("depthwise", wasm.DEPTHWISE, (0, 1, 2), (3, 4)),
        ("im2col", wasm.IM2COL, (0,), (14,)),
        ("pool", wasm.POOL, (0,), (14,)),
    ]:
        runners[key] = memory.calling(Kernel(WASM[module], pages=1024), key, reads, writes, calls)
    return runners


@pytest.fixture(scope="module", params=wasm.GEMM)
def ops(request):
    calls = []
    table = fused.kernels(through(request.param, calls))
    table["calls"] = calls
    return table


def assert_close(got, want, k):
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    bound = 8 * (k + 3) * 2.0**-24 * (np.abs(want) + 1)
    bad = ~(np.abs(got - want) <= bound)
    assert not bad.any(), f"{bad.sum()} of {bad.size} differ, worst {np.abs(got - want).max()}"


def conv_attrs(k, stride=1, pad=0, dilation=1, group=1, dims=2, **act):
    return {
        "kernel_shape": [k] * dims,
        "strides": [stride] * dims,
        "dilations": [dilation] * dims,
        "pads": [pad] * (2 * dims),
        "group": group,
        **act,
    }


RELU6 = {"activation": "Clip", "act_min": 0.0, "act_max": 6.0}
CONVS = {
    "1x1": (conv_attrs(1), (1, 16, 9, 7), 24),
    "3x3 pad": (conv_attrs(3, pad=1, activation="Relu"), (1, 3, 11, 13), 8),
    "3x3 stride 2 relu6": (conv_attrs(3, stride=2, pad=1, **RELU6), (2, 5, 15, 14), 7),
    "5x5 dilated": (conv_attrs(5, pad=2, dilation=2), (1, 4, 12, 12), 6),
    "1-d": (conv_attrs(3, pad=1, dims=1, activation="Relu"), (2, 6, 17), 5),
    "sigmoid after the kernel": (conv_attrs(3, pad=1, activation="Sigmoid"), (1, 3, 8, 8), 4),
    "hard-swish after the kernel": (conv_attrs(3, pad=1, activation="HardSwish"), (1, 3, 8, 8), 4),
    "depthwise gelu after the kernel": (conv_attrs(3, pad=1, group=6, activation="Gelu"), (1, 6, 9, 8), 6),
    "groups 2": (conv_attrs(3, pad=1, group=2), (1, 4, 8, 8), 6),
    "groups 3 1x1 (ShuffleNet's)": (conv_attrs(1, group=3, activation="Relu"), (2, 12, 7, 9), 15),
    "groups 4 3x3 stride 2": (conv_attrs(3, stride=2, pad=1, group=4, **RELU6), (1, 8, 11, 10), 12),
    "depthwise 3x3": (conv_attrs(3, pad=1, group=6, **RELU6), (1, 6, 13, 11), 6),
    "depthwise 3x3 stride 2": (conv_attrs(3, stride=2, pad=1, group=5, activation="Relu"), (2, 5, 14, 15), 5),
    "depthwise 5x5": (conv_attrs(5, pad=2, group=4), (1, 4, 9, 10), 4),
    "depthwise 5x5 stride 2 uneven pads": (
        {**conv_attrs(5, stride=2, group=7, **RELU6), "pads": [1, 1, 2, 2]},
        (1, 7, 28, 28),
        7,
    ),
    "depthwise 3x3 unpadded": (conv_attrs(3, group=3), (1, 3, 10, 9), 3),
    "depthwise 3x3 stride 2 end pads only": (
        {**conv_attrs(3, stride=2, group=5, **RELU6), "pads": [0, 0, 1, 1]},
        (1, 5, 15, 13),
        5,
    ),
    "depthwise 5x5 on 7x7": (conv_attrs(5, pad=2, group=9, activation="Relu"), (2, 9, 7, 7), 9),
    "depthwise 5x5 stride 2 on 3x5, pads wider than the image": (
        conv_attrs(5, stride=2, pad=2, group=3),
        (1, 3, 3, 5),
        3,
    ),
    "one channel a group, dilated": (conv_attrs(3, pad=2, dilation=2, group=3), (1, 3, 9, 9), 3),
    "one channel a group, 7x7": (conv_attrs(7, pad=3, group=3), (1, 3, 9, 9), 3),
}


@pytest.mark.parametrize("case", list(CONVS))
@pytest.mark.parametrize("extras", ["bias", "bias+residual", "none"])
def test_conv_matches_numpy(ops, case, extras):
    check_conv(ops, case, extras)


def check_conv(ops, case, extras):
    """The conv case on the kernel table's entry against numpy: (calls it made)."""
    a, shape, m = CONVS[case]
    rng = np.random.default_rng(len(case))
    x = rng.standard_normal(shape, np.float32)
    w = rng.standard_normal((m, shape[1] // a["group"], *a["kernel_shape"]), np.float32)
    b = rng.standard_normal(m, np.float32) if extras != "none" else None
    want = KERNELS["Conv"](a, x, w, b)
    r = rng.standard_normal(want.shape, np.float32) if extras == "bias+residual" else None
    if r is not None:
        want = KERNELS["Conv"](a, x, w, b, r.copy())
    before = len(ops["calls"])
    got = ops["Conv"](a, x, w, b, None if r is None else r.copy())
    assert_close(got, want, w[0].size)
    assert set(ops["calls"][before:]) == kernels_run(case, r is not None)
    return ops["calls"][before:]


@pytest.fixture
def small_blocks(monkeypatch):
    """Cache blocks of 128 floats of B, 8 rows deep: every case below runs in several panels and K
    blocks, with ragged last ones, as a large conv does with the real sizes."""
    monkeypatch.setattr(fused, "PANEL", 512)
    monkeypatch.setattr(fused, "K_BLOCK", 8)


GEMM_CONVS = [c for c in CONVS if not c.startswith("depthwise")]


@pytest.mark.parametrize("case", GEMM_CONVS)
@pytest.mark.parametrize("extras", ["bias+residual", "none"])
def test_conv_in_cache_blocks_matches_numpy(ops, small_blocks, case, extras):
    a, shape, _ = CONVS[case]
    calls = check_conv(ops, case, extras)
    assert calls.count("gemm") > shape[0] * a["group"]  # more than one call per image and group


@pytest.mark.parametrize("case", ["3x3 pad", "3x3 stride 2 relu6", "1x1", "groups 4 3x3 stride 2"])
@pytest.mark.parametrize("extras", ["bias+residual", "none"])
def test_planned_conv_in_cache_blocks_matches_numpy_run_after_run(small_blocks, case, extras):
    check_planned_conv(case, extras)


def test_blocks_cover_the_gemm_once_with_bias_first_and_the_clip_last():
    a, b = np.zeros((3, 600)), np.zeros((600, 500))
    c, bias, r = np.zeros((3, 500)), np.zeros(3), np.zeros((3, 500))
    blocks = list(fused._blocks(a, b, c, bias, r, 0.0, 6.0))
    assert len(blocks) == 3 * 2  # K in 256 + 256 + 88; 500 columns in panels of 256 (256 KB / 1 KB)
    seen = np.zeros((600, 500), int)
    for ab, bb, cb, biasb, rb, lo, hi in blocks:
        k0, j0 = divmod((bb.ctypes.data - b.ctypes.data) // b.itemsize, 500)
        seen[k0 : k0 + bb.shape[0], j0 : j0 + bb.shape[1]] += 1
        first, last = k0 == 0, k0 + bb.shape[0] == 600
        assert ab.shape[1] == bb.shape[0] and cb.shape == (3, bb.shape[1])
        assert (biasb is bias) == first and (lo, hi) == ((0.0, 6.0) if last else (-math.inf, math.inf))
        assert np.shares_memory(rb, r) == first and np.shares_memory(rb, c) == (not first)
    assert (seen == 1).all()


def kernels_run(case, residual):
    """The kernels a conv case calls: the depthwise one where it fits, else one GEMM per group, on
    im2col's columns unless the conv is 1x1 (it multiplies the input itself)."""
    if case.startswith("depthwise") and not residual:
        return {"depthwise"}
    return {"gemm"} | (set() if "1x1" in case else {"im2col"})


@pytest.mark.parametrize("case", ["1x1", "3x3 pad", "3x3 stride 2 relu6", "5x5 dilated", "1-d", "groups 2"])
def test_conv_weight_gradient_matches_numpy(ops, case):
    a, shape, m = CONVS[case]
    rng = np.random.default_rng(len(case))
    x = rng.standard_normal(shape, np.float32)
    a = {**a, "shape": [m, shape[1] // a["group"], *a["kernel_shape"]]}
    dy = rng.standard_normal(KERNELS["Conv"](a, x, np.zeros(a["shape"], np.float32)).shape, np.float32)
    want = KERNELS["ConvGradWeight"](a, x, dy)
    before = len(ops["calls"])
    got = ops["ConvGradWeight"](a, x, dy)
    assert_close(got, want, dy.size // m)
    assert (len(ops["calls"]) > before) == (a["group"] == 1)  # a grouped one runs on numpy


GEMMS = {
    "linear (transB), one row": (dict(transB=1), (1, 40), (10, 40), "column"),
    "linear (transB), three rows, relu": (dict(transB=1, activation="Relu"), (3, 40), (10, 40), "column"),
    "plain": (dict(), (5, 9), (9, 13), "column"),
    "transA": (dict(transA=1), (9, 5), (9, 13), None),
    "transA transB relu6": (dict(transA=1, transB=1, **RELU6), (9, 5), (13, 9), "column"),
    "linear gelu (tanh) after the kernel": (
        dict(transB=1, activation="Gelu", act_approximate="tanh"),
        (3, 40),
        (10, 40),
        "column",
    ),
    "full c: numpy": (dict(), (5, 9), (9, 13), "full"),
    "alpha: numpy": (dict(alpha=0.5), (5, 9), (9, 13), "column"),
}


@pytest.mark.parametrize("case", list(GEMMS))
@pytest.mark.parametrize("residual", [False, True])
def test_gemm_matches_numpy(ops, case, residual):
    extra, xs, ws, c = GEMMS[case]
    a = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0, **extra}
    rng = np.random.default_rng(len(case))
    x, w = rng.standard_normal(xs, np.float32), rng.standard_normal(ws, np.float32)
    n = ws[0] if a["transB"] else ws[1]
    m = xs[1] if a["transA"] else xs[0]
    bias = {
        None: None,
        "column": rng.standard_normal(n, np.float32),
        "full": rng.standard_normal((m, n), np.float32),
    }[c]
    r = rng.standard_normal((m, n), np.float32) if residual else None
    want = KERNELS["Gemm"](a, x, w, bias, None if r is None else r.copy())
    before = len(ops["calls"])
    got = ops["Gemm"](a, x, w, bias, None if r is None else r.copy())
    assert_close(got, want, xs[0] if a["transA"] else xs[1])
    assert (len(ops["calls"]) > before) == ("numpy" not in case)


@pytest.mark.parametrize(
    "xs, ws, rs",
    [
        ((4, 7), (7, 5), None),
        ((2, 3, 7), (7, 9), (2, 3, 9)),
        ((1, 1, 16), (16, 1), (1,)),
        ((2, 3, 4), (2, 4, 5), None),
    ],
)
def test_matmul_matches_numpy(ops, xs, ws, rs):
    rng = np.random.default_rng(len(xs))
    x, w = rng.standard_normal(xs, np.float32), rng.standard_normal(ws, np.float32)
    r = None if rs is None else rng.standard_normal(rs, np.float32)
    want = KERNELS["MatMul"]({}, x, w, None if r is None else r.copy())
    before = len(ops["calls"])
    got = ops["MatMul"]({}, x, w, r)
    assert_close(got, want, xs[-1])
    assert (len(ops["calls"]) > before) == (len(ws) == 2)


def pool_attrs(k, stride, pad=0, dilation=1, ceil=0, dims=2):
    return {
        "kernel_shape": [k] * dims,
        "strides": [stride] * dims,
        "dilations": [dilation] * dims,
        "pads": [pad] * (2 * dims),
        "ceil_mode": ceil,
        "storage_order": 0,
    }


# (op, extra attributes) of each pool the kernel computes
POOL_OPS = {
    "max": ("MaxPool", {}),
    "mean": ("AveragePool", {"count_include_pad": 0}),
    "mean with pads": ("AveragePool", {"count_include_pad": 1}),
}


def pool_attrs_of(kind, a):
    """A pool case's attributes for this kind of pool (AveragePool has no storage_order)."""
    op, extra = POOL_OPS[kind]
    return op, {k: v for k, v in {**a, **extra}.items() if op == "MaxPool" or k != "storage_order"}


def assert_pooled(op, got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    if op == "MaxPool":
        np.testing.assert_array_equal(got, want)
    else:  # a mean of O(1) values, summed in another order: float32 roundoff
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


POOLS = {
    "2x2 stride 2 (MNIST's, VGG's)": (pool_attrs(2, 2), (1, 16, 28, 28)),
    "3x3 stride 2 pad 1 (ResNet's)": (pool_attrs(3, 2, pad=1), (2, 3, 15, 14)),
    "3x3 stride 1 pad 1 (Inception's)": (pool_attrs(3, 1, pad=1), (1, 5, 9, 8)),
    "3x3 stride 2 ceil_mode (SqueezeNet's)": (pool_attrs(3, 2, ceil=1), (1, 4, 14, 13)),
    "dilated, uneven pads": ({**pool_attrs(2, 1, dilation=2), "pads": [1, 0, 0, 2]}, (1, 3, 9, 10)),
    "1-d": (pool_attrs(3, 2, pad=1, dims=1), (2, 4, 17)),
    "5x5 stride 2 on 3x5, pads wider than the image": (pool_attrs(5, 2, pad=2), (1, 3, 3, 5)),
}


def pool_input(shape, rng, op="MaxPool"):
    """Values with ties, and for a max an infinity and a NaN, which the kernel must treat as
    np.maximum does."""
    x = rng.integers(-3, 4, shape).astype(np.float32)
    if op == "MaxPool":
        x.reshape(-1)[[1, 7]] = -np.inf, np.nan
    return x


@pytest.mark.parametrize("case", list(POOLS))
@pytest.mark.parametrize("kind", list(POOL_OPS))
def test_pool_matches_numpy(ops, kind, case):
    a, shape = POOLS[case]
    op, a = pool_attrs_of(kind, a)
    x = pool_input(shape, np.random.default_rng(len(case)), op)
    before = len(ops["calls"])
    assert_pooled(op, ops[op](a, x), KERNELS[op](a, x))
    assert ops["calls"][before:] == ["pool"] * shape[0]  # one call per image


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pools_of_other_dtypes_run_on_numpy(ops, op):
    a, shape = POOLS["2x2 stride 2 (MNIST's, VGG's)"]
    a = {**a, "count_include_pad": 0}
    x = np.arange(np.prod(shape)).reshape(shape).astype(np.float16)
    before = len(ops["calls"])
    np.testing.assert_array_equal(ops[op](a, x), KERNELS[op](a, x))
    assert len(ops["calls"]) == before


@pytest.mark.parametrize("case", list(POOLS))
@pytest.mark.parametrize("kind", list(POOL_OPS))
def test_planned_pool_matches_numpy_run_after_run(kind, case):
    a, shape = POOLS[case]
    op, a = pool_attrs_of(kind, a)
    rng = np.random.default_rng(len(case))
    feeds = {"x": pool_input(shape, rng, op)}
    backend, calls, prepared = planned(op, a, feeds, {}, ["x"])
    assert prepared
    first, second, again = run_twice(backend, feeds, rng)
    for got, fed in [(first, feeds), (second, again)]:
        assert_pooled(op, got, KERNELS[op](a, fed["x"]))
    assert calls == ["pool"] * shape[0] * 2


def test_clip_bounds_cover_what_the_kernel_clips_and_nothing_else():
    assert fused.clip_bounds({}) == ((-math.inf, math.inf), None)
    assert fused.clip_bounds({"activation": "Relu"}) == ((0.0, math.inf), None)
    assert fused.clip_bounds(RELU6) == ((0.0, 6.0), None)
    assert fused.clip_bounds({"activation": "Clip", "act_min": -1.0}) == ((-1.0, math.inf), None)
    clip, after = fused.clip_bounds({"activation": "LeakyRelu", "act_alpha": 0.1})
    assert clip == (-math.inf, math.inf)
    np.testing.assert_array_equal(after(np.array([-2.0, 3.0], np.float32)), np.array([-0.2, 3.0], np.float32))


def test_matmul_with_gelu_runs_the_kernel_then_gelu():
    """ViT's MLP: MatMul with its GELU fused stays on the kernel, GELU after it."""
    calls, x, w = [], np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4), np.eye(4, dtype=np.float32)
    got = fused.kernels(through(wasm.GEMM[0], calls))["MatMul"]({"activation": "Gelu"}, x, w)
    np.testing.assert_allclose(got, KERNELS["Gelu"]({"approximate": "none"}, x), rtol=1e-6)
    assert calls == ["gemm"]


def planned(op, attrs, feeds, weights, inputs, gemm=wasm.GEMM[0], nodes=None):
    """A one-node graph of op (or the nodes given) on the plan, through wasmtime: (backend, the
    kernels' call log, whether the op's node was prepared rather than left to its table entry)."""
    text = json.dumps(
        graphs.doc(nodes or [graphs.node(op, inputs, **attrs)], {k: v.shape for k, v in feeds.items()})
    )
    graph, calls = Graph.from_json(text, read_weights(safetensors.write(weights))), []
    backend = CPUBackend(graph, through(gemm, calls))
    return backend, calls, not isinstance(backend.plan[0][0], functools.partial)


def run_twice(backend, feeds, rng):
    """Two runs on other inputs of the same shapes: (first result, second result, second feeds);
    the first must still hold its values after the second ran (outputs are handed out, not lent)."""
    first = backend.run_sync(feeds)["y"]
    kept = first.copy()
    again = {k: rng.standard_normal(v.shape, np.float32) for k, v in feeds.items()}
    second = backend.run_sync(again)["y"]
    np.testing.assert_array_equal(first, kept)
    return first, second, again


@pytest.mark.parametrize("case", list(CONVS))
@pytest.mark.parametrize("extras", ["bias", "bias+residual", "none"])
def test_planned_conv_matches_numpy_run_after_run(case, extras):
    check_planned_conv(case, extras)


def check_planned_conv(case, extras):
    a, shape, m = CONVS[case]
    rng = np.random.default_rng(len(case))
    x = rng.standard_normal(shape, np.float32)
    weights = {"w": rng.standard_normal((m, shape[1] // a["group"], *a["kernel_shape"]), np.float32)}
    if extras != "none":
        weights["b"] = rng.standard_normal(m, np.float32)
    feeds = {"x": x}
    if extras == "bias+residual":
        feeds["r"] = rng.standard_normal(KERNELS["Conv"](a, x, weights["w"]).shape, np.float32)
    inputs = ["x", "w", "b" if "b" in weights else "", *(["r"] if "r" in feeds else [])]
    backend, calls, prepared = planned("Conv", a, feeds, weights, inputs)
    assert prepared
    first, second, again = run_twice(backend, feeds, rng)
    for got, fed in [(first, feeds), (second, again)]:
        want = KERNELS["Conv"](a, fed["x"], weights["w"], weights.get("b"), fed.get("r"))
        assert_close(got, want, weights["w"][0].size)
    assert set(calls) == kernels_run(case, "r" in feeds)


def models():
    doc, weights = lite.build(synthetic_state_dict())
    mnist = ROOT / "models/mnist"
    rng = np.random.default_rng(0)
    return {
        "mnist": (
            (mnist / "model.json").read_text(),
            (mnist / "weights.safetensors").read_bytes(),
            rng.random((1, 1, 28, 28), np.float32),
        ),
        "efficientnet-lite0 (random weights)": (
            json.dumps(doc) if not isinstance(doc, str) else doc,
            safetensors.write(weights),
            rng.uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32),
        ),
    }


@pytest.mark.parametrize("name", ["gemm_simd", "gemm_relaxed"])
def test_whole_models_match_the_numpy_path(name):
    for model, (doc, blob, x) in models().items():
        graph, calls = Model.from_bytes(doc, blob).graph, []
        feeds = {graph.inputs[0].name: x}
        want = CPUBackend(graph, "numpy").run_sync(feeds)
        got = CPUBackend(graph, through(name, calls)).run_sync(feeds)
        assert "gemm" in calls, f"{model}: the kernel never ran"
        assert ("depthwise" in calls) == ("efficientnet" in model), model
        assert ("pool" in calls) == ("mnist" in model), model
        for t in graph.outputs:
            scale = np.abs(want[t]).max() + 1e-6
            err = np.abs(got[t] - want[t]).max() / scale
            assert err <= 1e-4, f"{model} {t}: relative error {err}"


def test_natively_the_cpu_path_stays_on_numpy_and_says_so():
    backend = CPUBackend(Model.from_bytes(*models()["mnist"][:2]).graph)
    assert backend.note == "CPU: numpy (no wasm SIMD: wasm kernels run in Pyodide only)"
    assert wasm.fused_kernels("numpy") == ({}, "CPU: numpy (no wasm SIMD: numpy asked for)")
    with pytest.raises(Exception, match="unknown CPU kernels 'fast'"):
        wasm.fused_kernels("fast")


@pytest.mark.parametrize("case", list(GEMMS))
@pytest.mark.parametrize("residual", [False, True])
def test_planned_gemm_matches_numpy_run_after_run(case, residual):
    extra, xs, ws, c = GEMMS[case]
    a = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0, **extra}
    rng = np.random.default_rng(len(case))
    n, m = ws[0] if a["transB"] else ws[1], xs[1] if a["transA"] else xs[0]
    weights = {"w": rng.standard_normal(ws, np.float32)}
    if c:
        weights["c"] = rng.standard_normal(n if c == "column" else (m, n), np.float32)
    feeds = {"x": rng.standard_normal(xs, np.float32)}
    if residual:
        feeds["r"] = rng.standard_normal((m, n), np.float32)
    inputs = ["x", "w", "c" if c else "", *(["r"] if residual else [])]
    backend, calls, prepared = planned("Gemm", a, feeds, weights, inputs)
    assert prepared == ("numpy" not in case and not a["transA"])
    first, second, again = run_twice(backend, feeds, rng)
    for got, fed in [(first, feeds), (second, again)]:
        want = KERNELS["Gemm"](a, fed["x"], weights["w"], weights.get("c"), fed.get("r"))
        assert_close(got, want, xs[0] if a["transA"] else xs[1])
    assert bool(calls) == ("numpy" not in case)


@pytest.mark.parametrize("xs, ws, rs", [((4, 7), (7, 5), None), ((2, 3, 7), (7, 9), (2, 3, 9))])
def test_planned_matmul_matches_numpy_run_after_run(xs, ws, rs):
    rng = np.random.default_rng(len(xs))
    weights, feeds = {"w": rng.standard_normal(ws, np.float32)}, {"x": rng.standard_normal(xs, np.float32)}
    if rs:
        feeds["r"] = rng.standard_normal(rs, np.float32)
    backend, calls, prepared = planned(
        "MatMul", {"activation": "Relu"}, feeds, weights, ["x", "w", *(["r"] if rs else [])]
    )
    assert prepared and calls == []
    first, second, again = run_twice(backend, feeds, rng)
    for got, fed in [(first, feeds), (second, again)]:
        want = KERNELS["MatMul"]({"activation": "Relu"}, fed["x"], weights["w"], fed.get("r"))
        assert_close(got, want, xs[-1])
    assert calls == ["gemm", "gemm"]  # one call a run


def test_an_output_that_views_a_planned_buffer_is_handed_out_as_a_copy():
    """Flatten's result is a view of the conv's planned output: the next run must not change it."""
    a, shape, m = CONVS["1x1"]
    rng = np.random.default_rng(1)
    weights, feeds = (
        {"w": rng.standard_normal((m, shape[1], 1, 1), np.float32)},
        {"x": np.ones(shape, np.float32)},
    )
    nodes = [
        graphs.node("Conv", ["x", "w"], ["t"], **a),
        graphs.node("Flatten", ["t"], ["y"], axis=1),
    ]
    backend, calls, prepared = planned(None, None, feeds, weights, None, nodes=nodes)
    assert prepared
    first, second, again = run_twice(backend, feeds, rng)
    want = KERNELS["Flatten"]({"axis": 1}, KERNELS["Conv"](a, again["x"], weights["w"]))
    assert_close(second, want, shape[1])


def test_a_planned_model_fed_another_shape_runs_its_kernel_table():
    """The plan is made for the shapes known at load; a batch of two takes the per-call kernels."""
    graph = Model.from_bytes(*models()["mnist"][:2]).graph
    x = np.random.default_rng(0).random((2, 1, 28, 28), np.float32)
    calls = []
    got = CPUBackend(graph, through(wasm.GEMM[0], calls)).run_sync({graph.inputs[0].name: x})
    want = CPUBackend(graph, "numpy").run_sync({graph.inputs[0].name: x})
    for t in graph.outputs:
        np.testing.assert_allclose(got[t], want[t], rtol=1e-4, atol=1e-6)
    assert "gemm" in calls


def test_unplanned_every_node_runs_its_kernel_table_entry():
    """planned=False (the benchmark's comparison) prepares nothing and gives the same results."""
    graph = Model.from_bytes(*models()["mnist"][:2]).graph
    feeds = {graph.inputs[0].name: models()["mnist"][2]}
    planned_, unplanned = (CPUBackend(graph, through(wasm.GEMM[0], []), planned=p) for p in (True, False))
    assert all(isinstance(run, functools.partial) for run, *_ in unplanned.plan)
    assert not all(isinstance(run, functools.partial) for run, *_ in planned_.plan)
    for t, y in planned_.run_sync(feeds).items():
        np.testing.assert_allclose(y, unplanned.run_sync(feeds)[t], rtol=1e-5, atol=1e-7)


def test_an_output_buffer_is_shared_only_once_nothing_can_read_it():
    """Conv a's output is read through Flatten's view after conv b ran: b must not take a's buffer,
    as it would if a's last direct reader (Flatten) were all that counted. Nor may c: Add and
    Reshape may hand back views too, for all the plan knows, so a's buffer is read up to c."""
    a, shape, m = CONVS["1x1"]
    rng = np.random.default_rng(2)
    weights = {k: rng.standard_normal((m, shape[1], 1, 1), np.float32) for k in ("wa", "wb", "wc")}
    weights["wc"] = rng.standard_normal((m, m, 1, 1), np.float32)
    nodes = [
        graphs.node("Conv", ["x", "wa"], ["ta"], name="a", **a),
        graphs.node("Flatten", ["ta"], ["fa"], axis=1),
        graphs.node("Conv", ["x", "wb"], ["tb"], name="b", **a),
        graphs.node("Flatten", ["tb"], ["fb"], name="flatten_b", axis=1),
        graphs.node("Add", ["fa", "fb"], ["s"]),
        graphs.node("Reshape", ["s"], ["t"], shape=[shape[0], m, *shape[2:]]),
        graphs.node("Conv", ["t", "wc"], ["y"], name="c", **a),
    ]
    feeds = {"x": rng.standard_normal(shape, np.float32)}
    backend, calls, _ = planned(None, None, feeds, weights, None, nodes=nodes)
    assert len(backend.planner._shared) == 3
    first, second, again = run_twice(backend, feeds, rng)
    for got, fed in [(first, feeds), (second, again)]:
        ta, tb = (KERNELS["Conv"](a, fed["x"], weights[w]) for w in ("wa", "wb"))
        assert_close(got, KERNELS["Conv"](a, ta + tb, weights["wc"]), 2 * m)


def test_efficientnet_planned_outputs_share_a_few_buffers():
    doc, blob, _ = models()["efficientnet-lite0 (random weights)"]
    graph = Model.from_bytes(doc, blob).graph
    planner = CPUBackend(graph, through(wasm.GEMM[0], [])).planner
    fused_nodes = sum(n.op in fused.FRESH for n in graph.nodes)
    assert len(planner._shared) <= 4 < fused_nodes
