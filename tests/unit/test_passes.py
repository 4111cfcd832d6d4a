"""The load-time passes: each rewrite must leave the expected node list and change no output."""

import json

import numpy as np
import pytest
from graphs import load, node

from pycore import ops
from pycore.cpu import CPUBackend
from pycore.graph import Graph
from pycore.model import Model


def rand(*shape, seed=0, lo=None, hi=None):
    rng = np.random.default_rng([seed, *shape])
    if lo is not None:
        return rng.uniform(lo, hi, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def optimised(nodes, feeds, weights=None, outputs=("y",), ops=None):
    """Optimises the graph, checks its node list, and compares every output with the graph run
    as written. Returns the optimised graph."""
    feeds = {k: np.asarray(v, np.float32) for k, v in feeds.items()}
    _, plain = load(nodes, feeds, weights, outputs)
    graph, fast = load(nodes, feeds, weights, outputs, optimize=True)
    if ops is not None:
        assert [n.op for n in graph.nodes] == ops
    want, got = plain.run_sync(feeds), fast.run_sync(feeds)
    assert sorted(got) == sorted(outputs)
    for t in outputs:
        assert got[t].shape == want[t].shape == graph.shapes[t]
        np.testing.assert_allclose(got[t], want[t], rtol=1e-4, atol=1e-5)
    return graph


def bn_weights(c, seed=10):
    return {
        "scale": rand(c, seed=seed, lo=0.5, hi=1.5),
        "beta": rand(c, seed=seed + 1),
        "mean": rand(c, seed=seed + 2),
        "var": rand(c, seed=seed + 3, lo=0.1, hi=2.0),
    }


BN_INPUTS = ["scale", "beta", "mean", "var"]


# --- BatchNormalization folding -----------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "c,group,m,attrs",
    [
        (3, 1, 5, {}),
        (3, 1, 5, {"strides": [2, 2], "pads": [0, 1, 1, 0]}),
        (8, 8, 8, {"pads": [1, 1, 1, 1]}),  # depthwise
        (4, 4, 8, {"pads": [1, 1, 1, 1]}),  # depthwise with a channel multiplier
        (6, 2, 4, {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ],
)
def test_fold_batchnorm(bias, c, group, m, attrs):
    x = rand(2, c, 7, 9)
    weights = {"w": rand(m, c // group, 3, 3, seed=1), "b": rand(m, seed=2), **bn_weights(m)}
    nodes = [
        node("Conv", ["x", "w", "b"] if bias else ["x", "w"], ["c"], group=group, **attrs),
        node("BatchNormalization", ["c", *BN_INPUTS], epsilon=1e-3),
    ]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv"])
    conv = graph.nodes[0]
    assert conv.outputs == ["y"]
    assert all(t in graph.weights for t in conv.inputs[1:])


def test_fold_batchnorm_1d():
    x = rand(2, 3, 11)
    weights = {"w": rand(4, 3, 3, seed=1), **bn_weights(4)}
    nodes = [node("Conv", ["x", "w"], ["c"], pads=[1, 1]), node("BatchNormalization", ["c", *BN_INPUTS])]
    optimised(nodes, {"x": x}, weights, ops=["Conv"])


def test_fold_batchnorm_leaves_shared_conv_output_alone():
    """The conv's output is read elsewhere too: folding would change what that reader sees."""
    x = rand(1, 3, 5, 6)
    weights = {"w": rand(4, 3, 1, 1, seed=1), **bn_weights(4)}
    nodes = [
        node("Conv", ["x", "w"], ["c"]),
        node("BatchNormalization", ["c", *BN_INPUTS], ["bn"], name="bn"),
        node("Add", ["c", "bn"], name="add"),
    ]
    optimised(nodes, {"x": x}, weights, ops=["Conv", "BatchNormalization", "Add"])


def test_fold_batchnorm_leaves_conv_graph_output_alone():
    x = rand(1, 3, 5, 6)
    weights = {"w": rand(4, 3, 3, 3, seed=1), **bn_weights(4)}
    nodes = [node("Conv", ["x", "w"], ["c"]), node("BatchNormalization", ["c", *BN_INPUTS])]
    optimised(nodes, {"x": x}, weights, outputs=("c", "y"), ops=["Conv", "BatchNormalization"])


def test_batchnorm_without_conv_stays():
    x = rand(2, 4, 3, 5)
    nodes = [node("Relu", ["x"], ["r"]), node("BatchNormalization", ["r", *BN_INPUTS])]
    optimised(nodes, {"x": x}, bn_weights(4), ops=["Relu", "BatchNormalization"])


def test_fold_batchnorm_keeps_shared_weights_intact():
    """Two convs share one weight; folding one BN must not change what the other conv computes."""
    x = rand(1, 3, 6, 6)
    weights = {"w": rand(4, 3, 3, 3, seed=1), **bn_weights(4)}
    nodes = [
        node("Conv", ["x", "w"], ["c1"], name="c1"),
        node("BatchNormalization", ["c1", *BN_INPUTS], ["b1"], name="bn"),
        node("Conv", ["x", "w"], ["c2"], name="c2"),
        node("Add", ["b1", "c2"], name="add"),
    ]
    optimised(nodes, {"x": x}, weights, ops=["Conv", "Conv"])


# --- a per-channel Mul or Add after a Conv or BatchNormalization --------------------------------


@pytest.mark.parametrize("scale_shape", [(4, 1, 1), (1, 4, 1, 1), (1,), ()])
@pytest.mark.parametrize("bias", [True, False])
def test_a_scale_layer_after_a_conv_folds_into_it(scale_shape, bias):
    """Caffe's Scale after a folded BatchNorm, as the light models have it: conv, * gamma, + beta,
    then ReLU: one Conv with its ReLU fused."""
    x = rand(2, 3, 7, 9)
    weights = {"w": rand(4, 3, 3, 3, seed=1), "b": rand(4, seed=2)}
    weights |= {"gamma": rand(*scale_shape, seed=3), "beta": rand(*scale_shape, seed=4)}
    nodes = [
        node("Conv", ["x", "w", "b"] if bias else ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        node("Mul", ["c", "gamma"], ["scaled"], name="scale"),
        node("Add", ["beta", "scaled"], ["shifted"], name="shift"),  # the constant first: either side
        node("Relu", ["shifted"]),
    ]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv"])
    assert graph.nodes[0].attrs["activation"] == "Relu"


def test_a_scale_layer_after_a_batchnorm_folds_into_it():
    x = rand(2, 4, 5, 6)
    weights = {**bn_weights(4), "gamma": rand(4, 1, 1, seed=3), "beta2": rand(4, 1, 1, seed=4)}
    nodes = [
        node("Relu", ["x"], ["r"]),  # no conv before it: the BatchNorm stays
        node("BatchNormalization", ["r", *BN_INPUTS], ["bn"], name="bn"),
        node("Mul", ["bn", "gamma"], ["scaled"], name="scale"),
        node("Add", ["scaled", "beta2"], name="shift"),
    ]
    optimised(nodes, {"x": x}, weights, ops=["Relu", "BatchNormalization"])


@pytest.mark.parametrize(
    "constant, why",
    [
        ((1, 4, 5, 1), "varies along a spatial axis"),
        ((2, 4, 1, 1), "varies along the batch"),
        ((4, 5, 6), "not per channel"),
    ],
)
def test_a_constant_that_is_not_per_channel_stays(constant, why):
    x = rand(2, 3, 5, 6)
    weights = {"w": rand(4, 3, 1, 1, seed=1), "k": rand(*constant, seed=3)}
    nodes = [node("Conv", ["x", "w"], ["c"]), node("Mul", ["c", "k"], name="scale")]
    optimised(nodes, {"x": x}, weights, ops=["Conv", "Mul"])


def test_a_scale_of_a_conv_output_read_elsewhere_stays():
    x = rand(1, 3, 5, 6)
    weights = {"w": rand(4, 3, 1, 1, seed=1), "gamma": rand(4, 1, 1, seed=3)}
    nodes = [
        node("Conv", ["x", "w"], ["c"]),
        node("Mul", ["c", "gamma"], ["s"], name="scale"),
        node("Sub", ["s", "c"], name="sub"),
    ]
    optimised(nodes, {"x": x}, weights, ops=["Conv", "Mul", "Sub"])


def test_a_run_time_scale_stays():
    x, g = rand(1, 3, 5, 6), rand(1, 4, 1, 1, seed=3)
    nodes = [node("Conv", ["x", "w"], ["c"]), node("Mul", ["c", "g"], name="scale")]
    optimised(nodes, {"x": x, "g": g}, {"w": rand(4, 3, 1, 1, seed=1)}, ops=["Conv", "Mul"])


# --- activation epilogues -----------------------------------------------------------------------

ACTIVATIONS = [
    ("Relu", {}, {}),
    ("Clip", {"min": 0.0, "max": 6.0}, {"act_min": 0.0, "act_max": 6.0}),  # ReLU6
    ("Sigmoid", {}, {}),
    ("LeakyRelu", {"alpha": 0.2}, {"act_alpha": 0.2}),
    ("LeakyRelu", {}, {"act_alpha": 0.01}),
    ("Tanh", {}, {}),
    ("Gelu", {"approximate": "tanh"}, {"act_approximate": "tanh"}),
    ("HardSigmoid", {"alpha": 0.3}, {"act_alpha": 0.3, "act_beta": 0.5}),
    ("HardSwish", {}, {}),
    ("Softplus", {}, {}),
    ("Softsign", {}, {}),
    ("Mish", {}, {}),
]


def test_every_activation_has_a_case():
    assert {act for act, _, _ in ACTIVATIONS} == set(ops.activations())


@pytest.mark.parametrize("act,attrs,fused", ACTIVATIONS)
def test_conv_bias_activation(act, attrs, fused):
    x = rand(1, 3, 7, 9) * 3
    weights = {"w": rand(5, 3, 3, 3, seed=1), "b": rand(5, seed=2)}
    nodes = [node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), node(act, ["c"], **attrs)]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv"])
    assert graph.nodes[0].attrs["activation"] == act
    assert {k: graph.nodes[0].attrs[k] for k in fused} == fused
    assert graph.nodes[0].outputs == ["y"]


@pytest.mark.parametrize("act,attrs,fused", ACTIVATIONS)
@pytest.mark.parametrize("op", ["Gemm", "MatMul"])
def test_matrix_product_activation(op, act, attrs, fused):
    x = rand(7, 5) * 3
    weights = {"w": rand(5, 13, seed=1), "c": rand(13, seed=2)}
    ins = ["x", "w", "c"] if op == "Gemm" else ["x", "w"]
    graph = optimised([node(op, ins, ["m"]), node(act, ["m"], **attrs)], {"x": x}, weights, ops=[op])
    assert graph.nodes[0].attrs["activation"] == act


def test_conv_bn_relu6_is_one_node():
    x = rand(1, 3, 9, 9)
    weights = {"w": rand(8, 3, 3, 3, seed=1), **bn_weights(8)}
    nodes = [
        node("Conv", ["x", "w"], ["c"], strides=[2, 2], auto_pad="SAME_UPPER"),
        node("BatchNormalization", ["c", *BN_INPUTS], ["b"], epsilon=1e-3),
        node("Clip", ["b"], min=0.0, max=6.0),
    ]
    optimised(nodes, {"x": x}, weights, ops=["Conv"])


def test_activation_not_fused_when_output_is_shared():
    x = rand(1, 2, 5, 5)
    weights = {"w": rand(3, 2, 3, 3, seed=1)}
    nodes = [
        node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        node("Relu", ["c"], ["r"]),
        node("Add", ["c", "r"]),
    ]
    optimised(nodes, {"x": x}, weights, ops=["Conv", "Relu", "Add"])


def test_activation_not_fused_when_pre_activation_is_a_graph_output():
    x = rand(1, 2, 5, 5)
    weights = {"w": rand(3, 2, 3, 3, seed=1)}
    nodes = [node("Conv", ["x", "w"], ["c"]), node("Relu", ["c"])]
    optimised(nodes, {"x": x}, weights, outputs=("c", "y"), ops=["Conv", "Relu"])


def test_other_unary_ops_are_not_fused():
    x = rand(1, 2, 5, 5)
    weights = {"w": rand(3, 2, 3, 3, seed=1)}
    nodes = [node("Conv", ["x", "w"], ["c"]), node("Exp", ["c"])]
    optimised(nodes, {"x": x}, weights, ops=["Conv", "Exp"])


# --- residual Add -------------------------------------------------------------------------------


@pytest.mark.parametrize("skip_first", [False, True])
@pytest.mark.parametrize("act", [None, "Relu", "Clip"])
def test_residual_add(skip_first, act):
    x = rand(1, 4, 7, 9)
    weights = {"w": rand(4, 4, 3, 3, seed=1), "b": rand(4, seed=2)}
    add_ins = ["x", "c"] if skip_first else ["c", "x"]
    nodes = [node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1])]
    if act is None:
        nodes.append(node("Add", add_ins))
    else:
        clip = {"min": 0.0, "max": 6.0} if act == "Clip" else {}
        nodes += [node("Add", add_ins, ["s"]), node(act, ["s"], **clip)]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv"])
    conv = graph.nodes[0]
    assert conv.inputs[-1] == "x"
    assert conv.attrs.get("activation") == act


def test_resnet_basic_block():
    """conv-bn-relu, conv-bn, + skip, relu: two nodes."""
    x = rand(2, 4, 7, 9)
    weights = {
        "w1": rand(4, 4, 3, 3, seed=1) * 0.3,
        "w2": rand(4, 4, 3, 3, seed=2) * 0.3,
        **bn_weights(4, seed=10),
        **{f"{k}2": v for k, v in bn_weights(4, seed=20).items()},
    }
    p = {"pads": [1, 1, 1, 1]}
    nodes = [
        node("Conv", ["x", "w1"], ["c1"], name="c1", **p),
        node("BatchNormalization", ["c1", *BN_INPUTS], ["b1"], name="bn1"),
        node("Relu", ["b1"], ["r1"], name="r1"),
        node("Conv", ["r1", "w2"], ["c2"], name="c2", **p),
        node("BatchNormalization", ["c2", *[f"{k}2" for k in BN_INPUTS]], ["b2"], name="bn2"),
        node("Add", ["b2", "x"], ["s"], name="add"),
        node("Relu", ["s"], name="r2"),
    ]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv", "Conv"])
    assert graph.nodes[1].inputs[-1] == "x" and graph.nodes[1].attrs["activation"] == "Relu"


def test_residual_from_a_later_branch():
    """The skip tensor is computed after the conv that the Add is fused into: the fused node
    must move to where the Add was, after its new input exists."""
    x = rand(1, 3, 6, 7)
    weights = {"w1": rand(4, 3, 1, 1, seed=1), "w2": rand(4, 3, 3, 3, seed=2)}
    nodes = [
        node("Conv", ["x", "w1"], ["a"], name="a"),
        node("Conv", ["x", "w2"], ["b"], name="b", pads=[1, 1, 1, 1]),
        node("Relu", ["b"], ["rb"], name="rb"),
        node("Add", ["a", "rb"], name="add"),
    ]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv", "Conv"])
    assert [n.name for n in graph.nodes] == ["b", "a"]


def test_two_convs_into_one_add():
    x = rand(1, 3, 6, 7)
    weights = {"w1": rand(4, 3, 3, 3, seed=1), "w2": rand(4, 3, 3, 3, seed=2)}
    p = {"pads": [1, 1, 1, 1]}
    nodes = [
        node("Conv", ["x", "w1"], ["a"], name="a", **p),
        node("Conv", ["x", "w2"], ["b"], name="b", **p),
        node("Add", ["a", "b"], ["s"], name="add"),
        node("Relu", ["s"], name="relu"),
    ]
    optimised(nodes, {"x": x}, weights, ops=["Conv", "Conv"])


@pytest.mark.parametrize("op", ["Gemm", "MatMul"])
def test_matrix_product_residual(op):
    x, r = rand(7, 5), rand(7, 13, seed=3)
    weights = {"w": rand(5, 13, seed=1), "r": r}
    ins = ["x", "w"]
    nodes = [node(op, ins, ["m"]), node("Add", ["r", "m"], ["s"]), node("Sigmoid", ["s"])]
    graph = optimised(nodes, {"x": x}, weights, ops=[op])
    assert graph.nodes[0].inputs[-1] == "r"


def test_a_sum_of_two_is_a_residual_like_add():
    """ResNet-50 as the light models export it: Sum(conv, shortcut) then Relu."""
    x = rand(1, 4, 6, 6)
    weights = {"w": rand(4, 4, 3, 3, seed=1)}
    nodes = [
        node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        node("Sum", ["c", "x"], ["s"], name="sum"),
        node("Relu", ["s"]),
    ]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv"])
    assert graph.nodes[0].inputs[3] == "x" and graph.nodes[0].attrs["activation"] == "Relu"


def test_a_sum_of_three_is_not_a_residual():
    x = rand(1, 4, 6, 6)
    nodes = [node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), node("Sum", ["c", "x", "x"], name="sum")]
    optimised(nodes, {"x": x}, {"w": rand(4, 4, 3, 3, seed=1)}, ops=["Conv", "Sum"])


def test_broadcast_add_is_not_a_residual():
    """MatMul + bias vector (PyTorch's Linear as exported to ONNX): the Add broadcasts, so it is a
    bias, not a residual of the same shape; it must stay and the activation must not jump it."""
    x = rand(7, 5)
    weights = {"w": rand(5, 13, seed=1), "bias": rand(13, seed=2)}
    nodes = [node("MatMul", ["x", "w"], ["m"]), node("Add", ["m", "bias"], ["s"]), node("Relu", ["s"])]
    optimised(nodes, {"x": x}, weights, ops=["MatMul", "Add", "Relu"])


def test_add_of_a_tensor_with_itself_is_not_a_residual():
    x = rand(1, 2, 5, 5)
    weights = {"w": rand(2, 2, 1, 1, seed=1)}
    nodes = [node("Conv", ["x", "w"], ["c"]), node("Add", ["c", "c"])]
    optimised(nodes, {"x": x}, weights, ops=["Conv", "Add"])


# --- Identity and Dropout -----------------------------------------------------------------------


@pytest.mark.parametrize("op", ["Identity", "Dropout"])
def test_noop_in_the_middle(op):
    x = rand(1, 2, 5, 5)
    weights = {"w": rand(3, 2, 3, 3, seed=1)}
    nodes = [node("Conv", ["x", "w"], ["c"]), node(op, ["c"], ["d"]), node("Relu", ["d"])]
    optimised(nodes, {"x": x}, weights, ops=["Conv"])


@pytest.mark.parametrize("op", ["Identity", "Dropout"])
def test_noop_producing_the_graph_output(op):
    """The public output name survives: the producer takes it over."""
    x = rand(1, 2, 5, 5)
    weights = {"w": rand(3, 2, 3, 3, seed=1)}
    nodes = [node("Conv", ["x", "w"], ["c"]), node("Relu", ["c"], ["r"]), node(op, ["r"])]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv"])
    assert graph.outputs == ["y"] and graph.nodes[0].outputs == ["y"]


@pytest.mark.parametrize("op", ["Identity", "Dropout"])
def test_noop_output_whose_input_is_read_elsewhere(op):
    x = rand(2, 3)
    nodes = [node("Relu", ["x"], ["r"]), node(op, ["r"]), node("Neg", ["r"], ["n"], name="neg")]
    optimised(nodes, {"x": x}, outputs=("y", "n"), ops=["Relu", "Neg"])


@pytest.mark.parametrize("op", ["Identity", "Dropout"])
def test_noop_on_a_graph_input_to_a_graph_output(op):
    """Nothing produces the input, so the copy stays; it must still run."""
    x = rand(2, 3)
    graph = optimised([node(op, ["x"])], {"x": x})
    assert [n.op for n in graph.nodes] in (["Identity"], [op])
    assert graph.outputs == ["y"]
    np.testing.assert_array_equal(Model(graph, CPUBackend(graph)).run(x), x)


@pytest.mark.parametrize("op", ["Identity", "Dropout"])
def test_noop_between_two_graph_outputs(op):
    """Both the no-op's input and its output are graph outputs: both names must survive."""
    x = rand(2, 3)
    nodes = [node("Relu", ["x"], ["r"]), node(op, ["r"])]
    graph = optimised(nodes, {"x": x}, outputs=("r", "y"))
    assert [n.op for n in graph.nodes] in (["Relu", "Identity"], ["Relu", op])


def test_two_noops_on_one_tensor_both_graph_outputs():
    x = rand(2, 3)
    nodes = [
        node("Relu", ["x"], ["r"]),
        node("Identity", ["r"], ["a"], name="i1"),
        node("Identity", ["r"], ["b"], name="i2"),
    ]
    optimised(nodes, {"x": x}, outputs=("a", "b"), ops=["Relu", "Identity"])


def test_noop_chain():
    x = rand(2, 3)
    nodes = [
        node("Relu", ["x"], ["r"]),
        node("Identity", ["r"], ["i"], name="i"),
        node("Dropout", ["i"], ["d"], name="d", ratio=0.2),
        node("Identity", ["d"], name="j"),
    ]
    optimised(nodes, {"x": x}, ops=["Relu"])


def test_identity_on_a_weight():
    x = rand(1, 2, 5, 5)
    weights = {"w": rand(3, 2, 3, 3, seed=1)}
    nodes = [node("Identity", ["w"], ["wi"], name="i"), node("Conv", ["x", "wi"], ["c"]), node("Relu", ["c"])]
    graph = optimised(nodes, {"x": x}, weights, ops=["Conv"])
    assert graph.nodes[0].inputs[1] == "w"


def test_optimised_graph_round_trips_through_json():
    """The rewritten graph is still a valid pycore/1 document."""
    x = rand(1, 3, 7, 9)
    weights = {"w": rand(4, 3, 3, 3, seed=1), **bn_weights(4)}
    nodes = [
        node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["c", *BN_INPUTS], ["b"]),
        node("Relu", ["b"]),
    ]
    graph, backend = load(nodes, {"x": x}, weights, optimize=True)
    again = Graph.from_json(json.dumps(graph.to_json()), graph.weights)
    assert [n.op for n in again.nodes] == ["Conv"]
    np.testing.assert_array_equal(CPUBackend(again).run_sync({"x": x})["y"], backend.run_sync({"x": x})["y"])
