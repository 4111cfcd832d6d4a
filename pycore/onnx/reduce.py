"""Reductions and the ops built on them: Softmax, LogSoftmax, the Reduce* family."""

import math

import numpy as np

from .registry import onnx_op
from .shapes import one_hot, pick


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


REDUCE_ATTRS = ["axes", "keepdims", "noop_with_empty_axes"]


def _reduction(ctx, node):
    """{axes, keepdims} of a reduction: axes from the attribute, or from the constant second input
    (ReduceSum from 13, the others from 18); None reduces every axis, [] none (noop_with_empty_axes)."""
    if node.version >= (13 if node.op == "ReduceSum" else 18):
        axes = [int(a) for a in ctx.const(node.input(1), "axes").reshape(-1)] if node.input(1) else []
    else:
        axes = list(node.attr("axes", []))
    if not axes and not node.attr("noop_with_empty_axes", 0):
        axes = None
    return {"axes": axes, "keepdims": int(node.attr("keepdims", 1))}


# https://onnx.ai/onnx/operators/onnx__ReduceSum.html (versions 1..13), onnx__ReduceMean.html
# (1..18), onnx__ReduceMax.html and onnx__ReduceMin.html (1..20), onnx__ReduceProd.html (1..18):
# IR ops of their own. Empty sets give the identity (0, NaN, -inf, +inf, 1).
@onnx_op("ReduceSum", (1, 13), REDUCE_ATTRS)
@onnx_op("ReduceMean", (1, 18), REDUCE_ATTRS)
@onnx_op("ReduceMax", (1, 20), REDUCE_ATTRS)
@onnx_op("ReduceMin", (1, 20), REDUCE_ATTRS)
@onnx_op("ReduceProd", (1, 18), REDUCE_ATTRS)
def reduce(ctx, node):
    r = _reduction(ctx, node)
    if r["axes"] == []:
        return ctx.set(node.output(0), node.input(0))
    ctx.emit(node.op, [node.input(0)], node.output(0), **r)


def _log_sum_exp(ctx, x, out, r):
    """log(sum(exp(x - max))) + max: exp never sees a positive argument."""
    top = ctx.emit("ReduceMax", [x], axes=r["axes"], keepdims=1)
    total = ctx.emit("ReduceSum", [ctx.emit("Exp", [ctx.emit("Sub", [x, top])])], **r)
    shape = ctx.shape(total)
    return ctx.emit("Add", [ctx.emit("Log", [total]), ctx.reshape(top, shape)], out)


def _square(ctx, x):
    return ctx.emit("Mul", [x, x])


# reductions composed from the IR ops above (one elementwise pass more than a fused kernel; none
# is hot in image models): (IR steps from x to the output given the reduction's attributes)
COMPOSED = {
    "ReduceL1": lambda ctx, x, out, r: ctx.emit("ReduceSum", [ctx.emit("Abs", [x])], out, **r),
    "ReduceL2": lambda ctx, x, out, r: ctx.emit("Sqrt", [ctx.emit("ReduceSum", [_square(ctx, x)], **r)], out),
    "ReduceSumSquare": lambda ctx, x, out, r: ctx.emit("ReduceSum", [_square(ctx, x)], out, **r),
    "ReduceLogSum": lambda ctx, x, out, r: ctx.emit("Log", [ctx.emit("ReduceSum", [x], **r)], out),
    "ReduceLogSumExp": _log_sum_exp,
}


# https://onnx.ai/onnx/operators/onnx__ReduceL1.html, onnx__ReduceL2.html,
# onnx__ReduceSumSquare.html (versions 1..18), onnx__ReduceLogSum.html and
# onnx__ReduceLogSumExp.html (1..28; 28 removed the integer types)
@onnx_op("ReduceL1", (1, 18), REDUCE_ATTRS)
@onnx_op("ReduceL2", (1, 18), REDUCE_ATTRS)
@onnx_op("ReduceSumSquare", (1, 18), REDUCE_ATTRS)
@onnx_op("ReduceLogSum", (1, 28), REDUCE_ATTRS)
@onnx_op("ReduceLogSumExp", (1, 28), REDUCE_ATTRS)
def composed(ctx, node):
    COMPOSED[node.op](ctx, node.input(0), node.output(0), _reduction(ctx, node))


# https://onnx.ai/onnx/operators/onnx__ArgMax.html and onnx__ArgMin.html: versions 1..13
# (select_last_index from 12); ArgMin is ArgMax of the negation, ties and all
@onnx_op("ArgMax", (1, 13), ["axis", "keepdims", "select_last_index"])
@onnx_op("ArgMin", (1, 13), ["axis", "keepdims", "select_last_index"])
def argmax(ctx, node):
    x = node.input(0)
    if node.op == "ArgMin":
        if ctx.dtype(x).startswith("uint") or ctx.dtype(x) == "bool":
            node.fail(f"ArgMin of {ctx.dtype(x)} is not supported (it is ArgMax of the negation)")
        x = ctx.emit("Neg", [x])
    attrs = {k: int(node.attr(k, d)) for k, d in (("axis", 0), ("keepdims", 1), ("select_last_index", 0))}
    ctx.emit("ArgMax", [x], node.output(0), **attrs)


LOSS_ATTRS = ["ignore_index", "reduction"]


# https://onnx.ai/onnx/operators/onnx__NegativeLogLikelihoodLoss.html: versions 12..22. The input
# (N, C, d...) at each target class, negated and weighted (weight[target], 1 without weights, 0 for
# ignore_index); "mean" divides the sum by the total weight of the targets that count.
@onnx_op("NegativeLogLikelihoodLoss", (12, 22), LOSS_ATTRS)
def nll_loss(ctx, node):
    _nll(ctx, node, node.input(0), node.output(0))


# https://onnx.ai/onnx/operators/onnx__SoftmaxCrossEntropyLoss.html: versions 12..13, the
# NegativeLogLikelihoodLoss of the scores' LogSoftmax over the class axis (1), its second output
@onnx_op("SoftmaxCrossEntropyLoss", (12, 13), LOSS_ATTRS)
def softmax_cross_entropy(ctx, node):
    x = node.input(0)
    y = ctx.emit("Sub", [x, ctx.emit("ReduceMax", [x], axes=[1], keepdims=1)])
    total = ctx.emit("ReduceSum", [ctx.emit("Exp", [y])], axes=[1], keepdims=1)
    log_prob = ctx.emit("Sub", [y, ctx.emit("Log", [total])], node.output(1) or None)
    _nll(ctx, node, log_prob, node.output(0))


def _nll(ctx, node, log_prob, out):
    target, weight = node.input(1), node.input(2)
    dims, reduction = ctx.shape(log_prob), node.attr("reduction", "mean")
    if reduction not in ("none", "sum", "mean"):
        node.fail(f"reduction {reduction!r} is not supported (none, sum or mean)")
    if len(dims) < 2 or ctx.shape(target) != (dims[0], *dims[2:]):
        node.fail(f"target of shape {list(ctx.shape(target))} for input of shape {list(dims)}")
    hit = one_hot(ctx, target, dims[1])  # (N, d..., C)
    classes = [0, *range(2, len(dims)), 1]
    picked = pick(ctx, hit, ctx.emit("Transpose", [log_prob], perm=classes), len(dims) - 1)
    w = weight or ctx.constant(np.ones(dims[1]), "ones", like=log_prob)
    weights = pick(ctx, hit, ctx.reshape(w, [1] * (len(dims) - 1) + [dims[1]]), len(dims) - 1)
    if node.attr("ignore_index") is not None:
        ignored = ctx.emit("Equal", [target, ctx.constant(node.attr("ignore_index"), "ignored", like=target)])
        weights = ctx.emit("Where", [ignored, ctx.constant(0, "zero", like=weights), weights])
    loss = ctx.emit("Neg", [ctx.emit("Mul", [picked, weights])], out if reduction == "none" else None)
    if reduction == "none":
        return
    axes = list(range(len(dims) - 1))
    total = ctx.emit("ReduceSum", [loss], out if reduction == "sum" else None, axes=axes, keepdims=0)
    if reduction == "mean":
        ctx.emit("Div", [total, ctx.emit("ReduceSum", [weights], axes=axes, keepdims=0)], out)


# https://onnx.ai/onnx/operators/onnx__Hardmax.html: versions 1..13 (before 13 over the 2-d
# coercion at `axis`, as Softmax): 1 at the first maximum along the axis, 0 elsewhere, as the
# ArgMax compared with every position
@onnx_op("Hardmax", (1, 13), ["axis"])
def hardmax(ctx, node):
    x, out = node.input(0), node.output(0)
    shape = ctx.shape(x)
    axes = _coerced_axes(node, shape)
    flat = x
    if len(axes) > 1:
        flat = ctx.reshape(x, (*shape[: axes[0]], math.prod(shape[axes[0] :])))
    dims, axis = ctx.shape(flat), axes[0]
    top = ctx.emit("ArgMax", [flat], axis=axis, keepdims=1)
    positions = np.arange(dims[axis]).reshape([-1 if d == axis else 1 for d in range(len(dims))])
    hit = ctx.emit("Equal", [top, ctx.constant(positions, "positions")])
    ctx.reshape(ctx.emit("Cast", [hit], to=ctx.dtype(x)), shape, out)


# https://onnx.ai/onnx/operators/onnx__LpNormalization.html: versions 1..22, x divided by its L1
# or L2 norm along `axis` (default -1); an all-zero slice stays zero (divided by 1, not by its norm 0)
@onnx_op("LpNormalization", (1, 22), ["axis", "p"])
def lp_normalization(ctx, node):
    x, p = node.input(0), int(node.attr("p", 2))
    if p not in (1, 2):
        node.fail(f"p={p} is not supported (only 1 or 2)")
    r = {"axes": [int(node.attr("axis", -1))], "keepdims": 1}
    norm = COMPOSED["ReduceL1" if p == 1 else "ReduceL2"](ctx, x, None, r)
    zero = ctx.emit("Equal", [norm, ctx.constant(0.0, "zero", norm)])
    norm = ctx.emit("Where", [zero, ctx.constant(1.0, "one", norm), norm])
    ctx.emit("Div", [x, norm], node.output(0))
