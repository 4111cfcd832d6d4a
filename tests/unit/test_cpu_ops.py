"""Every op of the CPU path against the naive reference, run the way a model runs: a small
pycore/1 graph, its weights through safetensors bytes, Graph.from_json, the CPU backend."""

import itertools
import math

import numpy as np
import pytest
import reference as ref
from graphs import load, node, run, run_both

from pycore import GraphError, ops

RTOL, ATOL = 1e-4, 1e-4


def rand(*shape, seed=0, lo=None, hi=None):
    rng = np.random.default_rng([seed, *shape])
    if lo is not None:
        return rng.uniform(lo, hi, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def close(got, want):
    assert got.shape == want.shape, f"shape {got.shape}, reference {want.shape}"
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def _fits(n, k, s, d, p0, p1):
    return n + p0 + p1 >= (k - 1) * d + 1


# --- Conv ---------------------------------------------------------------------------------------

# (input shape, group, output channels): plain, depthwise, depthwise with a channel multiplier,
# grouped with several channels per group, one channel in and out
GROUPINGS = [
    ((1, 1, 7, 9), 1, 5),
    ((2, 3, 13, 5), 1, 4),
    ((1, 5, 6, 11), 5, 5),
    ((1, 3, 9, 7), 3, 6),
    ((1, 8, 9, 7), 2, 6),
    ((2, 5, 7, 6), 5, 10),
    ((1, 8, 6, 7), 8, 8),
    ((1, 6, 7, 9), 3, 9),
]


def _pads(kind, k, d):
    reach = (k - 1) * d
    if kind == "none":
        return [0, 0, 0, 0]
    if kind == "half":
        return [reach // 2] * 4
    return [0, reach // 2 + 1, (reach + 1) // 2 + 1, 1]  # asymmetric: top, left, bottom, right


def _conv_case(shape, group, m, k, s, d, pads, bias=True, seed=0):
    x = rand(*shape, seed=seed)
    kernel = [k, k] if isinstance(k, int) else list(k)
    strides = [s, s] if isinstance(s, int) else list(s)
    dil = [d, d] if isinstance(d, int) else list(d)
    w = rand(m, shape[1] // group, *kernel, seed=seed + 1)
    b = rand(m, seed=seed + 2) if bias else None
    weights = {"w": w, **({"b": b} if bias else {})}
    attrs = dict(strides=strides, dilations=dil, group=group, pads=pads)
    n = node("Conv", ["x", "w", "b"] if bias else ["x", "w"], **attrs)
    close(run_both([n], x, weights), ref.conv(x, w, b, strides, pads, dil, group))


GEOMETRY = [
    (k, s, d, p)
    for k, s, d, p in itertools.product([1, 3, 5, 7], [1, 2, 3], [1, 2], ["none", "half", "asym"])
    if not (k == 1 and d == 2)
]


@pytest.mark.parametrize("k,s,d,pads", GEOMETRY)
def test_conv_geometry(k, s, d, pads):
    i = GEOMETRY.index((k, s, d, pads))
    shape, group, m = GROUPINGS[i % len(GROUPINGS)]
    p = _pads(pads, k, d)
    if not all(_fits(shape[2 + a], k, s, d, p[a], p[a + 2]) for a in range(2)):
        with pytest.raises(GraphError, match="window larger than the padded input"):
            _conv_case(shape, group, m, k, s, d, p, bias=i % 3 != 0, seed=i)
        return
    _conv_case(shape, group, m, k, s, d, p, bias=i % 3 != 0, seed=i)


@pytest.mark.parametrize("shape,group,m", GROUPINGS)
@pytest.mark.parametrize(
    "k,s,d,pads",
    [(1, 1, 1, [0, 0, 0, 0]), (3, 1, 1, [1, 1, 1, 1]), (3, 2, 1, [0, 0, 1, 1]), (5, 2, 2, [2, 1, 3, 4])],
)
def test_conv_groups(shape, group, m, k, s, d, pads):
    _conv_case(shape, group, m, k, s, d, pads, seed=group * 7 + m)


@pytest.mark.parametrize(
    "kernel,strides,dil,pads",
    [
        ((1, 7), (1, 1), (1, 1), [0, 3, 0, 3]),
        ((7, 1), (1, 1), (1, 1), [3, 0, 3, 0]),
        ((3, 5), (2, 1), (1, 2), [1, 0, 0, 4]),
        ((2, 4), (1, 3), (2, 1), [0, 0, 0, 0]),
        ((5, 3), (3, 2), (1, 1), [2, 1, 2, 1]),
    ],
)
def test_conv_anisotropic(kernel, strides, dil, pads):
    _conv_case((1, 3, 11, 13), 1, 4, kernel, strides, dil, pads)


@pytest.mark.parametrize("k,s,d", [(1, 1, 1), (3, 1, 1), (3, 2, 1), (5, 1, 2), (7, 3, 1), (4, 2, 3)])
@pytest.mark.parametrize("c,group,m", [(1, 1, 3), (4, 1, 5), (6, 6, 6), (6, 3, 12)])
def test_conv_1d(k, s, d, c, group, m):
    x = rand(2, c, 17, seed=k)
    w = rand(m, c // group, k, seed=s)
    b = rand(m, seed=d)
    pads = [(k - 1) * d // 2, 1]
    n = node("Conv", ["x", "w", "b"], strides=[s], dilations=[d], group=group, pads=pads)
    close(run_both([n], x, {"w": w, "b": b}), ref.conv(x, w, b, [s], pads, [d], group))


def test_conv_without_bias_input_or_attributes():
    """Only X and W: strides, pads, dilations and group all take their ONNX defaults."""
    x, w = rand(1, 3, 7, 9), rand(4, 3, 3, 3, seed=1)
    close(run_both([node("Conv", ["x", "w"])], x, {"w": w}), ref.conv(x, w))


def test_conv_omitted_bias_marked_empty():
    x, w = rand(1, 3, 7, 9), rand(4, 3, 3, 3, seed=1)
    close(
        run_both([node("Conv", ["x", "w", ""], pads=[1, 1, 1, 1])], x, {"w": w}), ref.conv(x, w, pads=[1] * 4)
    )


def test_conv_kernel_shape_attribute_is_accepted():
    x, w = rand(1, 2, 6, 5), rand(3, 2, 3, 2, seed=1)
    n = node("Conv", ["x", "w"], kernel_shape=[3, 2])
    close(run_both([n], x, {"w": w}), ref.conv(x, w))


# --- auto_pad: the ONNX quirk TensorFlow models depend on ---------------------------------------


@pytest.mark.parametrize("mode", ["SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("n", [7, 8, 9, 13])
@pytest.mark.parametrize("k,s", [(1, 1), (2, 1), (3, 1), (3, 2), (4, 2), (5, 2), (3, 3), (7, 2)])
def test_conv_auto_pad_same(mode, n, k, s):
    x, w, b = rand(1, 2, n, n + 2), rand(3, 2, k, k, seed=1), rand(3, seed=2)
    graph, _ = load(
        [node("Conv", ["x", "w", "b"], strides=[s, s], auto_pad=mode)], {"x": x}, {"w": w, "b": b}
    )
    pads = ref.same_pads(x.shape[2:], [k, k], [s, s], [1, 1], mode)
    assert graph.nodes[0].attrs["pads"] == pads
    assert graph.shapes["y"][2:] == (math.ceil(n / s), math.ceil((n + 2) / s))
    got = run_both([node("Conv", ["x", "w", "b"], strides=[s, s], auto_pad=mode)], x, {"w": w, "b": b})
    close(got, ref.conv(x, w, b, [s, s], pads))


def test_same_upper_is_tensorflow_same():
    """TensorFlow's SAME puts the odd padding cell at the end: a stride-2 3x3 conv on 224 pads
    0 before and 1 after (EfficientNet-Lite's stem). SAME_LOWER is the mirror image."""
    x, w = rand(1, 1, 224, 224), rand(1, 1, 3, 3, seed=1)
    upper, _ = load([node("Conv", ["x", "w"], strides=[2, 2], auto_pad="SAME_UPPER")], {"x": x}, {"w": w})
    lower, _ = load([node("Conv", ["x", "w"], strides=[2, 2], auto_pad="SAME_LOWER")], {"x": x}, {"w": w})
    assert upper.nodes[0].attrs["pads"] == [0, 0, 1, 1]
    assert lower.nodes[0].attrs["pads"] == [1, 1, 0, 0]
    assert upper.shapes["y"] == lower.shapes["y"] == (1, 1, 112, 112)
    # 5x5 stride 2 on 7: total pad 4, even, so both agree
    small = rand(1, 1, 7, 7)
    five = rand(1, 1, 5, 5, seed=3)
    a = run([node("Conv", ["x", "w"], strides=[2, 2], auto_pad="SAME_UPPER")], {"x": small}, {"w": five})
    b = run([node("Conv", ["x", "w"], strides=[2, 2], auto_pad="SAME_LOWER")], {"x": small}, {"w": five})
    close(a, b)
    # 3x3 stride 2 on 8: total pad 1, so the two differ and each matches its explicit padding
    x8 = rand(1, 1, 8, 8)
    a = run([node("Conv", ["x", "w"], strides=[2, 2], auto_pad="SAME_UPPER")], {"x": x8}, {"w": w})
    b = run([node("Conv", ["x", "w"], strides=[2, 2], auto_pad="SAME_LOWER")], {"x": x8}, {"w": w})
    close(a, ref.conv(x8, w, strides=[2, 2], pads=[0, 0, 1, 1]))
    close(b, ref.conv(x8, w, strides=[2, 2], pads=[1, 1, 0, 0]))
    assert not np.allclose(a, b)


def test_auto_pad_valid_ignores_pads():
    x, w = rand(1, 2, 9, 7), rand(3, 2, 3, 3, seed=1)
    got = run_both([node("Conv", ["x", "w"], strides=[2, 2], auto_pad="VALID")], x, {"w": w})
    close(got, ref.conv(x, w, strides=[2, 2]))


@pytest.mark.parametrize("mode", ["SAME_UPPER", "SAME_LOWER"])
def test_pool_auto_pad_same(mode):
    x = rand(1, 3, 8, 9)
    pads = ref.same_pads((8, 9), (3, 3), (2, 2), (1, 1), mode)
    attrs = dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad=mode)
    close(run_both([node("MaxPool", ["x"], **attrs)], x), ref.max_pool(x, [3, 3], [2, 2], pads))
    close(run_both([node("AveragePool", ["x"], **attrs)], x), ref.average_pool(x, [3, 3], [2, 2], pads))


# --- pooling ------------------------------------------------------------------------------------

POOL_SHAPES = [(2, 3, 7, 9), (1, 5, 13, 5), (1, 1, 6, 11), (1, 8, 9, 7)]


def _pool_pads(kind, k):
    if kind == "none":
        return [0, 0, 0, 0]
    if kind == "half":
        return [k // 2] * 4
    return [0, (k - 1) // 2, k - 1, 1 if k > 1 else 0]  # asymmetric; every pad < kernel


MAXPOOL = list(itertools.product([1, 2, 3, 5], [1, 2, 3], ["none", "half", "asym"], [0, 1]))


@pytest.mark.parametrize("k,s,pads,ceil", MAXPOOL)
def test_max_pool(k, s, pads, ceil):
    i = MAXPOOL.index((k, s, pads, ceil))
    shape, d = POOL_SHAPES[i % 4], 1 + (i // 4) % 2
    p = _pool_pads(pads, k)
    x = rand(*shape, seed=i)
    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=p, ceil_mode=ceil, dilations=[d, d])
    if not all(_fits(shape[2 + a], k, s, d, p[a], p[a + 2]) for a in range(2)):
        with pytest.raises(GraphError, match="window larger than the padded input"):
            run_both([node("MaxPool", ["x"], **attrs)], x)
        return
    close(run_both([node("MaxPool", ["x"], **attrs)], x), ref.max_pool(x, [k, k], [s, s], p, [d, d], ceil))


AVGPOOL = list(itertools.product([2, 3, 5], [1, 2, 3], ["none", "half", "asym"], [0, 1], [0, 1]))


@pytest.mark.parametrize("k,s,pads,ceil,include", AVGPOOL)
def test_average_pool(k, s, pads, ceil, include):
    i = AVGPOOL.index((k, s, pads, ceil, include))
    shape = POOL_SHAPES[i % 4]
    p = _pool_pads(pads, k)
    x = rand(*shape, seed=i)
    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=p, ceil_mode=ceil, count_include_pad=include)
    want = ref.average_pool(x, [k, k], [s, s], p, None, ceil, include)
    close(run_both([node("AveragePool", ["x"], **attrs)], x), want)


@pytest.mark.parametrize(
    "n,k,s,pads",
    [(4, 3, 2, [2, 2, 2, 2]), (6, 4, 3, [3, 1, 3, 1]), (5, 3, 2, [1, 2, 1, 2]), (7, 2, 2, [1, 1, 1, 1])],
)
@pytest.mark.parametrize("include", [0, 1])
def test_average_pool_ceil_mode_overhang(n, k, s, pads, include):
    """ceil_mode adds a last window that hangs past the end padding. That overhang is never
    counted; the explicit padding is counted when count_include_pad is set."""
    x = rand(1, 2, n, n + 1)
    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=pads, ceil_mode=1, count_include_pad=include)
    want = ref.average_pool(x, [k, k], [s, s], pads, None, 1, include)
    close(run_both([node("AveragePool", ["x"], **attrs)], x), want)


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize(
    "k,s,pads,ceil", [(2, 2, [0, 0], 0), (3, 2, [1, 1], 1), (3, 1, [0, 2], 0), (5, 3, [2, 1], 1)]
)
def test_pool_1d(op, k, s, pads, ceil):
    x = rand(2, 3, 11)
    attrs = dict(kernel_shape=[k], strides=[s], pads=pads, ceil_mode=ceil)
    want = (ref.max_pool if op == "MaxPool" else ref.average_pool)(x, [k], [s], pads, None, ceil)
    close(run_both([node(op, ["x"], **attrs)], x), want)


def test_max_pool_all_negative_ignores_padding():
    """Padding must never win a max: an all-negative input keeps negative maxima at the edges."""
    x = -rand(1, 2, 5, 6, lo=1, hi=2)
    attrs = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    got = run_both([node("MaxPool", ["x"], **attrs)], x)
    assert (got < 0).all()
    close(got, ref.max_pool(x, [3, 3], [2, 2], [1, 1, 1, 1]))


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("shape", [(1, 1, 7, 9), (2, 3, 13, 5), (1, 8, 1, 1), (2, 5, 11)])
def test_global_pool(op, shape):
    x = rand(*shape)
    want = (ref.global_average_pool if op == "GlobalAveragePool" else ref.global_max_pool)(x)
    close(run_both([node(op, ["x"])], x), want)


# --- matrix products ----------------------------------------------------------------------------


@pytest.mark.parametrize("m,k,n", [(7, 5, 13), (1, 9, 3), (4, 6, 1), (3, 1, 5)])
@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("c_shape", [None, "n", "1n", "m1", "mn", "scalar"])
def test_gemm(m, k, n, trans_a, trans_b, c_shape):
    a = rand(*((k, m) if trans_a else (m, k)))
    b = rand(*((n, k) if trans_b else (k, n)), seed=1)
    shapes = {"n": (n,), "1n": (1, n), "m1": (m, 1), "mn": (m, n), "scalar": ()}
    c = rand(*shapes[c_shape], seed=2) if c_shape else None
    alpha, beta = (0.5, -1.5) if (m + k + n) % 2 else (1.0, 1.0)
    attrs = dict(alpha=alpha, beta=beta, transA=trans_a, transB=trans_b)
    weights = {"b": b, **({"c": c} if c is not None else {})}
    got = run_both([node("Gemm", ["x", "b", "c"] if c is not None else ["x", "b"], **attrs)], a, weights)
    close(got, ref.gemm(a, b, c, alpha, beta, trans_a, trans_b))


@pytest.mark.parametrize(
    "a_shape,b_shape",
    [
        ((3, 5), (5, 7)),
        ((1, 9), (9, 1)),
        ((2, 3, 5), (5, 4)),
        ((3, 5), (2, 5, 4)),
        ((2, 1, 3, 5), (4, 5, 6)),
        ((1, 3, 5), (2, 5, 4)),
        ((2, 3, 1, 7, 5), (3, 1, 5, 2)),
    ],
)
def test_matmul_batched_broadcast(a_shape, b_shape):
    a, b = rand(*a_shape), rand(*b_shape, seed=1)
    close(run([node("MatMul", ["a", "b"])], {"a": a, "b": b}), ref.matmul(a, b))
    close(run_both([node("MatMul", ["x", "w"])], a, {"w": b}), ref.matmul(a, b))


# --- normalisation and softmax ------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 5), (7, 9), (1, 4, 3, 2), (13,)])
@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax(shape, axis):
    x = rand(*shape) * 30
    if not -len(shape) <= axis < len(shape):
        with pytest.raises(GraphError, match="axis"):
            run_both([node("Softmax", ["x"], axis=axis)], x)
        return  # large logits: a naive exp would overflow
    got = run_both([node("Softmax", ["x"], axis=axis)], x)
    close(got, ref.softmax(x, axis))
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-5)


def test_softmax_default_axis_is_last():
    x = rand(2, 3, 5)
    close(run_both([node("Softmax", ["x"])], x), ref.softmax(x, -1))


@pytest.mark.parametrize("c", [1, 3, 5, 8])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_lrn(c, size):
    x = rand(2, c, 7, 9) * 3
    attrs = dict(size=size, alpha=1e-2 * size, beta=0.75, bias=2.0)
    close(run_both([node("LRN", ["x"], **attrs)], x), ref.lrn(x, size, 1e-2 * size, 0.75, 2.0))


def test_lrn_defaults():
    x = rand(1, 5, 3, 4) * 10
    close(run_both([node("LRN", ["x"], size=3)], x), ref.lrn(x, 3))


@pytest.mark.parametrize(
    "shape,axis", [((2, 3), 1), ((2, 5, 7), -1), ((2, 5, 7), 1), ((3, 4), 0), ((2, 3, 4, 5), 2)]
)
@pytest.mark.parametrize("affine", ["", "scale", "both", "bias"])
def test_layer_norm(shape, axis, affine):
    x = rand(*shape) * 3 + 1
    row = shape[axis % len(shape) :]
    weights = {"s": rand(*row, seed=1), "b": rand(*row, seed=2)}
    names = {"": ["x"], "scale": ["x", "s"], "both": ["x", "s", "b"], "bias": ["x", "", "b"]}[affine]
    got = run_both([node("LayerNormalization", names, axis=axis, epsilon=1e-3)], x, weights)
    scale, bias = weights["s"] if "s" in names else None, weights["b"] if "b" in names else None
    close(got, ref.layer_norm(x, axis % len(shape), scale, bias, 1e-3))


def test_layer_norm_refuses_a_scale_of_another_shape():
    with pytest.raises(GraphError, match=r"scale \[4\] is not the normalised shape \[3, 4\]"):
        run([node("LayerNormalization", ["x", "s"], axis=1)], {"x": rand(2, 3, 4)}, {"s": rand(4)})


@pytest.mark.parametrize("shape", [(2, 3), (2, 5, 7), (1, 8, 9, 7), (2, 3, 13, 5)])
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_batch_norm(shape, eps):
    c = shape[1]
    x = rand(*shape)
    p = {
        "s": rand(c, seed=1),
        "b": rand(c, seed=2),
        "m": rand(c, seed=3),
        "v": rand(c, seed=4, lo=0.1, hi=2.0),
    }
    n = node("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=eps)
    close(run_both([n], x, p), ref.batch_norm(x, p["s"], p["b"], p["m"], p["v"], eps))


# --- layout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize(
    "shape,pads",
    [
        ((7, 9), [1, 2, 3, 4]),
        ((5, 3), [0, 0, 0, 0]),
        ((1, 3, 5, 6), [0, 0, 2, 1, 0, 0, 1, 3]),
        ((2, 4, 3), [1, 0, 2, 0, 3, 2]),
        ((13,), [4, 0]),
    ],
)
def test_pad(mode, shape, pads):
    x = rand(*shape)
    attrs = dict(pads=pads, mode=mode, **({"value": 1.5} if mode == "constant" else {}))
    want = ref.pad(x, pads, mode, 1.5)
    close(run_both([node("Pad", ["x"], **attrs)], x), want)


def test_pad_constant_default_value_is_zero():
    x = rand(2, 3)
    close(run_both([node("Pad", ["x"], pads=[1, 1, 1, 1])], x), ref.pad(x, [1, 1, 1, 1]))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_concat(axis):
    base = [2, 3, 4]
    xs = []
    for k, extra in enumerate([1, 3, 2]):
        s = list(base)
        s[axis] = extra
        xs.append(rand(*s, seed=k))
    feeds = {"a": xs[0], "b": xs[1]}
    got = run([node("Concat", ["a", "b", "c"], axis=axis)], feeds, {"c": xs[2]})
    close(got, ref.concat(xs, axis))


def test_concat_single_input():
    x = rand(3, 5)
    close(run_both([node("Concat", ["x"], axis=1)], x), x)


@pytest.mark.parametrize(
    "shape,perm",
    [
        ((3, 5), None),
        ((2, 3, 5), [1, 0, 2]),
        ((2, 3, 5), [2, 0, 1]),
        ((2, 3, 4, 5), [0, 2, 3, 1]),
        ((2, 3, 4, 5), None),
    ],
)
def test_transpose(shape, perm):
    x = rand(*shape)
    attrs = {"perm": perm} if perm else {}
    close(run_both([node("Transpose", ["x"], **attrs)], x), ref.transpose(x, perm))


@pytest.mark.parametrize(
    "shape,target",
    [
        ((2, 3, 4), [0, -1]),
        ((2, 3, 4), [-1]),
        ((2, 3, 4), [0, 0, -1]),
        ((2, 3, 4), [4, -1, 2]),
        ((2, 3, 4), [0, 4, 3]),
        ((1, 8, 1, 1), [0, -1]),
        ((6, 5), [3, 2, 5]),
    ],
)
def test_reshape(shape, target):
    x = rand(*shape)
    close(run_both([node("Reshape", ["x"], shape=target)], x), ref.reshape(x, target))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (7, 9), (13,)])
@pytest.mark.parametrize("axis", [0, 1, 2, 3, 4, -1, -2])
def test_flatten(shape, axis):
    x = rand(*shape)
    if not -len(shape) <= axis <= len(shape):
        with pytest.raises(GraphError, match="axis"):
            run_both([node("Flatten", ["x"], axis=axis)], x)
        return
    close(run_both([node("Flatten", ["x"], axis=axis)], x), ref.flatten(x, axis))


def test_flatten_default_axis_is_one():
    x = rand(2, 3, 4)
    close(run_both([node("Flatten", ["x"])], x), ref.flatten(x, 1))


# --- elementwise --------------------------------------------------------------------------------

BROADCASTS = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((2, 1, 5), (3, 1)),
    ((1,), (2, 3)),
    ((2, 3, 1, 5), (1, 3, 7, 1)),
    ((), (3, 2)),
]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"])
@pytest.mark.parametrize("a_shape,b_shape", BROADCASTS)
def test_binary_broadcast(op, a_shape, b_shape):
    positive = op in ("Div", "Pow")
    a = rand(*a_shape, lo=0.5, hi=2.0) if positive else rand(*a_shape)
    b = rand(*b_shape, seed=1, lo=0.5, hi=2.0) if positive else rand(*b_shape, seed=1)
    close(run([node(op, ["a", "b"])], {"a": a, "b": b}), ref.binary(op, a, b))
    close(run([node(op, ["b", "a"])], {"a": a, "b": b}), ref.binary(op, b, a))


@pytest.mark.parametrize("fmod,ref_op", [(0, "Mod"), (1, "FMod")])
@pytest.mark.parametrize("a_shape,b_shape", BROADCASTS[:4])
def test_mod(fmod, ref_op, a_shape, b_shape):
    a = rand(*a_shape) * 5
    b = np.where(np.abs(rand(*b_shape, seed=1)) < 0.2, 0.7, rand(*b_shape, seed=1) * 3).astype(np.float32)
    close(run([node("Mod", ["a", "b"], fmod=fmod)], {"a": a, "b": b}), ref.binary(ref_op, a, b))


def test_binary_with_weight_operand():
    x, w = rand(2, 3, 5), rand(3, 1, seed=1)
    close(run_both([node("Mul", ["x", "w"])], x, {"w": w}), ref.binary("Mul", x, w))
    close(run_both([node("Sub", ["w", "x"])], x, {"w": w}), ref.binary("Sub", w, x))


@pytest.mark.parametrize("count", [1, 2, 3])
def test_sum(count):
    xs = [rand(2, 3, seed=0), rand(3, seed=1), rand(1, 3, seed=2)][:count]
    feeds = {f"x{i}": x for i, x in enumerate(xs)}
    close(run([node("Sum", list(feeds))], feeds), ref.sum_(*xs))


UNARY = [
    ("Relu", {}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("Exp", {}),
    ("Neg", {}),
    ("Abs", {}),
    ("Identity", {}),
    ("LeakyRelu", {}),
    ("LeakyRelu", {"alpha": 0.2}),
    ("Clip", {"min": 0.0, "max": 6.0}),
    ("Clip", {"min": -0.5}),
    ("Clip", {"max": 0.25}),
    ("Clip", {}),
    ("Dropout", {}),
    ("Dropout", {"ratio": 0.3}),
    ("Erf", {}),
    ("Gelu", {}),
    ("Gelu", {"approximate": "tanh"}),
    ("HardSigmoid", {}),
    ("HardSigmoid", {"alpha": 0.4, "beta": 0.3}),
    ("HardSwish", {}),
    ("Softplus", {}),
    ("Softsign", {}),
    ("Mish", {}),
    ("Sin", {}),
    ("Cos", {}),
    ("Atan", {}),
    ("Sinh", {}),
    ("Cosh", {}),
    ("Asinh", {}),
    ("Floor", {}),
    ("Ceil", {}),
    ("Round", {}),
    ("Sign", {}),
]


@pytest.mark.parametrize("op,attrs", UNARY)
@pytest.mark.parametrize("shape", [(7, 9), (2, 3, 5), (13,)])
def test_unary(op, attrs, shape):
    x = rand(*shape) * 4
    # as written: every op has a kernel, including those the passes would remove
    close(run([node(op, ["x"], **attrs)], {"x": x}), ref.unary(op, x, **attrs))
    close(run_both([node(op, ["x"], **attrs)], x), ref.unary(op, x, **attrs))


def test_sqrt():
    x = rand(7, 9, lo=0.0, hi=5.0)
    close(run_both([node("Sqrt", ["x"])], x), ref.unary("Sqrt", x))


@pytest.mark.parametrize(
    "op,lo,hi",
    [("Tan", -1.4, 1.4), ("Asin", -1, 1), ("Acos", -1, 1), ("Atanh", -0.99, 0.99), ("Acosh", 1, 9)],
)
def test_unary_on_its_domain(op, lo, hi):
    x = rand(7, 9, lo=lo, hi=hi)
    close(run_both([node(op, ["x"])], x), ref.unary(op, x))


def test_round_takes_halves_to_even_and_sign_keeps_zero():
    x = np.array([-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.5, -0.0], np.float32)
    np.testing.assert_array_equal(run([node("Round", ["x"])], {"x": x}), [-2, -2, -0, 0, 0, 2, 2, 4, -0])
    np.testing.assert_array_equal(run([node("Sign", ["x"])], {"x": x}), [-1, -1, -1, 0, 1, 1, 1, 1, 0])


def test_sigmoid_saturates():
    x = np.array([[-1000.0, -90.0, -50.0, 0.0, 50.0, 90.0, 1000.0]], np.float32)
    with np.errstate(over="ignore"):  # exp(-x) may overflow to inf on the way; 1 / inf is still 0
        got = run([node("Sigmoid", ["x"])], {"x": x})
        fused = run(
            [node("MatMul", ["x", "w"], activation="Sigmoid")], {"x": x}, {"w": np.eye(7, dtype="f4")}
        )
    close(got, ref.unary("Sigmoid", x))
    close(fused, ref.unary("Sigmoid", x))


def test_unary_does_not_modify_its_input():
    x = rand(3, 4)
    keep = x.copy()
    _, backend = load([node("Relu", ["x"], outputs=["r"]), node("Neg", ["x"], name="neg")], {"x": x})
    backend.run_sync({"x": x})
    np.testing.assert_array_equal(x, keep)


@pytest.mark.parametrize("op,identity", [("ReduceSum", 0.0), ("ReduceMax", -np.inf), ("ReduceMin", np.inf)])
@pytest.mark.parametrize("axes,keepdims,shape", [([1], 1, (2, 1, 4)), ([0, 1], 0, (4,)), (None, 0, ())])
def test_an_empty_reduction_gives_the_identity(op, identity, axes, keepdims, shape):
    """ONNX's empty-set reductions: numpy's max and min refuse them, ONNX defines -inf and +inf."""
    got = run([node(op, ["x"], axes=axes, keepdims=keepdims)], {"x": np.zeros((2, 0, 4), np.float32)})
    np.testing.assert_array_equal(got, np.full(shape, identity, np.float32))


# --- the fused epilogue -------------------------------------------------------------------------

EPILOGUES = [
    (None, {}),
    ("Relu", {}),
    ("Clip", {"act_min": 0.0, "act_max": 6.0}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("LeakyRelu", {"act_alpha": 0.1}),
    ("Gelu", {}),
    ("Gelu", {"act_approximate": "tanh"}),
    ("HardSigmoid", {"act_alpha": 0.25, "act_beta": 0.4}),
    ("HardSwish", {}),
    ("Softplus", {}),
    ("Softsign", {}),
    ("Mish", {}),
]


def test_every_activation_has_an_epilogue_case():
    assert {act for act, _ in EPILOGUES} == {None, *ops.activations()}


def _epilogue_attrs(act, extra):
    return {**({"activation": act} if act else {}), **extra}


@pytest.mark.parametrize("act,extra", EPILOGUES)
@pytest.mark.parametrize("residual", [False, True])
def test_conv_epilogue(act, extra, residual):
    x, w, b = rand(1, 3, 7, 9) * 2, rand(5, 3, 3, 3, seed=1), rand(5, seed=2)
    r = rand(1, 5, 7, 9, seed=3) * 2
    ins = ["x", "w", "b"] + (["r"] if residual else [])
    n = node("Conv", ins, pads=[1, 1, 1, 1], **_epilogue_attrs(act, extra))
    got = run([n], {"x": x}, {"w": w, "b": b, "r": r})
    want = ref.epilogue(ref.conv(x, w, b, pads=[1] * 4), act, r if residual else None, **extra)
    close(got, want)


@pytest.mark.parametrize("act,extra", EPILOGUES)
@pytest.mark.parametrize("residual", [False, True])
def test_gemm_and_matmul_epilogue(act, extra, residual):
    a, b, c, r = rand(7, 5) * 2, rand(5, 13, seed=1), rand(13, seed=2), rand(7, 13, seed=3)
    attrs = _epilogue_attrs(act, extra)
    feeds, weights = {"x": a}, {"w": b, "c": c, "r": r}
    gemm_ins = ["x", "w", "c"] + (["r"] if residual else [])
    got = run([node("Gemm", gemm_ins, alpha=0.5, **attrs)], feeds, weights)
    close(got, ref.epilogue(ref.gemm(a, b, c, alpha=0.5), act, r if residual else None, **extra))
    mm_ins = ["x", "w"] + (["r"] if residual else [])
    got = run([node("MatMul", mm_ins, **attrs)], feeds, weights)
    close(got, ref.epilogue(ref.matmul(a, b), act, r if residual else None, **extra))


def test_gemm_epilogue_residual_without_bias():
    a, b, r = rand(4, 6), rand(6, 3, seed=1), rand(4, 3, seed=2)
    got = run([node("Gemm", ["x", "w", "", "r"], activation="Relu")], {"x": a}, {"w": b, "r": r})
    close(got, ref.epilogue(ref.gemm(a, b), "Relu", r))


def test_epilogue_does_not_modify_residual():
    """The residual is often a live activation that another branch still reads."""
    x, w, b = rand(1, 2, 5, 5), rand(2, 2, 1, 1, seed=1), rand(2, seed=2)
    r = rand(1, 2, 5, 5, seed=3)
    keep = r.copy()
    nodes = [node("Conv", ["x", "w", "b", "r"], activation="Relu")]
    _, backend = load(nodes, {"x": x, "r": r}, {"w": w, "b": b})
    backend.run_sync({"x": x, "r": r})
    np.testing.assert_array_equal(r, keep)


# --- a small network, end to end ----------------------------------------------------------------


def test_small_network_matches_reference():
    """Conv-BN-ReLU6, depthwise, residual, pool, flatten, gemm, softmax, through Model.from_bytes."""
    x = rand(1, 3, 13, 11)
    wts = {
        "w1": rand(8, 3, 3, 3, seed=1) * 0.5,
        "s": rand(8, seed=2, lo=0.5, hi=1.5),
        "bb": rand(8, seed=3),
        "m": rand(8, seed=4) * 0.1,
        "v": rand(8, seed=5, lo=0.5, hi=1.5),
        "dw": rand(8, 1, 3, 3, seed=6) * 0.5,
        "dwb": rand(8, seed=7),
        "fc": rand(8, 5, seed=8),
        "fcb": rand(5, seed=9),
    }
    nodes = [
        node("Conv", ["x", "w1"], ["c1"], name="c1", strides=[2, 2], auto_pad="SAME_UPPER"),
        node("BatchNormalization", ["c1", "s", "bb", "m", "v"], ["b1"], name="bn", epsilon=1e-3),
        node("Clip", ["b1"], ["a1"], name="relu6", min=0.0, max=6.0),
        node("Conv", ["a1", "dw", "dwb"], ["c2"], name="dw", group=8, pads=[1, 1, 1, 1]),
        node("Add", ["c2", "a1"], ["s2"], name="add"),
        node("Relu", ["s2"], ["a2"], name="relu"),
        node("GlobalAveragePool", ["a2"], ["p"], name="gap"),
        node("Flatten", ["p"], ["f"], name="flat"),
        node("Gemm", ["f", "fc", "fcb"], ["g"], name="fc"),
        node("Softmax", ["g"], ["y"], name="softmax"),
    ]
    got = run_both(nodes, x, wts)
    pads = ref.same_pads((13, 11), (3, 3), (2, 2), (1, 1), "SAME_UPPER")
    h = ref.conv(x, wts["w1"], strides=[2, 2], pads=pads)
    h = ref.batch_norm(h, wts["s"], wts["bb"], wts["m"], wts["v"], 1e-3)
    h = ref.unary("Clip", h, min=0.0, max=6.0)
    h2 = ref.conv(h, wts["dw"], wts["dwb"], pads=[1] * 4, group=8)
    h = ref.unary("Relu", ref.binary("Add", h2, h))
    h = ref.flatten(ref.global_average_pool(h))
    close(got, ref.softmax(ref.gemm(h, wts["fc"], wts["fcb"])))


def test_scalar_weights_keep_their_rank():
    """ONNX graphs carry 0-d constants (epsilons, exponents); a 0-d result must stay 0-d."""
    x, s = np.array(3.0, np.float32), np.array(0.5, np.float32)
    got = run([node("Mul", ["x", "s"])], {"x": x}, {"s": s})
    close(got, ref.binary("Mul", x, s))
    got = run([node("Pow", ["x", "s"])], {"x": rand(2, 3, lo=0.5, hi=2)}, {"s": s})
    assert got.shape == (2, 3)


@pytest.mark.parametrize("mode", ["SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("n,k,s", [(8, 3, 2), (9, 4, 2), (11, 5, 3)])
def test_conv_1d_auto_pad_same(mode, n, k, s):
    x, w = rand(1, 2, n), rand(3, 2, k, seed=1)
    got = run_both([node("Conv", ["x", "w"], strides=[s], auto_pad=mode)], x, {"w": w})
    close(got, ref.conv(x, w, strides=[s], pads=ref.same_pads([n], [k], [s], [1], mode)))


@pytest.mark.parametrize("include", [0, 1])
@pytest.mark.parametrize("ceil", [0, 1])
def test_average_pool_dilated(include, ceil):
    x = rand(1, 3, 9, 11)
    attrs = dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 2, 1], dilations=[2, 3])
    attrs.update(ceil_mode=ceil, count_include_pad=include)
    want = ref.average_pool(x, [3, 2], [2, 1], [1, 0, 2, 1], [2, 3], ceil, include)
    close(run_both([node("AveragePool", ["x"], **attrs)], x), want)


def test_softmax_over_an_axis_of_one():
    x = rand(3, 1, 4)
    close(run_both([node("Softmax", ["x"], axis=1)], x), np.ones((3, 1, 4), np.float32))


def test_malloc_is_left_alone_when_asked(monkeypatch):
    """PYCORE_MALLOC=default opts out of the heap settings pycore.cpu makes at import."""
    from pycore import cpu

    monkeypatch.setenv("PYCORE_MALLOC", "default")
    assert cpu.keep_freed_memory() is False
