"""Integer and bool tensors on the WebGPU path, each against the CPU path, exactly: int64 and int32
held as i32, bool as 0u / 1u, read back in the graph's dtype; int64 values past int32's range, fed
or computed, are refused, naming the tensor, and ops with no kernel for a type are refused, never
computed wrong."""

import json

import numpy as np
import pytest
from gpu_harness import gpu, node, on_both, run
from onnx import TensorProto, helper

from pycore import passes
from pycore.errors import PycoreError
from pycore.graph import Graph
from pycore.onnx import convert

RNG = np.random.default_rng(7)


def ints(*shape, dtype=np.int64, high=9):
    return RNG.integers(-high, high + 1, shape).astype(dtype)


def flags(*shape):
    return RNG.random(shape) > 0.5


def typed_graph(nodes, feeds, outputs=("y",)):
    doc = {
        "format": "pycore/1",
        "name": "dtypes",
        "inputs": [{"name": k, "shape": list(v.shape), "dtype": v.dtype.name} for k, v in feeds.items()],
        "outputs": list(outputs),
        "nodes": nodes,
    }
    return Graph.from_json(json.dumps(doc), {})


def check(nodes, feeds, outputs=("y",)):
    """The GPU's outputs equal the CPU path's, dtype included."""
    want, got = on_both(typed_graph(nodes, feeds, outputs), feeds)
    for t in outputs:
        assert got[t].dtype == want[t].dtype, f"{t}: GPU dtype {got[t].dtype}, CPU {want[t].dtype}"
        np.testing.assert_array_equal(got[t], want[t], err_msg=t)


def refusal(nodes, feeds, outputs=("y",)):
    with pytest.raises(PycoreError) as e:
        backend = gpu(typed_graph(nodes, feeds, outputs))
        try:
            run(backend, feeds)
        finally:
            backend.close()
    return str(e.value)


VALUES = {
    "int64": lambda *s: ints(*s, high=2**31 - 1),  # all of int32's range
    "int32": lambda *s: ints(*s, dtype=np.int32, high=2**31 - 1),
    "bool": flags,
    "float32": lambda *s: RNG.standard_normal(s).astype(np.float32),
}


@pytest.mark.parametrize("dtype", sorted(VALUES))
def test_movement_copies_every_type_unchanged(dtype):
    x, z = VALUES[dtype](3, 4, 5), VALUES[dtype](3, 2, 5)
    nodes = [
        node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
        node("Slice", ["x"], ["s"], starts=[1, 0, 1], ends=[3, 4, 5], axes=[0, 1, 2], steps=[1, 2, 2]),
        node("Concat", ["x", "z"], ["c"], axis=1),
        node("Reshape", ["z"], ["r"], shape=[3, 1, 10]),
        node("Expand", ["r"], ["e"], shape=[3, 4, 10]),
    ]
    check(nodes, {"x": x, "z": z}, outputs=("t", "s", "c", "e"))


CASTS = [
    ("float32", "int64"),
    ("float32", "int32"),
    ("float32", "bool"),
    ("int64", "float32"),
    ("int64", "int32"),
    ("int64", "bool"),
    ("int32", "int64"),
    ("bool", "float32"),
    ("bool", "int64"),
    ("bool", "int32"),
]


@pytest.mark.parametrize("source,to", CASTS, ids=str)
def test_cast_between_types(source, to):
    x = VALUES[source](257)
    if source == "float32":  # truncation toward zero, exact zeros and halves
        x = np.concatenate([x * 100, [-0.5, 0.5, -0.0, 0.0, -2.7, 2.7]]).astype(np.float32)
    if source == "int64" and to != "int32":
        x = ints(257, high=2**24)  # beyond 2**24 float32 rounds; numpy and the GPU may round alike, or not
    check([node("Cast", ["x"], to=to)], {"x": x})


@pytest.mark.parametrize("dtype", ["int64", "int32", "float32"])
@pytest.mark.parametrize("op", ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"])
def test_comparisons_give_bool(op, dtype):
    a, b = (
        (VALUES[dtype](4, 5) // 2**28, VALUES[dtype](5) // 2**28)
        if dtype != "float32"
        else (
            np.round(VALUES[dtype](4, 5)),
            np.round(VALUES[dtype](5)),
        )
    )  # small integers, so that there are ties
    check([node(op, ["a", "b"])], {"a": a, "b": b})


@pytest.mark.parametrize("op", ["Equal", "Mul", "Max", "Min"])  # what Not, Xor, And and Or become
def test_ops_of_bools(op):
    check([node(op, ["a", "b"])], {"a": flags(3, 7), "b": flags(7)})


@pytest.mark.parametrize("dtype", sorted(VALUES))
def test_where_picks_any_type(dtype):
    feeds = {"c": flags(4, 1, 6), "a": VALUES[dtype](5, 6), "b": VALUES[dtype](6)}
    check([node("Where", ["c", "a", "b"])], feeds)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min", ("Mod", 0), ("Mod", 1)])
def test_integer_arithmetic(op, dtype):
    """Div truncates toward zero and Mod takes the divisor's sign (fmod=0) or the dividend's."""
    op, attrs = (op, {}) if isinstance(op, str) else (op[0], {"fmod": op[1]})
    a, b = ints(6, 7, dtype=dtype, high=1000), ints(7, dtype=dtype, high=30)
    b[b == 0] = 7
    check([node(op, ["a", "b"], **attrs)], {"a": a, "b": b})


@pytest.mark.parametrize("op", ["Neg", "Abs", "Sign"])
def test_integer_unary(op):
    check([node(op, ["x"])], {"x": ints(300, high=2**31 - 1)})


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor"])
def test_bitwise_ops(op, dtype):
    """Negative values too: i32's two's complement is int64's, for values that fit int32."""
    a, b = ints(6, 7, dtype=dtype, high=2**31 - 1), ints(7, dtype=dtype, high=2**31 - 1)
    check([node(op, ["a", "b"])], {"a": a, "b": b})


def test_bitwise_not_and_bit_shift_refused():
    check([node("BitwiseNot", ["x"])], {"x": ints(300, high=2**31 - 1)})
    feeds = {"a": ints(3, dtype=np.int32, high=100), "b": ints(3, dtype=np.int32, high=3)}
    message = refusal([node("BitShift", ["a", "b"], direction="LEFT")], feeds)
    assert message.startswith("the WebGPU path does not run BitShift")


def test_sum_of_integers():
    check([node("Sum", ["a", "b", "c"])], {"a": ints(2, 3), "b": ints(3), "c": ints(2, 1)})


def test_argmax_writes_int64():
    x = np.round(RNG.standard_normal((3, 70, 4)) * 2).astype(np.float32)  # ties
    check([node("ArgMax", ["x"], axis=1, keepdims=0, select_last_index=0)], {"x": x})


def test_an_integer_shape_graph():
    """What shape arithmetic looks like: an index computed, compared, masked, cast back to float."""
    nodes = [
        node("Mul", ["n", "two"], ["m"]),
        node("Less", ["m", "limit"], ["keep"]),
        node("Where", ["keep", "m", "limit"], ["y"]),
        node("Cast", ["keep"], ["w"], to="float32"),
    ]
    feeds = {"n": ints(10), "two": np.array(2, np.int64), "limit": np.array([5], np.int64)}
    check(nodes, feeds, outputs=("y", "keep", "w"))


def test_int64_input_past_int32_is_refused_when_fed():
    feeds = {"a": np.array([1, -(2**31) - 1], np.int64), "b": ints(2)}
    message = refusal([node("Add", ["a", "b"])], feeds)
    assert message == (
        "the WebGPU path runs int64 tensors only where their values fit int32; "
        "tensor 'a' holds -2147483649 .. 1"
    )


def test_int64_at_int32_limits_is_held():
    """(Arithmetic whose int64 result leaves int32's range is refused: see LEAVING below.)"""
    edge = np.array([2**31 - 1, -(2**31), 0, -1], np.int64)
    check([node("Max", ["x", "w"])], {"x": edge, "w": edge[::-1].copy()})


def test_ops_without_an_integer_kernel_are_refused():
    assert "runs Pow on float32 and float16 tensors only, not integer" in refusal(
        [node("Pow", ["a", "b"])],
        {
            "a": ints(3),
            "b": ints(3),
        },
    )
    # a kernel that reads f32 words (here ArgMax's) is never bound to an integer tensor
    message = refusal([node("ArgMax", ["a"], axis=0, keepdims=0, select_last_index=0)], {"a": ints(3)})
    assert message == "the WebGPU path runs ArgMax on f32 tensors only; tensor 'a' (of 'argmax_y') is int64"
    # ReduceMean's op record takes floats (the CPU path's mean of integers is float64)
    message = refusal([node("ReduceMean", ["a"], axes=[0], keepdims=0)], {"a": ints(3)})
    assert message == "the WebGPU path runs ReduceMean on float32 and float16 tensors only, not integer"
    message = refusal([node("ReduceProd", ["a"], axes=[0], keepdims=0)], {"a": flags(3)})
    assert message == "the WebGPU path runs ReduceProd on float32, float16 and integer tensors only, not bool"


AXES = [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]]


@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("axes", AXES, ids=str)
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMin"])
def test_integer_reductions(op, dtype, axes, keepdims):
    """Over 70 terms an output, more than one workgroup's 64 invocations hold (each starts from the
    identity); sums of values near int32's limits that stay inside it."""
    x = ints(3, 70, 5, dtype=dtype, high=2**31 - 1)
    if op == "ReduceSum":
        x //= 3 * 70 * 5
    check([node(op, ["x"], axes=axes, keepdims=keepdims)], {"x": x})


@pytest.mark.parametrize("axes", AXES, ids=str)
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_products(dtype, axes):
    x = RNG.choice(np.array([-2, -1, 1, 1, 1, 2], dtype), (2, 5, 3))  # |product| <= 2**30
    check([node("ReduceProd", ["x"], axes=axes, keepdims=1)], {"x": x})


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_extremes_at_the_limits(dtype):
    """A row of int32's minimum keeps it as its max, a row of its maximum as its min: the identities
    are the limits themselves, not a value inside the range (which a sentinel row would lose to)."""
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    x = np.array([[lo] * 70, [hi] * 70, [lo, hi] * 35, [-1] * 69 + [lo]], dtype)
    for op in ("ReduceMax", "ReduceMin"):
        check([node(op, ["x"], axes=[1], keepdims=0)], {"x": x})
    sums = np.array([[hi, lo, 1], [hi - 2, 1, 1]], dtype)  # 0 and int32's maximum
    check([node("ReduceSum", ["x"], axes=[1], keepdims=0)], {"x": sums})


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
def test_empty_integer_extremes_give_int32s_limits(op):
    """ONNX's identity of an empty max or min (int64's own would not be held: refused where fed)."""
    check([node(op, ["x"], axes=[1], keepdims=0)], {"x": np.zeros((3, 0, 2), np.int32)})


@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("axes", AXES, ids=str)
@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin", "ReduceSum"])
def test_bool_reductions(op, axes, keepdims):
    """Max is any, min all (rows of one value included), and a sum counts, in int64."""
    x = flags(3, 70, 5)
    x[0], x[1, :, 0] = True, False
    check([node(op, ["x"], axes=axes, keepdims=keepdims)], {"x": x})


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin", "ReduceSum"])
def test_empty_bool_reductions(op):
    check([node(op, ["x"], axes=[0], keepdims=1)], {"x": np.zeros((0, 4), bool)})


def converted(op, data, indices, **attrs):
    """An ONNX model of one op on run-time data and indices, as pycore converts it."""
    types = {np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32}
    types[np.dtype(bool)] = TensorProto.BOOL
    g = helper.make_graph(
        [helper.make_node(op, ["data", "indices"], ["y"], **attrs)],
        "g",
        [
            helper.make_tensor_value_info("data", types[data.dtype], data.shape),
            helper.make_tensor_value_info("indices", types[indices.dtype], indices.shape),
        ],
        [helper.make_tensor_value_info("y", types[data.dtype], None)],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return passes.optimize(convert(m))


def check_picked(g, feeds, want):
    """on_both creates the GPU backend, which refuses (raises) rather than leave any node to the CPU
    path: the selection ran on the GPU, through its integer (or bool) reduction."""
    assert {n.op for n in g.nodes} & {"ReduceSum", "ReduceMax"}
    cpu, got = on_both(g, feeds)
    assert got["y"].dtype == cpu["y"].dtype == want.dtype
    np.testing.assert_array_equal(cpu["y"], want)
    np.testing.assert_array_equal(got["y"], want)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool], ids=str)
def test_gather_with_run_time_indices(dtype):
    data = VALUES[np.dtype(dtype).name](4, 6, 3)
    indices = np.array([[5, 0], [-1, 2], [3, 3]], np.int64)  # negative counts from the end
    feeds = {"data": data, "indices": indices}
    check_picked(converted("Gather", data, indices, axis=1), feeds, np.take(data, indices % 6, axis=1))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool], ids=str)
def test_gather_elements(dtype):
    data = VALUES[np.dtype(dtype).name](4, 6)
    indices = RNG.integers(-6, 6, (4, 5)).astype(np.int32)
    feeds = {"data": data, "indices": indices}
    want = np.take_along_axis(data, indices % 6, axis=1)
    check_picked(converted("GatherElements", data, indices, axis=1), feeds, want)


I32_MIN, I32_MAX = -(2**31), 2**31 - 1


def longs(*values):
    return np.array(values, np.int64)


# int64 graphs whose computed values leave int32's range (their inputs fit): on the GPU each
# kernel flags it and the run is refused as a fed value past int32 is, never read back wrapped
LEAVING = {
    "Add": ([node("Add", ["a", "b"])], {"a": longs(I32_MAX, 5), "b": longs(1, 2)}),
    "Sub": ([node("Sub", ["a", "b"])], {"a": longs(I32_MIN, 3), "b": longs(1, 2)}),
    "Mul": ([node("Mul", ["a", "b"])], {"a": longs(65536, 3), "b": longs(65536, 2)}),
    "Mul by -1": ([node("Mul", ["a", "b"])], {"a": longs(-1, 3), "b": longs(I32_MIN, 2)}),
    "Div": ([node("Div", ["a", "b"])], {"a": longs(I32_MIN, 3), "b": longs(-1, 2)}),
    "Neg": ([node("Neg", ["x"])], {"x": longs(3, I32_MIN)}),
    "Abs": ([node("Abs", ["x"])], {"x": longs(I32_MIN, 3)}),
    "Sum": (  # a + b fits, its sum with c does not
        [node("Sum", ["a", "b", "c"])],
        {"a": longs(2**30, 1), "b": longs(2**30 - 1, 1), "c": longs(1, 1)},
    ),
    "Cast": ([node("Cast", ["x"], to="int64")], {"x": np.array([1.5, 3e9], np.float32)}),
    "Cast -2**31 - 256": ([node("Cast", ["x"], to="int64")], {"x": np.array([-2147483904.0], np.float32)}),
    "Cast NaN": ([node("Cast", ["x"], to="int64")], {"x": np.array([np.nan, 1.0], np.float32)}),
    "Cast inf": ([node("Cast", ["x"], to="int64")], {"x": np.array([-np.inf, 1.0], np.float32)}),
}


@pytest.mark.parametrize("case", sorted(LEAVING))
def test_int64_results_past_int32_are_refused(case):
    nodes, feeds = LEAVING[case]
    assert refusal(nodes, feeds) == (
        "the WebGPU path runs int64 tensors only where their values fit int32; "
        "tensor 'y' computed on the GPU leaves int32's range"
    )


# the same graphs where every result fits: run on the GPU, equal to the CPU path exactly
FITTING = {
    "Add": {"a": longs(I32_MAX - 1, I32_MIN), "b": longs(1, 0)},
    "Sub": {"a": longs(I32_MIN + 1, I32_MAX), "b": longs(1, 0)},
    "Mul": {"a": longs(46340, -1, 0, -65536), "b": longs(46340, I32_MAX, I32_MIN, 32768)},
    "Mul by -1": {"a": longs(-1, 2), "b": longs(I32_MAX, -(2**30))},
    "Div": {"a": longs(I32_MIN, I32_MAX), "b": longs(1, -1)},
    "Neg": {"x": longs(I32_MIN + 1, I32_MAX, 0)},
    "Abs": {"x": longs(I32_MIN + 1, -5, 0)},
    "Sum": {k: longs(2**29, -(2**29)) for k in "abc"},
    "Cast": {"x": np.array([-2147483648.0, 2147483520.0, -2.7, 2.7], np.float32)},
}


@pytest.mark.parametrize("case", sorted(FITTING))
def test_int64_results_that_fit_run_on_the_gpu(case):
    check(LEAVING[case][0], FITTING[case])


@pytest.mark.parametrize("case", ["Add", "Mul", "Neg", "Abs", "Sum"])
def test_int32_wraps_as_on_the_cpu_path(case):
    """int32 arithmetic wraps on the CPU path too (numpy's int32), so the GPU's int32 kernels are
    not checked: the same wrapped values."""
    nodes, feeds = LEAVING[case]
    check(nodes, {k: v.astype(np.int32) for k, v in feeds.items()})


def test_a_refused_run_leaves_the_next_run_clean():
    """The flags are cleared each run: a run that fits after one that did not is read back."""
    nodes, feeds = LEAVING["Add"]
    backend = gpu(typed_graph(nodes, feeds))
    try:
        with pytest.raises(PycoreError, match="computed on the GPU leaves int32's range"):
            run(backend, feeds)
        fits = FITTING["Add"]
        np.testing.assert_array_equal(run(backend, fits)["y"], fits["a"] + fits["b"])
    finally:
        backend.close()


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_only_int64_arithmetic_binds_and_reads_flags(dtype):
    """int32 arithmetic and int64 ops whose results always fit (Max, comparisons) pay nothing."""
    feeds = {"a": ints(3, dtype=dtype), "b": ints(3, dtype=dtype)}
    plans = {"Add": dtype == np.int64, "Max": False, "Less": False}
    for op, checks in plans.items():
        backend = gpu(typed_graph([node(op, ["a", "b"])], feeds))
        try:
            assert (backend.flags is not None) == checks, op
            assert len(backend.copies) == 1 + checks, op
        finally:
            backend.close()
