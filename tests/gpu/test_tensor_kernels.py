"""The kernels the Tensor library added (comparisons, Where, Expand, Cast, ArgMax, ReduceMin, Erf,
the trigonometric and rounding functions, BatchNormStats and the backward of convolution and
pooling) against the CPU path. Bools and integers live on the GPU as exact f32 values, so everything
but Erf, the trigonometric functions and the sums of the gradients must match exactly."""

import itertools
import math

import numpy as np
import pytest
from gpu_harness import check, gpu, graph, node, rand, run

from pycore import ops
from pycore.webgpu import elementwise

COMPARISONS = ["Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual"]


def ties(*shape, seed=0):
    """Values on a coarse grid, so equal values (and equal maxima) are common."""
    return np.round(rand(*shape, seed=seed) * 1.5).astype(np.float32)


def on_gpu(nodes, x):
    """The GPU result alone, for checks against numpy where the CPU kernel is not the reference."""
    backend = gpu(graph(nodes, {"x": x}))
    try:
        return run(backend, {"x": x})["y"]
    finally:
        backend.close()


def out_shape(op, attrs, *shapes):
    rec = ops.OPS[op]
    return rec.infer({**rec.attrs, **attrs}, *shapes)


@pytest.mark.parametrize("op", COMPARISONS)
@pytest.mark.parametrize("shapes", [((257,), (257,)), ((3, 1, 5), (4, 1)), ((2, 3, 4, 5), (1,))], ids=str)
def test_comparison(op, shapes):
    a, b = ties(*shapes[0], seed=1), ties(*shapes[1], seed=2)
    check([node(op, ["a", "b"])], {"a": a, "b": b}, rtol=0.0)


@pytest.mark.parametrize(
    "shapes",
    [((7, 5), (7, 5), (7, 5)), ((3, 1, 5), (4, 1), (5,)), ((1,), (2, 3, 4), (3, 1)), ((300,), (1,), (1,))],
    ids=str,
)  # fmt: skip
def test_where(shapes):
    c = (rand(*shapes[0]) > 0.3).astype(np.float32) * rand(*shapes[0], seed=3)  # any non-zero selects
    check(
        [node("Where", ["c", "a", "b"])],
        {"c": c, "a": rand(*shapes[1], seed=1), "b": rand(*shapes[2], seed=2)},
        rtol=0.0,
    )


def test_comparison_feeds_where():
    """A bool made on the GPU (0u / 1u) is a condition for Where, and a number once cast."""
    nodes = [
        node("GreaterOrEqual", ["a", "b"], ["m"]),
        node("Where", ["m", "a", "b"], ["y"]),
        node("Cast", ["m"], ["z"], to="float32"),
        node("Mul", ["z", "a"], ["w"]),
    ]
    feeds = {"a": ties(4, 6, seed=1), "b": ties(6, seed=2)}
    check(nodes, feeds, outputs=("y", "z", "w"), rtol=0.0)


@pytest.mark.parametrize(
    "shape,to",
    [((1,), [5]), ((3, 1), [2, 3, 4]), ((4,), [3, 1, 4]), ((2, 1, 3), [2, 5, 3]), ((257,), [257])],
    ids=str,
)  # fmt: skip
def test_expand(shape, to):
    check([node("Expand", ["x"], shape=to)], {"x": rand(*shape)}, rtol=0.0)


@pytest.mark.parametrize("to", sorted(elementwise.CAST))
def test_cast(to):
    x = np.concatenate([rand(257) * 3, rand(300, seed=1) * 100, [-0.5, 0.5, -0.0, 0.0, 1.0, -1.0]])
    check([node("Cast", ["x"], to=to)], {"x": x.astype(np.float32)}, rtol=0.0)


def test_cast_wraps_and_rounds_like_numpy():
    """8-bit targets keep the low byte; float16 rounds ties to even, keeps subnormals, overflows to inf."""
    half = np.float32(1 + 2**-11)  # halfway between two float16 values: rounds to even (1.0)
    x = np.array(
        [-1.5, -200.7, 250.2, -129.9, 300.7, half, 1 + 3 * 2**-11,
         65519, 65520, -7e4, 1e-8, 3e-5, 6.1e-5, -6e-8],
        np.float32,
    )  # fmt: skip
    for to in ("int8", "uint8", "float16", "int32"):
        got = on_gpu([node("Cast", ["x"], to=to)], x)
        with np.errstate(over="ignore"):
            want = x.astype(to).astype(np.float32)
        assert np.array_equal(got, want), (to, got, want)


@pytest.mark.parametrize(
    "shape,axis,keepdims",
    [((5, 7), 0, 1), ((5, 7), 1, 0), ((2, 3, 300), -1, 1), ((70, 3), 0, 0), ((4, 1, 6), 1, 1),
     ((1000,), 0, 0), ((2, 65, 3, 2), 1, 0)],
    ids=str,
)  # fmt: skip
def test_argmax_first_of_ties(shape, axis, keepdims):
    check([node("ArgMax", ["x"], axis=axis, keepdims=keepdims)], {"x": ties(*shape)}, rtol=0.0)
    check([node("ArgMax", ["x"], axis=axis, keepdims=keepdims)], {"x": np.zeros(shape, np.float32)}, rtol=0.0)


def test_argmax_select_last_index():
    """ONNX's select_last_index=1 (the CPU kernel ignores it): checked against numpy directly."""
    x = ties(3, 200, 2)
    got = on_gpu([node("ArgMax", ["x"], axis=1, select_last_index=1)], x)
    want = x.shape[1] - 1 - np.argmax(x[:, ::-1], axis=1, keepdims=True)
    assert np.array_equal(got, want)


@pytest.mark.parametrize(
    "shape,axes,keepdims",
    [((3, 4, 5), [1], 1), ((3, 4, 5), [0, 2], 0), ((2, 3, 4, 5), None, 1), ((300, 70), [0], 0),
     ((4, 3), [], 1)],
    ids=str,
)  # fmt: skip
def test_reduce_min(shape, axes, keepdims):
    check([node("ReduceMin", ["x"], axes=axes, keepdims=keepdims)], {"x": rand(*shape)}, rtol=0.0)


@pytest.mark.parametrize("op,identity", [("ReduceSum", 0.0), ("ReduceMax", -np.inf), ("ReduceMin", np.inf)])
def test_an_empty_reduction_gives_the_identity(op, identity):
    x = np.zeros((2, 0, 4), np.float32)
    got = on_gpu([node(op, ["x"], axes=[1])], x)
    np.testing.assert_array_equal(got, np.full((2, 1, 4), identity, np.float32))


@pytest.mark.parametrize(
    "shape", [(2, 3), (4, 5, 7), (3, 16, 9, 11), (2, 4, 30, 30), (1, 2, 3, 4, 5)], ids=str
)
def test_batch_norm_stats(shape):
    """Per-channel mean and variance; one channel far from zero checks the two-pass variance."""
    x = rand(*shape, seed=4) * 3
    x[:, 0] += 100.0
    check([node("BatchNormStats", ["x"])], {"x": x}, rtol=1e-5)


def test_erf():
    wide = np.concatenate([np.linspace(-8, 8, 4001), rand(3, 257).ravel() * 2])
    check([node("Erf", ["x"])], {"x": wide.astype(np.float32)}, rtol=1e-6)  # relative to max |erf| = 1
    small = np.concatenate([np.geomspace(1e-7, 0.6, 500), -np.geomspace(1e-7, 0.6, 500)])
    check([node("Erf", ["x"])], {"x": small.astype(np.float32)}, rtol=2e-6)


# each function on (most of) its domain; tan stays off its poles, whose neighbours are ill-conditioned
DOMAINS = {
    "Sin": (-10, 10),
    "Cos": (-10, 10),
    "Tan": (-1.5, 1.5),
    "Asin": (-1, 1),
    "Acos": (-1, 1),
    "Atan": (-50, 50),
    "Sinh": (-10, 10),
    "Cosh": (-10, 10),
    "Asinh": (-50, 50),
    "Acosh": (1, 50),
    "Atanh": (-0.99, 0.99),
}


@pytest.mark.parametrize("op", DOMAINS)
def test_trigonometric(op):
    x = np.linspace(*DOMAINS[op], 2001).astype(np.float32)
    check([node(op, ["x"])], {"x": x}, rtol=4e-6)  # atan (under asin and acos too) errs by 2e-6 here


BEYOND_ONE = [np.nan, 1.0001, -1.0001, 2.5, -1e30]


@pytest.mark.parametrize(
    "op,x",
    [
        ("Asin", BEYOND_ONE),
        ("Acos", BEYOND_ONE),
        ("Atanh", BEYOND_ONE),
        ("Acosh", [np.nan, 0.9999, 0, -1e30]),
    ],
)
def test_outside_the_domain_is_nan(op, x):
    """numpy's answer (and ONNX's); WGSL leaves it to the backend."""
    assert np.isnan(on_gpu([node(op, ["x"])], np.array(x, np.float32))).all()


@pytest.mark.parametrize("op", ["Floor", "Ceil", "Round", "Sign"])
def test_rounding_is_exact(op):
    """Halves (Round takes them to even), zeros and values just off integers."""
    x = np.concatenate([np.arange(-8, 8.5, 0.5), rand(257) * 5, [1e-7, -1e-7, 3.0000002, -2.9999998]])
    check([node(op, ["x"])], {"x": x.astype(np.float32)}, rtol=0.0)


# ---- backward of convolution: (input shape, group, output channels) ----
GROUPINGS = [
    ((2, 3, 11, 9), 1, 4),
    ((1, 4, 10, 11), 2, 6),
    ((1, 5, 9, 10), 5, 5),  # depthwise
    ((2, 3, 9, 9), 3, 6),  # depthwise with a channel multiplier
]
# kernel, strides, dilations, pads [top, left, bottom, right]
PADS = {"none": [0, 0, 0, 0], "one": [1, 1, 1, 1], "asym": [0, 1, 2, 0]}


def sweep(kernels=(1, 3, 5), strides=(1, 2), dilations=(1, 2)):
    """Square windows over every combination; a 1-wide kernel only unpadded, dilation moot."""
    for k, s, d, p in itertools.product(kernels, strides, dilations, PADS):
        if k > 1 or (d, p) == (1, "none"):
            yield [k, k], [s, s], [d, d], PADS[p]


CONV_WINDOWS = [
    *sweep(),
    ([5, 3], [2, 1], [2, 1], [1, 0, 0, 2]),
    ([3, 1], [1, 2], [1, 1], [1, 0, 1, 0]),
    ([2, 4], [3, 1], [1, 1], [0, 2, 1, 1]),
]


def conv_grads(x_shape, group, m, kernel, stride, dilation, pads):
    """ConvGradInput and ConvGradWeight of one convolution, in one graph."""
    w_shape = (m, x_shape[1] // group, *kernel)
    attrs = dict(strides=stride, dilations=dilation, pads=pads, group=group, kernel_shape=kernel)
    dy_shape = out_shape("Conv", dict(attrs), x_shape, w_shape)
    nodes = [
        node("ConvGradInput", ["dy", "w"], ["gx"], shape=list(x_shape), **attrs),
        node("ConvGradWeight", ["x", "dy"], ["gw"], shape=list(w_shape), **attrs),
    ]
    feeds = {"x": rand(*x_shape), "dy": rand(*dy_shape, seed=1), "w": rand(*w_shape, seed=2)}
    check(nodes, feeds, outputs=("gx", "gw"))


@pytest.mark.parametrize(
    "grouping,window",
    list(itertools.product(GROUPINGS, CONV_WINDOWS)),
    ids=lambda v: "x".join(map(str, v[0])) + f"g{v[1]}m{v[2]}" if isinstance(v[0], tuple) else str(v),
)
def test_conv_grads(grouping, window):
    conv_grads(*grouping, *window)


def test_conv_grads_1d_and_wide():
    for group, m in [(1, 6), (4, 8)]:
        conv_grads((2, 4, 17), group, m, [3], [2], [2], [1, 2])
    conv_grads((1, 4, 5), 1, 3, [5], [1], [1], [0, 0])  # every output reads every input
    conv_grads((2, 16, 20, 19), 1, 8, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1])  # many terms per weight


# ---- backward of pooling: kernel, strides, pads, dilations, ceil_mode ----
POOL_WINDOWS = [
    *[(k, s, p, d, ceil) for (k, s, d, p), ceil in itertools.product(sweep(), [0, 1])],
    ([3, 2], [1, 2], [1, 0, 2, 1], [1, 1], 1),
    ([5, 3], [1, 2], [2, 1, 1, 0], [2, 1], 1),
    ([2, 2], [3, 3], [1, 1, 1, 1], [1, 1], 1),
]
POOL_GRADS = {
    "MaxPoolGrad": ("MaxPool", {}),
    "AveragePoolGrad0": ("AveragePool", {"count_include_pad": 0}),
    "AveragePoolGrad1": ("AveragePool", {"count_include_pad": 1}),
}


def pool_grad(case, x, kernel, strides, pads, dilations, ceil_mode):
    forward, extra = POOL_GRADS[case]
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil_mode)
    attrs.update(extra)
    dy = rand(*out_shape(forward, dict(attrs), x.shape), seed=5)
    check([node(forward + "Grad", ["x", "dy"], **attrs)], {"x": x, "dy": dy})


@pytest.mark.parametrize("window", POOL_WINDOWS, ids=str)
@pytest.mark.parametrize("case", sorted(POOL_GRADS))
def test_pool_grads(case, window):
    pool_grad(case, ties(2, 3, 11, 9), *window)


def test_max_pool_grad_goes_to_the_first_maximum():
    """A constant image: every window's maximum ties across all taps, and its first tap takes dy."""
    for window in POOL_WINDOWS[::5]:
        pool_grad("MaxPoolGrad", np.ones((1, 2, 9, 9), np.float32), *window)


def test_pool_grads_1d():
    for case in POOL_GRADS:
        pool_grad(case, ties(2, 3, 20), [4], [3], [2, 1], [1], 1)
        pool_grad(case, ties(1, 5, 19), [3], [2], [1, 1], [2], 0)


def test_result_sizes_past_one_workgroup_row():
    """More than 65535 workgroups of pooled gradients spill into the grid's y dimension."""
    x = ties(1, 4, 1030, 1030)
    assert math.prod(x.shape) / 64 > 65535
    pool_grad("AveragePoolGrad1", x, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 0)
