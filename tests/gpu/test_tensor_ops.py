"""Elementwise, matrix-product, reduction and layout kernels against the CPU path, with sizes
that are not multiples of the workgroup or tile sizes."""

import numpy as np
import pytest
from gpu_harness import check, gpu, graph, node, rand, run

from pycore.cpu import CPUBackend
from pycore.webgpu import elementwise


def on_gpu(nodes, x):
    backend = gpu(graph(nodes, {"x": x}))
    try:
        return run(backend, {"x": x})["y"]
    finally:
        backend.close()


SIZES = [(1,), (255,), (257, 3), (2, 3, 33, 17)]


ATTRS = {
    "LeakyRelu": {"alpha": 0.3},
    "Clip": {"min": -0.5, "max": 1.5},
    "HardSigmoid": {"alpha": 0.3, "beta": 0.4},
}
UNARY = [(op, ATTRS.get(op, {})) for op in sorted(elementwise.UNARY)]
UNARY += [("Gelu", {"approximate": v}) for v in elementwise.BY_ATTR["Gelu"][1]]


@pytest.mark.parametrize("op,attrs", UNARY, ids=str)
@pytest.mark.parametrize("shape", SIZES, ids=str)
def test_unary(op, attrs, shape):
    x = rand(*shape) * 3
    if op in ("Sqrt", "Log"):
        x = np.abs(x) + 0.01
    if op in ("Asin", "Acos", "Atanh"):  # into (-1, 1), off its ends where atanh grows without bound
        x = np.tanh(x) * 0.99
    if op == "Acosh":
        x = np.abs(x) + 1
    check([node(op, ["x"], **attrs)], {"x": x})


@pytest.mark.parametrize(
    "op,attrs", [("Gelu", {}), ("Softplus", {}), ("Mish", {}), ("Erf", {}), ("Tanh", {})], ids=str
)
def test_tails_keep_their_relative_accuracy(op, attrs):
    """Where the value is tiny (GELU below -3 reaches 1e-32, softplus and mish below -20, tanh and
    erf near 0), each element against the CPU path relative to itself, not to the largest output."""
    x = np.concatenate([-np.geomspace(0.5, 12 if op == "Gelu" else 60, 300), np.geomspace(1e-6, 9, 50)])
    nodes = [node(op, ["x"], **attrs)]
    want = CPUBackend(graph(nodes, {"x": x.astype(np.float32)})).run_sync({"x": x.astype(np.float32)})["y"]
    got = on_gpu(nodes, x.astype(np.float32))
    # WGSL's exp may be off by 3 + 2|x| ulp, a few e-6 at |x| = 60
    np.testing.assert_allclose(got, want, rtol=1e-4 if op == "Gelu" else 1e-5, atol=0)


@pytest.mark.filterwarnings("ignore:overflow")
def test_unary_extremes():
    x = np.array([-1e4, -100, -90, -1, 0, 1, 90, 100, 1e4], np.float32)
    for op in ("Sigmoid", "Tanh", "Relu"):
        check([node(op, ["x"])], {"x": x})
    check([node("Clip", ["x"])], {"x": x})  # both bounds infinite


@pytest.mark.parametrize("fmod", [0, 1])
def test_mod(fmod):
    """Mixed signs, broadcasting, and the edge cases of ONNX's node suite: signed zeros, infinite
    divisors and dividends, zero and NaN divisors."""
    a = np.concatenate(
        [rand(3, 40).ravel() * 5, [0, -0.0, 0, -0.0, -3, 3, -1, 1, np.inf, -np.inf, 1, 1, np.nan, 1]]
    )
    b = np.concatenate(
        [
            rand(3, 40, seed=1).ravel() * 3,
            [-2, 2, 2, -2, np.inf, np.inf, -np.inf, -np.inf, 2, 2, 0, -0.0, 2, np.nan],
        ]
    )
    x, y = a.astype(np.float32)[None], b.astype(np.float32)[None]
    nodes = [node("Mod", ["x", "b"], fmod=fmod)]
    backend = gpu(graph(nodes, {"x": x, "b": y}))
    try:
        got = run(backend, {"x": x, "b": y})["y"]
    finally:
        backend.close()
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.fmod(x, y) if fmod else np.mod(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    check([node("Mod", ["x", "b"], fmod=fmod)], {"x": rand(2, 3, 5) * 4, "b": rand(3, 1, seed=2) + 3})


BROADCASTS = [
    ((2, 3, 4, 5), (2, 3, 4, 5)),
    ((2, 3, 4, 5), (1,)),
    ((1, 7, 5, 6), (1, 7, 1, 1)),
    ((7, 5, 6), (7, 1, 1)),
    ((3, 1), (1, 4)),
    ((2, 1, 4, 1, 5), (3, 1, 1, 5)),
    ((257,), (1, 257)),
    ((3, 4), ()),  # a 0-d graph input
]


@pytest.mark.parametrize("op", sorted(elementwise.BINARY))
@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
def test_binary(op, shapes):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    if op == "Div":
        b = np.where(np.abs(b) < 0.1, 0.5, b).astype(np.float32)
    if op == "Pow":  # integer exponents on any base, fractional ones on positive bases
        b = np.round(b * 2).astype(np.float32)
    check([node(op, ["a", "b"])], {"a": a, "b": b})


def test_pow_fractional_and_zero():
    a = np.array([0.0, 0.0, 0.0, 2.0, 9.0, 0.25, -2.0, -3.0], np.float32)
    b = np.array([0.0, 2.0, 1.0, 0.5, 0.5, -1.5, 3.0, 2.0], np.float32)
    check([node("Pow", ["a", "b"])], {"a": a, "b": b})


def test_sum():
    check([node("Sum", ["a"])], {"a": rand(3, 4)})
    check([node("Sum", ["a", "b", "c"])], {"a": rand(3, 4), "b": rand(4, seed=1), "c": rand(2, 1, 1, seed=2)})


GEMMS = [(1, 17, 10), (3, 1, 257), (33, 300, 40), (70, 20, 1), (64, 64, 64)]


@pytest.mark.parametrize("mkn", GEMMS, ids=str)
@pytest.mark.parametrize("trans", [(0, 0), (1, 0), (0, 1), (1, 1)], ids=str)
def test_gemm(mkn, trans):
    m, k, n = mkn
    ta, tb = trans
    a = rand(*((k, m) if ta else (m, k)), seed=1)
    b = rand(*((n, k) if tb else (k, n)), seed=2)
    for c_shape in [(n,), (1, n), (m, 1), (m, n), (1,)]:
        attrs = dict(transA=ta, transB=tb, alpha=0.5, beta=2.0)
        check([node("Gemm", ["a", "w", "c"], **attrs)], {"a": a}, {"w": b, "c": rand(*c_shape, seed=3)})
    check([node("Gemm", ["a", "w"], transA=ta, transB=tb)], {"a": a}, {"w": b})


@pytest.mark.parametrize(
    "shapes",
    [((5, 7), (7, 3)), ((3, 33, 17), (3, 17, 40)), ((2, 1, 4, 9), (1, 3, 9, 5)), ((4, 6, 8), (8, 2)),
     ((2, 3, 2, 2, 5, 6), (6, 7)), ((1, 300), (300, 1000))],
    ids=str,
)  # fmt: skip
def test_matmul(shapes):
    check([node("MatMul", ["a", "b"])], {"a": rand(*shapes[0], seed=1), "b": rand(*shapes[1], seed=2)})


@pytest.mark.parametrize("act", ["Relu", "Sigmoid", "Gelu", None])
def test_matmul_and_gemm_fused_epilogue(act):
    for op, shapes in [("MatMul", ((2, 9, 12), (12, 5))), ("Gemm", ((9, 12), (12, 5)))]:
        nodes = [node(op, ["a", "w"], ["p"]), node("Add", ["p", "r"], ["s"])]
        nodes.append(node(act, ["s"]) if act else node("Identity", ["s"]))
        out = shapes[0][:-1] + shapes[1][-1:]
        feeds = {"a": rand(*shapes[0]), "r": rand(*out, seed=5)}
        check(nodes, feeds, {"w": rand(*shapes[1], seed=2)}, optimize=True)


@pytest.mark.parametrize(
    "shape,axis", [((3, 1000), -1), ((2, 5, 4, 3), 1), ((7,), 0), ((4, 70), 0), ((70000, 3), 1)]
)
def test_softmax(shape, axis):
    check([node("Softmax", ["x"], axis=axis)], {"x": rand(*shape) * 4})


@pytest.mark.parametrize(
    "shape,axis",
    [((3, 1000), -1), ((2, 5, 4, 3), 1), ((7,), 0), ((4, 197, 384), 2), ((2, 40), 1)],
    ids=str,
)
@pytest.mark.parametrize("affine", [[], ["s"], ["s", "b"], ["", "b"]], ids=str)
def test_layer_norm(shape, axis, affine):
    row = shape[axis % len(shape) :]
    weights = {"s": rand(*row, seed=3), "b": rand(*row, seed=4)}
    nodes = [node("LayerNormalization", ["x", *affine], axis=axis)]
    check(nodes, {"x": rand(*shape) * 3 + 2}, weights, rtol=1e-5)


def test_layer_norm_rows_past_one_workgroup_row():
    """70000 rows: the dispatch spills past 65535 workgroups into y."""
    check([node("LayerNormalization", ["x"], axis=1)], {"x": rand(70000, 3)}, rtol=1e-5)


@pytest.mark.parametrize(
    "shape,axes,keepdims",
    [((3, 4, 5), [1], 1), ((3, 4, 5), [0, 2], 0), ((2, 3, 4, 5), None, 1), ((2, 3, 4, 5), [1, 2, 3], 0),
     ((70000, 2), [1], 0), ((5, 300), [1], 1), ((4, 3), [], 1)],
    ids=str,
)  # fmt: skip
@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceProd"])
def test_reduce(op, shape, axes, keepdims):
    x = 1 + 0.05 * rand(*shape) if op == "ReduceProd" else rand(*shape)  # products of order 1
    check([node(op, ["x"], axes=axes, keepdims=keepdims)], {"x": x})


@pytest.mark.parametrize(
    "shape,perm",
    [((2, 3, 4), [2, 0, 1]), ((2, 3, 4, 5), [0, 2, 3, 1]), ((5, 7), None), ((1, 3, 1, 4), [2, 0, 1, 3])],
)
def test_transpose(shape, perm):
    check([node("Transpose", ["x"], perm=perm)], {"x": rand(*shape)})


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_concat(axis):
    base = [2, 3, 4, 5]
    feeds = {}
    for i, extra in enumerate([1, 3, 2]):
        shape = list(base)
        shape[axis] = extra
        feeds[f"x{i}"] = rand(*shape, seed=i)
    check([node("Concat", list(feeds), axis=axis)], feeds)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("pads", [[0, 1, 2, 1, 0, 3], [0, 0, 3, 0, 2, 5], [1, 0, 0, 0, 1, 0]], ids=str)
def test_pad(mode, pads):
    check([node("Pad", ["x"], pads=pads, mode=mode, value=1.5)], {"x": rand(2, 4, 6)})


@pytest.mark.parametrize(
    "starts,ends,axes,steps",
    [
        ([1], [3], [0], None),
        ([0, 1], [-1, 100], [1, 2], [2, 3]),
        ([-3], [-1], [-1], None),
        ([2], [2], [0], None),
    ],
    ids=str,
)
def test_slice(starts, ends, axes, steps):
    check([node("Slice", ["x"], starts=starts, ends=ends, axes=axes, steps=steps)], {"x": rand(4, 5, 7)})


def test_views_alias_without_dispatch():
    """Reshape, Flatten, Identity, Dropout and a size-1 Transpose feed later ops from one buffer."""
    nodes = [
        node("Reshape", ["x"], ["r"], shape=[2, 12, 5]),
        node("Flatten", ["r"], ["f"], axis=2),
        node("Identity", ["f"], ["i"]),
        node("Dropout", ["i"], ["d"]),
        node("Reshape", ["d"], ["u"], shape=[1, 24, 5]),
        node("Transpose", ["u"], ["t"], perm=[1, 0, 2]),
        node("Relu", ["t"], ["y"]),
    ]
    check(nodes, {"x": rand(2, 3, 4, 5)})


def test_graph_input_as_output():
    check([node("Identity", ["x"]), node("Relu", ["x"], ["z"])], {"x": rand(3, 5)}, outputs=("y", "z"))
