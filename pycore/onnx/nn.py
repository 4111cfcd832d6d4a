"""Layers: convolution, pooling, normalisation, dropout and the matrix products."""

import math

import numpy as np

from .registry import onnx_op
from .volumetric import conv3d, pool3d

WINDOW = ["auto_pad", "dilations", "kernel_shape", "pads", "strides"]


def _spatial(ctx, node, x, most=2):
    """The IR convolves and pools over 1 or 2 spatial dims; 3-d is rewritten onto 2-d here."""
    rank = len(ctx.shape(x))
    if not 3 <= rank <= most + 2:
        node.fail(f"{rank - 2}-d {node.op} is not supported (pycore handles 1-d to {most}-d)")
    return rank - 2


def _given(node, names):
    return {k: node.attr(k) for k in names if k in node.attrs}


def _only_first_output(ctx, node):
    extra = [t for t in node.outputs[1:] if t in ctx.read]
    if extra:
        node.fail(f"outputs {extra} are read, but only the first output is supported")


# https://onnx.ai/onnx/operators/onnx__Conv.html: versions 1..22
@onnx_op("Conv", (1, 22), [*WINDOW, "group"])
def conv(ctx, node):
    x, w, b = node.input(0), node.input(1), node.input(2)
    nd = _spatial(ctx, node, x, most=3)
    k = node.attr("kernel_shape")
    if k is not None and list(k) != list(ctx.shape(w)[2:]):
        node.fail(f"kernel_shape {list(k)} disagrees with the weight's shape {list(ctx.shape(w))}")
    if nd == 3:
        return conv3d(ctx, node, x, w, b)
    attrs = _given(node, ["auto_pad", "dilations", "pads", "strides", "group"])
    ctx.emit("Conv", [x, w, b] if b else [x, w], node.output(0), **attrs)


# https://onnx.ai/onnx/operators/onnx__MaxPool.html: versions 1..22 (the Indices output of 8+ is
# refused; storage_order only matters for it)
@onnx_op("MaxPool", (1, 22), [*WINDOW, "ceil_mode", "storage_order"])
def max_pool(ctx, node):
    _only_first_output(ctx, node)
    if _spatial(ctx, node, node.input(0), most=3) == 3:
        return pool3d(ctx, node, node.input(0), {})
    attrs = _given(node, [*WINDOW, "ceil_mode"])
    ctx.emit("MaxPool", [node.input(0)], node.output(0), **attrs)


# https://onnx.ai/onnx/operators/onnx__AveragePool.html: versions 1..22
@onnx_op("AveragePool", (1, 22), [*WINDOW, "ceil_mode", "count_include_pad"])
def average_pool(ctx, node):
    if _spatial(ctx, node, node.input(0), most=3) == 3:
        return pool3d(ctx, node, node.input(0), {"count_include_pad": node.attr("count_include_pad", 0)})
    attrs = _given(node, [*WINDOW, "ceil_mode", "count_include_pad"])
    ctx.emit("AveragePool", [node.input(0)], node.output(0), **attrs)


# https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html and onnx__GlobalMaxPool.html: 1..22
@onnx_op("GlobalAveragePool", (1, 22))
@onnx_op("GlobalMaxPool", (1, 22))
def global_pool(ctx, node):
    ctx.emit(node.op, [node.input(0)], node.output(0))


# https://onnx.ai/onnx/operators/onnx__BatchNormalization.html: versions 1..15, inference form.
# Opsets < 7 carry is_test; every runtime treats a single-output node as inference, and so do we.
# The training outputs (running and saved statistics) are refused.
@onnx_op("BatchNormalization", (1, 15), ["epsilon", "momentum", "is_test", "spatial", "training_mode"])
def batch_norm(ctx, node):
    _only_first_output(ctx, node)
    if node.attr("spatial", 1) != 1:
        node.fail("spatial=0 (per-activation statistics) is not supported")
    if node.attr("training_mode", 0):
        node.fail("training_mode=1 is not supported (inference only)")
    ins = [node.input(k) for k in range(5)]
    ctx.emit("BatchNormalization", ins, node.output(0), epsilon=float(node.attr("epsilon", 1e-5)))


def _per_channel(ctx, t, rank):
    """A [C] tensor shaped to broadcast over (N, C, ...)."""
    return ctx.reshape(t, (ctx.shape(t)[0], *[1] * (rank - 2)))


# https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html: versions 1..22, composed:
# (x - mean) / sqrt(var + eps) * scale + bias, statistics over the spatial dims.
@onnx_op("InstanceNormalization", (1, 22), ["epsilon"])
def instance_norm(ctx, node):
    x = node.input(0)
    rank = len(ctx.shape(x))
    axes = list(range(2, rank))
    d = ctx.emit("Sub", [x, ctx.emit("ReduceMean", [x], axes=axes, keepdims=1)])
    var = ctx.emit("ReduceMean", [ctx.emit("Mul", [d, d])], axes=axes, keepdims=1)
    eps = ctx.constant(np.float32(node.attr("epsilon", 1e-5)), "eps")
    y = ctx.emit("Div", [d, ctx.emit("Sqrt", [ctx.emit("Add", [var, eps])])])
    y = ctx.emit("Mul", [y, _per_channel(ctx, node.input(1), rank)])
    ctx.emit("Add", [y, _per_channel(ctx, node.input(2), rank)], node.output(0))


def _stash_type(node):
    if node.attr("stash_type", 1) != 1:
        node.fail(f"stash_type={node.attr('stash_type')} is not supported (pycore computes in float32)")


def _normalised_like(ctx, t, shape):
    """Scale or bias broadcast to exactly `shape`, as the IR op takes them (folds when constant)."""
    if t and tuple(ctx.shape(t)) != tuple(shape):
        return ctx.emit("Expand", [t], shape=list(shape))
    return t


# https://onnx.ai/onnx/operators/onnx__LayerNormalization.html: version 17, any axis; the optional
# Mean and InvStdDev outputs are computed beside it (ReduceMean, keepdims) when something reads them.
@onnx_op("LayerNormalization", (17, 17), ["axis", "epsilon", "stash_type"])
def layer_norm(ctx, node):
    _stash_type(node)
    x = node.input(0)
    rank = len(ctx.shape(x))
    axis, eps = node.attr("axis", -1), float(node.attr("epsilon", 1e-5))
    if not -rank <= axis < rank:
        node.fail(f"axis {axis} for rank {rank}")
    axis %= rank
    row = ctx.shape(x)[axis:]
    scale, bias = (_normalised_like(ctx, node.input(k), row) for k in (1, 2))
    ctx.emit(
        "LayerNormalization", [x, scale, bias] if bias else [x, scale], node.output(0), axis=axis, epsilon=eps
    )
    if node.output(1) in ctx.read or node.output(2) in ctx.read:
        axes = list(range(axis, rank))
        mean = ctx.emit("ReduceMean", [x], node.output(1) or None, axes=axes, keepdims=1)
        d = ctx.emit("Sub", [x, mean])
        var = ctx.emit("ReduceMean", [ctx.emit("Mul", [d, d])], axes=axes, keepdims=1)
        std = ctx.emit("Sqrt", [ctx.emit("Add", [var, ctx.constant(np.float32(eps), "eps")])])
        ctx.emit("Div", [ctx.constant(np.float32(1), "one"), std], node.output(2) or None)


def _per_group_to_channels(ctx, t, groups, channels):
    """GroupNormalization-18's scale and bias hold one value per group; give each channel its group's."""
    t = ctx.emit("Expand", [ctx.reshape(t, (groups, 1))], shape=[groups, channels // groups])
    return ctx.reshape(t, (channels,))


# https://onnx.ai/onnx/operators/onnx__GroupNormalization.html: versions 18 (scale and bias per
# group) and 21 (per channel), composed: the (N, C, ...) input viewed as (N, groups, rest), one
# LayerNormalization over rest, then the per-channel scale and bias.
@onnx_op("GroupNormalization", (18, 21), ["epsilon", "num_groups", "stash_type"])
def group_norm(ctx, node):
    _stash_type(node)
    x = node.input(0)
    shape, groups = ctx.shape(x), int(node.attr("num_groups"))
    if len(shape) < 2 or groups < 1 or shape[1] % groups:
        node.fail(f"{groups} groups do not divide the channels of {list(shape)}")
    grouped = ctx.reshape(x, (shape[0], groups, math.prod(shape[1:]) // groups))
    y = ctx.emit("LayerNormalization", [grouped], axis=2, epsilon=float(node.attr("epsilon", 1e-5)))
    scale, bias = node.input(1), node.input(2)
    if node.version < 21:
        scale, bias = (_per_group_to_channels(ctx, t, groups, shape[1]) for t in (scale, bias))
    y = ctx.emit("Mul", [ctx.reshape(y, shape), _per_channel(ctx, scale, len(shape))])
    ctx.emit("Add", [y, _per_channel(ctx, bias, len(shape))], node.output(0))


# https://onnx.ai/onnx/operators/onnx__LRN.html: versions 1..13
@onnx_op("LRN", (1, 13), ["alpha", "beta", "bias", "size"])
def lrn(ctx, node):
    attrs = _given(node, ["alpha", "beta", "bias", "size"])
    ctx.emit("LRN", [node.input(0)], node.output(0), **attrs)


# https://onnx.ai/onnx/operators/onnx__Dropout.html: versions 1..22; identity at inference.
@onnx_op("Dropout", (1, 22), ["ratio", "is_test", "seed"])
def dropout(ctx, node):
    _only_first_output(ctx, node)
    if node.input(2) and ctx.const(node.input(2), "training_mode").any():
        node.fail("training_mode=true is not supported (inference only)")
    ctx.set(node.output(0), node.input(0))


# https://onnx.ai/onnx/operators/onnx__Gemm.html: versions 1..13 (1 and 6 carry a `broadcast`
# attribute; C broadcasts to (M, N) either way). beta=0 drops C.
@onnx_op("Gemm", (1, 13), ["alpha", "beta", "transA", "transB", "broadcast"])
def gemm(ctx, node):
    a, b, c = node.input(0), node.input(1), node.input(2)
    if len(ctx.shape(a)) != 2 or len(ctx.shape(b)) != 2:
        node.fail(f"A and B must be 2-d, got {list(ctx.shape(a))} and {list(ctx.shape(b))}")
    beta = float(node.attr("beta", 1.0))
    ins = [a, b, c] if c and beta != 0.0 else [a, b]
    attrs = {"alpha": float(node.attr("alpha", 1.0)), "beta": beta}
    attrs.update(transA=int(node.attr("transA", 0)), transB=int(node.attr("transB", 0)))
    ctx.emit("Gemm", ins, node.output(0), **attrs)


# https://onnx.ai/onnx/operators/onnx__MatMul.html: versions 1..13; 1-d operands are lifted to
# 2-d and the added dimension removed again, as numpy.matmul does.
@onnx_op("MatMul", (1, 13))
def matmul(ctx, node):
    a, b = node.input(0), node.input(1)
    sa, sb = ctx.shape(a), ctx.shape(b)
    if len(sa) > 1 and len(sb) > 1:
        return ctx.emit("MatMul", [a, b], node.output(0))
    a = ctx.reshape(a, (1, *sa)) if len(sa) == 1 else a
    b = ctx.reshape(b, (*sb, 1)) if len(sb) == 1 else b
    y = ctx.emit("MatMul", [a, b])
    shape = list(ctx.shape(y))
    if len(sb) == 1:
        shape.pop(-1)
    if len(sa) == 1:
        shape.pop(-2 if len(sb) > 1 else -1)
    ctx.reshape(y, shape, node.output(0))
