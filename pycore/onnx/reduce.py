"""Reductions and the ops built on them: Softmax, LogSoftmax, ReduceSum/Mean/Max."""

import math

from .registry import onnx_op


def _coerced_axes(node, shape):
    """Opsets < 13 flatten the input to 2-d at `axis` (default 1): the op runs over all dims from
    `axis` on together, not over `axis` alone."""
    r = len(shape)
    if node.version >= 13:
        axis = node.attr("axis", -1)
        if not -r <= axis < r:
            node.fail(f"axis {axis} for rank {r}")
        return [axis % r]
    axis = node.attr("axis", 1)
    if not -r <= axis < r:
        node.fail(f"axis {axis} for rank {r}")
    return list(range(axis % r, r))


# https://onnx.ai/onnx/operators/onnx__Softmax.html: versions 1..13; before 13 over the 2-d
# coercion at `axis`, which becomes a reshape around a one-axis Softmax when it matters.
@onnx_op("Softmax", (1, 13), ["axis"])
def softmax(ctx, node):
    x, out = node.input(0), node.output(0)
    shape = ctx.shape(x)
    axes = _coerced_axes(node, shape)
    if all(shape[a] == 1 for a in axes[1:]):  # one axis in effect
        return ctx.emit("Softmax", [x], out, axis=axes[0])
    flat = ctx.reshape(x, (math.prod(shape[: axes[0]]), math.prod(shape[axes[0] :])))
    ctx.reshape(ctx.emit("Softmax", [flat], axis=1), shape, out)


# https://onnx.ai/onnx/operators/onnx__LogSoftmax.html: versions 1..13, composed as
# (x - max) - log(sum(exp(x - max))) over the same axes as Softmax.
@onnx_op("LogSoftmax", (1, 13), ["axis"])
def log_softmax(ctx, node):
    x = node.input(0)
    axes = _coerced_axes(node, ctx.shape(x))
    y = ctx.emit("Sub", [x, ctx.emit("ReduceMax", [x], axes=axes, keepdims=1)])
    total = ctx.emit("ReduceSum", [ctx.emit("Exp", [y])], axes=axes, keepdims=1)
    ctx.emit("Sub", [y, ctx.emit("Log", [total])], node.output(0))


# https://onnx.ai/onnx/operators/onnx__ReduceSum.html (versions 1..13, axes an input from 13),
# onnx__ReduceMean.html (1..18) and onnx__ReduceMax.html (1..20; axes an input from 18).
@onnx_op("ReduceSum", (1, 13), ["axes", "keepdims", "noop_with_empty_axes"])
@onnx_op("ReduceMean", (1, 18), ["axes", "keepdims", "noop_with_empty_axes"])
@onnx_op("ReduceMax", (1, 20), ["axes", "keepdims", "noop_with_empty_axes"])
def reduce(ctx, node):
    from_input = node.version >= (13 if node.op == "ReduceSum" else 18)
    if from_input:
        axes = [int(a) for a in ctx.const(node.input(1), "axes").reshape(-1)] if node.input(1) else []
    else:
        axes = list(node.attr("axes", []))
    if not axes and node.attr("noop_with_empty_axes", 0):
        return ctx.set(node.output(0), node.input(0))
    keep = int(node.attr("keepdims", 1))
    ctx.emit(node.op, [node.input(0)], node.output(0), axes=axes or None, keepdims=keep)
