"""ONNX ops that the converter rewrites (rather than mapping 1:1) against onnxruntime: one-node
models at several opsets, converted, run on the CPU path and compared."""

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from pycore import passes
from pycore.cpu import CPUBackend
from pycore.onnx import ConversionError, convert

ort = pytest.importorskip("onnxruntime")
RNG = np.random.default_rng(0)


def model_of(op, inputs, consts=None, opset=13, attrs=None, n_out=1):
    """op(inputs + consts) as a one-node model; a const named "_..." is an omitted input."""
    consts = consts or {}
    names = list(inputs) + list(consts)
    outs = [f"y{k}" for k in range(n_out)]
    g = helper.make_graph(
        [helper.make_node(op, [n if n[0] != "_" else "" for n in names], outs, name="n", **(attrs or {}))],
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items() if k[0] != "_"],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def check(op, inputs, consts=None, opset=13, attrs=None, n_out=1, rtol=1e-4, atol=1e-5):
    """Builds op(inputs + consts) as a model, checks pycore against onnxruntime; returns the graph."""
    m = model_of(op, inputs, consts, opset, attrs, n_out)
    outs = [f"y{k}" for k in range(n_out)]
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)
    graph = passes.optimize(convert(m))
    got = CPUBackend(graph).run_sync(inputs)
    for o, w in zip(outs, want):
        np.testing.assert_allclose(got[o], w, rtol=rtol, atol=atol)
    return graph


def x(*shape, scale=1.0):
    return {"x": (RNG.standard_normal(shape) * scale).astype(np.float32)}


CONV_T = [
    ((1, 3, 5, 6), (3, 4, 3, 3), {}),
    ((2, 3, 5, 6), (3, 4, 3, 2), {"strides": [2, 3], "pads": [1, 0, 2, 1], "output_padding": [1, 2]}),
    ((1, 4, 5, 6), (4, 2, 3, 3), {"strides": [2, 2], "group": 2, "dilations": [2, 1]}),
    ((1, 3, 5, 6), (3, 4, 3, 3), {"strides": [2, 2], "pads": [3, 3, 3, 3]}),
    ((1, 3, 7), (3, 4, 3), {"strides": [3], "pads": [1, 2], "output_padding": [2]}),
    ((1, 3, 5, 6), (3, 4, 3, 3), {"strides": [2, 2], "output_shape": [10, 12]}),
    ((1, 3, 5, 6), (3, 4, 4, 4), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ((1, 3, 5, 6), (3, 4, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
]


@pytest.mark.parametrize("xs, ws, attrs", CONV_T)
def test_conv_transpose(xs, ws, attrs):
    w = RNG.standard_normal(ws).astype(np.float32)
    b = RNG.standard_normal(ws[1] * attrs.get("group", 1)).astype(np.float32)
    check("ConvTranspose", x(*xs), {"w": w, "b": b}, attrs=attrs)


@pytest.mark.parametrize("opset, axis", [(11, 1), (11, 0), (11, -1), (13, 1), (13, 0)])
def test_softmax_and_log_softmax_coercion(opset, axis):
    check("Softmax", x(2, 3, 4, scale=3), opset=opset, attrs={"axis": axis})
    check("LogSoftmax", x(2, 3, 4, scale=30), opset=opset, attrs={"axis": axis})


@pytest.mark.parametrize(
    "idx, axis", [(np.int64(-1), 1), (np.array([2, 0, 0]), 0), (np.array([[1, 2], [3, 0]]), 2)]
)
def test_gather_constant_indices(idx, axis):
    check("Gather", x(4, 3, 5), {"i": idx}, attrs={"axis": axis})


def test_elu_selu_softplus_at_extremes():
    big = {"x": np.array([[-100, -10, -1e-3, 0, 1e-3, 10, 100]], np.float32)}
    for op in ("Elu", "Selu", "Softplus", "Softsign", "HardSigmoid", "Relu", "Sigmoid"):
        check(op, big)
    check("Elu", big, attrs={"alpha": 0.3})
    check("HardSwish", big, opset=14)
    check("Mish", big, opset=18)
    check("Gelu", big, opset=20)
    check("Gelu", big, opset=20, attrs={"approximate": "tanh"})


@pytest.mark.parametrize(
    "op,opset,attrs",
    [("Erf", 13, {}), ("Erf", 9, {}), ("Gelu", 20, {}), ("Gelu", 20, {"approximate": "tanh"}),
     ("Mish", 18, {}), ("Mish", 22, {}), ("HardSigmoid", 6, {"alpha": 0.3, "beta": 0.4}),
     ("HardSigmoid", 22, {}), ("HardSwish", 22, {}), ("Softplus", 22, {}), ("Softsign", 22, {})],
)  # fmt: skip
def test_activations_are_one_ir_op(op, opset, attrs):
    """Each is one IR node (so the passes fuse it into the layer before it), matching onnxruntime
    over [-8, 8]."""
    graph = check(op, {"x": np.linspace(-8, 8, 161, dtype=np.float32)}, opset=opset, attrs=attrs, rtol=1e-5)
    assert [n.op for n in graph.nodes] == [op]


def test_gelu_keeps_its_negative_tail():
    """x * Phi(x) for x down to -12 (as small as 1e-32), relative to itself: onnxruntime's
    0.5 x (1 + erf(x / sqrt 2)) cancels to 0 below about -5.5; pycore takes Phi from erfc."""
    x = -np.geomspace(3, 12, 40).astype(np.float32)
    want = [v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)]
    graph = convert(model_of("Gelu", {"x": x}, opset=20))
    np.testing.assert_allclose(CPUBackend(graph).run_sync({"x": x})["y0"], want, rtol=1e-5, atol=0)


@pytest.mark.parametrize("opset, slope", [(9, (3, 1, 1)), (9, (1,)), (16, (5,))])
def test_prelu(opset, slope):
    check("PRelu", x(2, 3, 4, 5), {"s": RNG.standard_normal(slope).astype(np.float32)}, opset=opset)


@pytest.mark.parametrize("a, b", [((4,), (4, 3)), ((2, 5, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul_shapes(a, b):
    check(
        "MatMul",
        {"x": RNG.standard_normal(a).astype(np.float32), "w": RNG.standard_normal(b).astype(np.float32)},
    )


REDUCTIONS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"]  # fmt: skip


@pytest.mark.parametrize("op", REDUCTIONS)
def test_reductions(op):
    data = x(2, 3, 4)
    if op in ("ReduceLogSum", "ReduceProd"):  # a positive sum; products of order 1
        data = {"x": (1 + 0.2 * np.abs(data["x"])).astype(np.float32)}
    check(op, data, {"axes": np.array([0, -1])}, opset=18, attrs={"keepdims": 0})
    check(op, data, {"axes": np.array([1])}, opset=18)
    check(op, data, opset=18)
    check(op, data, {"_": 0}, opset=18, attrs={"noop_with_empty_axes": 1})
    check(op, data, opset=13 if op != "ReduceSum" else 11, attrs={"axes": [1], "keepdims": 0})


def test_log_sum_exp_does_not_overflow():
    check("ReduceLogSumExp", {"x": np.array([[100.0, 90.0, -1e4], [-100, -90, -95]], np.float32)}, opset=13)


@pytest.mark.parametrize("shape,axis", [((2, 3, 4), -1), ((2, 3, 4), 1), ((2, 3, 4, 5), 0), ((3, 8), -2)])
def test_layer_norm(shape, axis):
    row = shape[axis % len(shape) :]
    w = {"s": RNG.standard_normal(row).astype(np.float32), "b": RNG.standard_normal(row).astype(np.float32)}
    graph = check(
        "LayerNormalization", x(*shape, scale=3), w, opset=17, attrs={"axis": axis, "epsilon": 1e-3}
    )
    assert [n.op for n in graph.nodes] == ["LayerNormalization"]
    check("LayerNormalization", x(*shape), {"s": w["s"]}, opset=17, attrs={"axis": axis})  # no bias
    # the optional Mean and InvStdDev outputs; a scale that broadcasts to the row
    check("LayerNormalization", x(*shape), {"s": w["s"][-1:]}, opset=17, attrs={"axis": axis}, n_out=3)


@pytest.mark.parametrize("opset,groups", [(18, 2), (18, 6), (21, 3), (21, 1)])
def test_group_norm(opset, groups):
    per = groups if opset < 21 else 6  # 18: one scale and bias per group; 21: per channel
    w = {"s": RNG.standard_normal(per).astype(np.float32), "b": RNG.standard_normal(per).astype(np.float32)}
    check("GroupNormalization", x(2, 6, 4, 5, scale=2), w, opset=opset, attrs={"num_groups": groups})


def test_instance_norm():
    w = {"s": RNG.standard_normal(3).astype(np.float32), "b": RNG.standard_normal(3).astype(np.float32)}
    check("InstanceNormalization", x(2, 3, 4, 5), w)


def test_a_graph_without_inputs_converts_and_runs():
    """ONNX's test_constant: one Constant node and no graph inputs."""
    value = RNG.standard_normal((2, 3)).astype(np.float32)
    node = helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(value, "v"))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    m = helper.make_model(
        helper.make_graph([node], "g", [], [y]), opset_imports=[helper.make_opsetid("", 13)]
    )
    graph = passes.optimize(convert(m))
    assert graph.inputs == []
    np.testing.assert_array_equal(CPUBackend(graph).run_sync({})["y"], value)


@pytest.mark.parametrize("op,identity", [("ReduceMax", -np.inf), ("ReduceSum", 0.0)])
def test_reductions_over_an_empty_set(op, identity):
    """Data with a dimension of 0, reduced over it: ONNX's identity, not numpy's ValueError."""
    graph = check(op, x(2, 0, 4), {"axes": np.array([1])}, opset=18)
    got = CPUBackend(graph).run_sync(x(2, 0, 4))["y0"]
    np.testing.assert_array_equal(got, np.full((2, 1, 4), identity, np.float32))


def test_layout_ops():
    check("Split", x(2, 7), opset=18, attrs={"axis": 1, "num_outputs": 3}, n_out=3)
    check("Split", x(6, 2), {"s": np.array([1, 5])}, opset=13, n_out=2)
    check("Slice", x(5, 6), {"s": np.array([4, 1]), "e": np.array([0, 100]), "a": np.array([1, 0])})
    check(
        "Slice", x(5, 6), {"s": np.array([-4]), "e": np.array([-1]), "a": np.array([1]), "st": np.array([2])}
    )
    check("Squeeze", x(1, 3, 1, 2), {"a": np.array([-2])})
    check("Unsqueeze", x(3, 2), {"a": np.array([0, -1])})
    check("Expand", x(3, 1), {"s": np.array([2, 1, 4])})
    check("Tile", x(2, 3), {"r": np.array([2, 3])})
    check("Pad", x(1, 2, 4, 4), {"p": np.array([0, 0, 1, -1, 0, 0, -2, 2])}, attrs={"mode": "constant"})
    check(
        "Pad",
        x(1, 2, 4, 4),
        {"p": np.array([1, 2, 2, 1]), "v": np.float32(3), "a": np.array([2, 3])},
        opset=18,
    )
    check("Pad", x(1, 2, 4, 4), {"p": np.array([0, 0, 2, 1, 0, 0, 1, 2])}, attrs={"mode": "reflect"})


def test_elementwise_variants():
    two = {
        "x": RNG.standard_normal((2, 3)).astype(np.float32),
        "z": RNG.standard_normal((3,)).astype(np.float32),
    }
    check("Max", two)
    check("Mean", two)
    check("Sum", two)
    check("Clip", x(3, 4), {"lo": np.float32(-0.5), "hi": np.float32(0.2)})
    check("Clip", x(3, 4), {"_": 0, "hi": np.float32(0.2)})
    lo, hi = np.array(-0.5, np.float32), np.array(0.3, np.float32)
    graph = check("Clip", {**x(3, 4), "lo": lo, "hi": hi})  # bounds computed at run time
    assert [n.op for n in graph.nodes] == ["Max", "Min"]
    check("Clip", {**x(3, 4), "lo": lo}, {"hi": np.float32(0.2)})
    check("Clip", {**x(3, 4), "lo": hi, "hi": lo})  # min > max: every value is max, as in numpy
    check("Pow", {"x": np.abs(x(3, 4)["x"])}, {"e": np.int64(3)}, opset=15)
    check("Reciprocal", {"x": np.abs(x(3, 4)["x"]) + 0.5})


def test_mod():
    ab = {
        "x": x(2, 3, 4)["x"] * 5,
        "b": (RNG.uniform(0.5, 3, (3, 1)) * RNG.choice([-1, 1], (3, 1))).astype("f4"),
    }
    check("Mod", ab, attrs={"fmod": 1})
    graph = convert(model_of("Mod", ab, opset=13))  # fmod=0 on floats: onnxruntime has no kernel for it
    np.testing.assert_allclose(CPUBackend(graph).run_sync(ab)["y0"], np.mod(ab["x"], ab["b"]), rtol=1e-6)


SPECIALS = {"x": np.array([[np.inf, -np.inf, np.nan, 0.0], [-1.5, 3e38, -0.0, 2.0]], np.float32)}


@pytest.mark.parametrize("pos,neg", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_is_inf_detects_the_signs_asked_for(pos, neg):
    """Every combination, with both off (nothing counts, NaN neither) that the node suite lacks."""
    v = SPECIALS["x"]
    model = model_of("IsInf", SPECIALS, opset=10, attrs={"detect_positive": pos, "detect_negative": neg})
    want = (pos & (v == np.inf)) | (neg & (v == -np.inf))
    np.testing.assert_array_equal(CPUBackend(convert(model)).run_sync(SPECIALS)["y0"], want)


def test_is_nan():
    got = CPUBackend(convert(model_of("IsNaN", SPECIALS, opset=13))).run_sync(SPECIALS)["y0"]
    np.testing.assert_array_equal(got, np.isnan(SPECIALS["x"]))


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [None, 0, 2, -1, -7, 9])
def test_trilu(upper, k):
    data = x(2, 4, 5)
    data["x"][0, 3, 0] = np.inf  # outside the upper triangle: 0, not NaN
    check("Trilu", data, {} if k is None else {"k": np.array(k)}, opset=14, attrs={"upper": upper})


EINSUM = [
    ("ij->ji", [(3, 4)]), ("ij->i", [(3, 4)]), ("ijk", [(2, 3, 4)]), ("->", [()]),
    ("i,i", [(5,), (5,)]), ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]), ("bij, bjk -> bik", [(5, 2, 3), (5, 3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]), ("bij,jk->bik", [(2, 3, 4), (4, 5)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]), ("i,j->ij", [(3,), (4,)]), ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]), ("nchw,oc->nohw", [(2, 3, 4, 5), (6, 3)]),
]  # fmt: skip


@pytest.mark.parametrize("equation,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(equation, shapes):
    inputs = {f"x{k}": RNG.standard_normal(s).astype(np.float32) for k, s in enumerate(shapes)}
    graph = check("Einsum", inputs, opset=12, attrs={"equation": equation})
    assert {n.op for n in graph.nodes} <= {"Transpose", "Reshape", "ReduceSum", "MatMul", "Mul", "Identity"}


REFUSED_RESIZE = ("mode='cubic'", "antialias=1", "'tf_crop_and_resize' is not supported")


def test_resize_matches_the_node_suite():
    """Every Resize and Upsample case of ONNX's node suite, its scales or sizes made constants (the
    suite feeds them as graph inputs, which static shapes cannot take): nearest and linear in every
    coordinate transformation and rounding match the suite's outputs, the rest is refused by name."""
    from tools import onnx_conformance as conf
    from tools.conformance import node_suite

    cases = node_suite.node_cases_of("Resize", "Upsample")
    passed = 0
    for case in cases:
        model, feeds, expected = node_suite.folded(case)
        try:
            graph = convert(model)
        except ConversionError as e:
            assert any(why in str(e) for why in REFUSED_RESIZE), f"{case.name}: {e}"
            continue
        got = CPUBackend(graph).run_sync(feeds)
        ok, err, why = conf.compare([got[t] for t in graph.outputs], expected, case.rtol, case.atol)
        assert ok, f"{case.name}: {why} (max error {err})"
        passed += 1
    assert len(cases) == 40 and passed == 23


RESIZES = [
    (11, {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}),
    (13, {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}),
    (13, {"mode": "linear", "coordinate_transformation_mode": "align_corners"}),
    (13, {"mode": "linear"}),
    (19, {"mode": "nearest", "nearest_mode": "round_prefer_ceil"}),
    (19, {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"}),
]


@pytest.mark.parametrize("opset, attrs", RESIZES)
@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 0.5, 1.5], [1, 1, 2.5, 1.75]], ids=str)
def test_resize_as_exporters_write_it(opset, attrs, scales):
    """Constant scales and an empty roi, as torch.onnx.export writes interpolate() and Upsample."""
    consts = {"roi": np.zeros(0, np.float32), "s": np.array(scales, np.float32)}
    check("Resize", x(1, 2, 6, 5), consts, opset=opset, attrs=attrs)


def test_resize_by_sizes_and_its_older_forms():
    check(
        "Resize",
        x(1, 2, 6, 5),
        {"_roi": 0, "_s": 0, "z": np.array([1, 2, 9, 4])},
        opset=13,
        attrs={"mode": "linear"},
    )
    check("Resize", x(1, 2, 3, 4), {"s": np.array([1, 1, 2, 3], np.float32)}, opset=10)
    check("Upsample", x(1, 2, 3, 4), {"s": np.array([1, 1, 2, 3], np.float32)}, opset=9)
    check(
        "Upsample",
        x(1, 2, 3, 4),
        {"s": np.array([1, 1, 2, 2], np.float32)},
        opset=9,
        attrs={"mode": "linear"},
    )
    check("Upsample", x(1, 2, 3, 4), opset=7, attrs={"scales": [1.0, 1.0, 2.0, 3.0]})


def test_cast_like():
    """As expanded function bodies use it: a constant cast like the float32 input folds away."""
    check("CastLike", x(3, 4), {"like": np.zeros(1, np.float32)}, opset=15)
    nodes = [helper.make_node("CastLike", ["two", "x"], ["c"]), helper.make_node("Mul", ["x", "c"], ["y"])]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        [numpy_helper.from_array(np.int64(2), "two")],
    )
    graph = convert(helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)]))
    assert [n.op for n in graph.nodes] == ["Mul"] and graph.weights["c"].dtype == np.float32
    np.testing.assert_array_equal(CPUBackend(graph).run_sync({"x": np.ones(3, np.float32)})["y"], [2, 2, 2])


def test_shape_subgraph_folds_away():
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape: only the Reshape is left, as in exports."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ]
    consts = [
        numpy_helper.from_array(np.int64(0), "zero"),
        numpy_helper.from_array(np.array([0], np.int64), "ax"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])],
        consts,
    )
    graph = convert(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))
    assert [n.op for n in graph.nodes] == ["Reshape"] and graph.nodes[0].attrs["shape"] == [2, 12]
    assert graph.weights == {}


def test_constant_of_shape_weights_fold_into_float32():
    nodes = [
        helper.make_node(
            "ConstantOfShape", ["ws"], ["w"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5])
        ),
        helper.make_node("MatMul", ["x", "w"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(np.array([3, 4], np.int64), "ws")],
    )
    graph = convert(helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)]))
    assert list(graph.weights) == ["w"] and graph.weights["w"].dtype == np.float32
    assert float(graph.weights["w"].sum()) == 6.0


def test_supported_table_links_every_op():
    from pycore.onnx import supported

    table = supported()
    assert len(table) > 50 and all(lo <= hi for _, lo, hi in table)
    for op, _, hi in table:  # every op named exists in ONNX at its highest handled version
        assert onnx.defs.get_schema(op, hi).since_version == hi, op


CONV3D = [
    ((1, 4, 5, 6, 7), (6, 2, 3, 2, 3), {"group": 2, "pads": [1, 0, 2, 2, 1, 0], "strides": [2, 1, 2]}),
    ((2, 3, 6, 5, 5), (4, 3, 2, 3, 3), {"dilations": [2, 1, 2], "pads": [0, 2, 1, 1, 0, 2]}),
    ((1, 3, 5, 6, 5), (4, 3, 2, 3, 3), {"strides": [2, 2, 1], "auto_pad": "SAME_UPPER"}),
]


@pytest.mark.parametrize("xs, ws, attrs", CONV3D)
def test_conv3d_as_conv2d(xs, ws, attrs):
    w = {"w": RNG.standard_normal(ws).astype(np.float32), "b": RNG.standard_normal(ws[0]).astype(np.float32)}
    check("Conv", x(*xs), w, attrs=attrs)


POOL3D = [
    {"kernel_shape": [2, 3, 2], "pads": [1, 1, 0, 1, 0, 1], "strides": [2, 2, 1], "ceil_mode": 1},
    {"kernel_shape": [3, 2, 2], "pads": [1, 0, 1, 1, 1, 0], "strides": [2, 1, 2], "count_include_pad": 1},
    {"kernel_shape": [3, 3, 3], "auto_pad": "SAME_LOWER", "strides": [2, 2, 2]},
    {"kernel_shape": [2, 2, 2], "dilations": [2, 1, 2]},
]


@pytest.mark.parametrize("attrs", POOL3D)
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pool3d_is_separable(op, attrs):
    if op == "MaxPool":
        attrs = {k: v for k, v in attrs.items() if k != "count_include_pad"}
    check(op, x(1, 2, 6, 7, 5), attrs=attrs, opset=19)


def test_handlers_cover_their_schemas():
    """Each op function accepts every attribute its ONNX versions define (bar deliberate refusals)
    and reaches the op's newest version, so a model at today's opset is never refused by accident."""
    from pycore.onnx.registry import IGNORED_ATTRS, OPS

    refused = {"Constant": {"sparse_value", "value_string", "value_strings"}}
    newest = onnx.defs.onnx_opset_version()
    for op, h in OPS.items():
        assert onnx.defs.get_schema(op, newest).since_version <= h.since[1], op
        for opset in range(h.since[0], newest + 1):
            schema = onnx.defs.get_schema(op, opset)
            if h.since[0] <= schema.since_version:
                missing = set(schema.attributes) - h.attrs - IGNORED_ATTRS - refused.get(op, set())
                assert not missing, f"{op}-{schema.since_version}: {sorted(missing)}"


@pytest.mark.parametrize("attrs", [{}, {"p": 1}, {"axis": 1, "p": 2}, {"axis": 0, "p": 1}])
def test_lp_normalization(attrs):
    inputs = x(3, 4, 5)
    inputs["x"][0, 0, :] = inputs["x"][:, 0, 0] = 0  # all-zero slices along some axes
    check("LpNormalization", inputs, attrs=attrs)
