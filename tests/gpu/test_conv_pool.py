"""Conv and pooling kernels against the CPU path: every stride / padding / dilation / group
combination, odd channel counts, and output sizes that are not multiples of the tile sizes."""

import itertools

import numpy as np
import pytest
from gpu_harness import check, node, rand

from pycore import ops

# (input shape, group, output channels): plain, one input channel (MNIST's first layer), depthwise,
# depthwise with a channel multiplier, grouped, and a tile-crossing channel count (37 > 32)
GROUPINGS = [
    ((1, 3, 13, 11), 1, 5),
    ((2, 1, 9, 10), 1, 7),
    ((1, 7, 10, 9), 7, 7),
    ((1, 3, 9, 7), 3, 6),
    ((2, 6, 8, 9), 2, 4),
    ((1, 5, 12, 7), 1, 37),
]
PADS = {
    "none": lambda r: [0, 0, 0, 0],
    "same": lambda r: [r // 2] * 4,
    "asym": lambda r: [0, 1, r // 2 + 1, 0],
}


def conv_case(shape, group, m, kernel, stride, dilation, pads, seed=0, **extra):
    w = rand(m, shape[1] // group, *kernel, seed=seed + 1)
    weights = {"w": w, "b": rand(m, seed=seed + 2)}
    attrs = dict(strides=stride, dilations=dilation, pads=pads, group=group, kernel_shape=kernel, **extra)
    return [node("Conv", ["x", "w", "b"], **attrs)], {"x": rand(*shape, seed=seed)}, weights


@pytest.mark.parametrize(
    "grouping,stride,dilation,pad",
    list(itertools.product(GROUPINGS, [1, 2], [1, 2], PADS)),
    ids=lambda v: "x".join(map(str, v[0])) + f"g{v[1]}m{v[2]}" if isinstance(v, tuple) else str(v),
)
def test_conv_3x3(grouping, stride, dilation, pad):
    shape, group, m = grouping
    pads = PADS[pad]((3 - 1) * dilation)
    check(*conv_case(shape, group, m, [3, 3], [stride] * 2, [dilation] * 2, pads))


@pytest.mark.parametrize(
    "kernel,stride,pads",
    [([1, 1], [1, 1], [0, 0, 0, 0]), ([1, 1], [2, 2], [0, 0, 0, 0]), ([5, 5], [2, 2], [1, 2, 2, 1]),
     ([3, 1], [1, 2], [1, 0, 1, 0]), ([2, 4], [3, 1], [0, 2, 1, 1]), ([7, 7], [1, 1], [3, 3, 3, 3])],
)  # fmt: skip
@pytest.mark.parametrize("grouping", [GROUPINGS[0], GROUPINGS[2], GROUPINGS[5]])
def test_conv_kernel_shapes(kernel, stride, pads, grouping):
    shape, group, m = grouping
    check(*conv_case(shape, group, m, kernel, stride, [1, 1], pads))


def test_conv_large_tiles():
    """Several workgroups in every direction: 70 x 70 pixels, 40 output channels, 20 input."""
    check(*conv_case((1, 20, 70, 70), 1, 40, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]))


def test_conv1d_runs_as_2d():
    for group, m in [(1, 6), (4, 8)]:
        w = rand(m, 4 // group, 3, seed=3)
        nodes = [node("Conv", ["x", "w", "b"], strides=[2], pads=[1, 2], group=group, dilations=[2])]
        check(nodes, {"x": rand(2, 4, 17)}, {"w": w, "b": rand(m)})


@pytest.mark.parametrize("act", [None, *ops.activations()])
@pytest.mark.parametrize("grouping", [GROUPINGS[0], GROUPINGS[2]])
def test_conv_fused_epilogue(act, grouping):
    """Conv -> Add(residual) -> activation, fused by the passes into one dispatch."""
    shape, group, m = grouping
    nodes, feeds, weights = conv_case(shape, group, m, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1])
    nodes[0]["outputs"] = ["c"]
    feeds["r"] = rand(shape[0], m, *shape[2:], seed=9)
    nodes.append(node("Add", ["c", "r"], ["s"]))
    attrs = {"Clip": {"min": 0.0, "max": 6.0}, "LeakyRelu": {"alpha": 0.2}, "Gelu": {"approximate": "tanh"}}
    attrs = {**attrs, "HardSigmoid": {"alpha": 0.3, "beta": 0.4}}.get(act, {})
    nodes.append(node(act, ["s"], **attrs) if act else node("Identity", ["s"]))
    check(nodes, feeds, weights, optimize=True)


def test_conv_without_bias():
    nodes = [node("Conv", ["x", "w"], pads=[1, 1, 1, 1])]
    check(nodes, {"x": rand(1, 3, 6, 7)}, {"w": rand(4, 3, 3, 3)})


POOLS = [
    # kernel, strides, pads, dilations, ceil_mode
    ([2, 2], [2, 2], [0, 0, 0, 0], [1, 1], 0),
    ([3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 0),
    ([3, 3], [2, 2], [0, 0, 0, 0], [1, 1], 1),
    ([3, 2], [1, 2], [1, 0, 2, 1], [1, 1], 1),
    ([2, 2], [1, 1], [0, 0, 0, 0], [2, 2], 0),
    ([3, 3], [3, 3], [1, 1, 1, 1], [1, 1], 1),
]


@pytest.mark.parametrize("window", POOLS, ids=str)
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool0", "AveragePool1"])
def test_pool2d(op, window):
    k, s, p, d, ceil = window
    attrs = dict(kernel_shape=k, strides=s, pads=p, ceil_mode=ceil)
    if op == "MaxPool":
        attrs["dilations"] = d
    elif d != [1, 1]:
        attrs["dilations"] = d
    if op.startswith("AveragePool"):
        attrs["count_include_pad"] = int(op[-1])
        op = "AveragePool"
    check([node(op, ["x"], **attrs)], {"x": rand(2, 3, 11, 10)})


def test_pool1d():
    check([node("MaxPool", ["x"], kernel_shape=[3], strides=[2], pads=[1, 1])], {"x": rand(1, 5, 19)})
    attrs = dict(kernel_shape=[4], strides=[3], pads=[2, 1], count_include_pad=1, ceil_mode=1)
    check([node("AveragePool", ["x"], **attrs)], {"x": rand(2, 3, 20)})


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("shape", [(1, 3, 7, 7), (2, 37, 1, 1), (2, 5, 30, 31), (1, 4, 9)])
def test_global_pool(op, shape):
    check([node(op, ["x"])], {"x": rand(*shape)})


def test_batchnorm_and_lrn():
    c = 7
    bn = {
        "s": rand(c, seed=1),
        "bb": rand(c, seed=2),
        "mu": rand(c, seed=3),
        "var": np.abs(rand(c, seed=4)) + 0.1,
    }
    check(
        [node("BatchNormalization", ["x", "s", "bb", "mu", "var"], epsilon=1e-3)], {"x": rand(2, c, 5, 6)}, bn
    )
    for size in (1, 3, 4, 5):
        check([node("LRN", ["x"], size=size, alpha=1e-3, beta=0.75, bias=2.0)], {"x": rand(2, c, 4, 3)})
