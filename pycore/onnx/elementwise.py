"""Elementwise ONNX ops: the ones pycore has as IR ops, and activations composed from them.

Composed activations keep the IR small (every IR op needs a kernel on every backend) and are
written in forms that stay exact where the naive formula overflows (ELU); those of current image
models (GELU, hard-swish, ...) are IR ops, so that they fuse into the layer before them.
"""

import math

import numpy as np

from .registry import onnx_op

F32_MAX = float(np.finfo(np.float32).max)

# ONNX op -> (IR op, highest schema version handled); the semantics are identical for float32.
# https://onnx.ai/onnx/operators/onnx__Relu.html, onnx__Sigmoid.html, onnx__Tanh.html,
# onnx__Exp.html, onnx__Log.html, onnx__Sqrt.html, onnx__Neg.html, onnx__Abs.html
UNARY = {"Relu": 14, "Sigmoid": 13, "Tanh": 13, "Exp": 13, "Log": 13, "Sqrt": 13, "Neg": 13, "Abs": 13}


def _unary(ctx, node):
    ctx.emit(node.op, [node.input(0)], node.output(0))


for _op, _hi in UNARY.items():
    onnx_op(_op, (1, _hi))(_unary)


def _scalar(ctx, value, like):
    """A scalar constant of `like`'s dtype, for ops composed of IR ops."""
    return ctx.constant(value, "c", like)


def legacy_broadcast(ctx, node, b):
    """Opset < 7 binary ops broadcast B only with broadcast=1, its dims placed at `axis`."""
    if node.version >= 7:
        return b
    sa, sb = ctx.shape(node.input(0)), ctx.shape(b)
    if not node.attr("broadcast", 0):
        if sa != sb:
            node.fail(f"shapes {list(sa)} and {list(sb)} differ and broadcast=0")
        return b
    axis = node.attr("axis")
    if axis is None or len(sb) == 0:  # without axis B aligns with A's trailing dims, as in numpy
        return b
    axis %= len(sa)
    return ctx.reshape(b, (*sb, *[1] * (len(sa) - axis - len(sb))))


# https://onnx.ai/onnx/operators/onnx__Add.html (and Sub, Mul, Div): versions 1..14;
# 1 and 6 broadcast the legacy way (attributes broadcast, axis), 7+ like numpy.
@onnx_op("Add", (1, 14), ["broadcast", "axis"])
@onnx_op("Sub", (1, 14), ["broadcast", "axis"])
@onnx_op("Mul", (1, 14), ["broadcast", "axis"])
@onnx_op("Div", (1, 14), ["broadcast", "axis"])
def binary(ctx, node):
    ctx.emit(node.op, [node.input(0), legacy_broadcast(ctx, node, node.input(1))], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Pow.html: versions 1..15. An integer exponent (12+) is
# the same power taken in float32.
@onnx_op("Pow", (1, 15), ["broadcast", "axis"])
def pow_(ctx, node):
    b = legacy_broadcast(ctx, node, node.input(1))
    e = ctx.maybe_const(b)
    if e is not None and e.dtype != np.float32:
        b = ctx.constant(e.astype(np.float32), "exponent")
    ctx.emit("Pow", [node.input(0), b], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Mod.html: versions 10..28 (13 and 28 only add types)
@onnx_op("Mod", (10, 28), ["fmod"])
def mod(ctx, node):
    ctx.emit("Mod", [node.input(0), node.input(1)], node.output(0), fmod=int(node.attr("fmod", 0)))


# https://onnx.ai/onnx/operators/onnx__Sum.html: versions 1..13 (before 8 without broadcasting,
# which the shape check enforces just the same).
@onnx_op("Sum", (1, 13))
def sum_(ctx, node):
    xs = [t for t in node.inputs if t]
    if len(xs) == 1:
        return ctx.set(node.output(0), xs[0])
    ctx.emit("Sum", xs, node.output(0))


# https://onnx.ai/onnx/operators/onnx__Mean.html: versions 1..13, the Sum divided by the count.
@onnx_op("Mean", (1, 13))
def mean(ctx, node):
    xs = [t for t in node.inputs if t]
    total = ctx.emit("Sum", xs) if len(xs) > 1 else xs[0]
    ctx.emit("Mul", [total, _scalar(ctx, 1.0 / len(xs), total)], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Max.html and onnx__Min.html: versions 1..13, variadic;
# pycore's Max/Min are binary, so chain them.
@onnx_op("Max", (1, 13))
@onnx_op("Min", (1, 13))
def max_min(ctx, node):
    xs = [t for t in node.inputs if t]
    acc = xs[0]
    for k, t in enumerate(xs[1:], 2):
        acc = ctx.emit(node.op, [acc, t], node.output(0) if k == len(xs) else None)
    if len(xs) == 1:
        ctx.set(node.output(0), acc)


# https://onnx.ai/onnx/operators/onnx__LeakyRelu.html: versions 1..16
@onnx_op("LeakyRelu", (1, 16), ["alpha"])
def leaky_relu(ctx, node):
    ctx.emit("LeakyRelu", [node.input(0)], node.output(0), alpha=float(node.attr("alpha", 0.01)))


# https://onnx.ai/onnx/operators/onnx__Clip.html: versions 1..13; min/max are attributes
# before 11 (defaulting to the float range), optional scalar inputs from 11. Constant bounds are
# Clip's attributes (it fuses into the layer before it); a bound computed at run time is a Max
# (for min) or a Min (for max) against that one-element tensor.
@onnx_op("Clip", (1, 13), ["min", "max"])
def clip(ctx, node):
    x, bounds = node.input(0), {"min": float("-inf"), "max": float("inf")}
    if node.version < 11:
        bounds = {"min": node.attr("min", -F32_MAX), "max": node.attr("max", F32_MAX)}
    for k, name, op in ((1, "min", "Max"), (2, "max", "Min")):
        t = node.input(k) if node.version >= 11 else ""
        if t and ctx.is_const(t):
            bounds[name] = float(ctx.const(t, name).reshape(-1)[0])
        elif t:
            if math.prod(ctx.shape(t)) != 1:
                node.fail(f"{name} must hold one value, got shape {list(ctx.shape(t))}")
            x = ctx.emit(op, [x, ctx.reshape(t, [])])
    if bounds == {"min": float("-inf"), "max": float("inf")} and x != node.input(0):
        return ctx.set(node.output(0), x)
    ctx.emit("Clip", [x], node.output(0), min=float(bounds["min"]), max=float(bounds["max"]))


def _elu(ctx, x, alpha, out=None):
    """alpha * (exp(min(x, 0)) - 1) + relu(x): exp never sees a positive argument."""
    neg = ctx.emit("Exp", [ctx.emit("Min", [x, _scalar(ctx, 0.0, x)])])
    neg = ctx.emit("Mul", [ctx.emit("Sub", [neg, _scalar(ctx, 1.0, x)]), _scalar(ctx, alpha, x)])
    return ctx.emit("Add", [ctx.emit("Relu", [x]), neg], out)


# https://onnx.ai/onnx/operators/onnx__Elu.html: versions 1..22
@onnx_op("Elu", (1, 22), ["alpha"])
def elu(ctx, node):
    _elu(ctx, node.input(0), node.attr("alpha", 1.0), node.output(0))


# https://onnx.ai/onnx/operators/onnx__Selu.html: versions 1..22, gamma * elu(x, alpha)
@onnx_op("Selu", (1, 22), ["alpha", "gamma"])
def selu(ctx, node):
    y = _elu(ctx, node.input(0), node.attr("alpha", 1.67326319217681884765625))
    ctx.emit("Mul", [y, _scalar(ctx, node.attr("gamma", 1.05070102214813232421875), y)], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Softplus.html (versions 1..22), onnx__Softsign.html
# (1..22), onnx__HardSwish.html (14..22), onnx__Mish.html (18..22) and onnx__Erf.html (9..13): IR
# ops of their own, which fuse into the convolution or matrix product before them
@onnx_op("Softplus", (1, 22))
@onnx_op("Softsign", (1, 22))
@onnx_op("HardSwish", (14, 22))
@onnx_op("Mish", (18, 22))
@onnx_op("Erf", (9, 13))
def activation(ctx, node):
    ctx.emit(node.op, [node.input(0)], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Cos.html, onnx__Sin.html, onnx__Tan.html, onnx__Acos.html,
# onnx__Asin.html, onnx__Atan.html (versions 7..22), onnx__Sinh.html, onnx__Cosh.html,
# onnx__Asinh.html, onnx__Acosh.html, onnx__Atanh.html (9..22), onnx__Floor.html and
# onnx__Ceil.html (1..13; 1's consumed_inputs is a legacy memory hint), onnx__Round.html (11..22) and
# onnx__Sign.html (9..13): IR ops of their own
MATH = {
    **dict.fromkeys(("Cos", "Sin", "Tan", "Acos", "Asin", "Atan"), (7, 22)),
    **dict.fromkeys(("Sinh", "Cosh", "Asinh", "Acosh", "Atanh"), (9, 22)),
    **dict.fromkeys(("Floor", "Ceil"), (1, 13)),
    "Round": (11, 22),
    "Sign": (9, 13),
}
for _op, _since in MATH.items():
    onnx_op(_op, _since)(activation)


# https://onnx.ai/onnx/operators/onnx__IsNaN.html (versions 9..20): NaN is the one value not equal
# to itself
@onnx_op("IsNaN", (9, 20))
def is_nan(ctx, node):
    x = node.input(0)
    _not(ctx, ctx.emit("Equal", [x, x]), node.output(0))


# https://onnx.ai/onnx/operators/onnx__IsInf.html (versions 10..20): |x| == inf, or x == +inf or
# -inf alone; with both detections off nothing is, and x > inf is false everywhere (NaN included)
@onnx_op("IsInf", (10, 20), ["detect_positive", "detect_negative"])
def is_inf(ctx, node):
    x, pos, neg = node.input(0), node.attr("detect_positive", 1), node.attr("detect_negative", 1)
    if pos and neg:
        x = ctx.emit("Abs", [x])
    compare = "Equal" if pos or neg else "Greater"
    ctx.emit(compare, [x, _scalar(ctx, -math.inf if neg and not pos else math.inf, x)], node.output(0))


# https://onnx.ai/onnx/operators/onnx__HardSigmoid.html: versions 1..22
@onnx_op("HardSigmoid", (1, 22), ["alpha", "beta"])
def hard_sigmoid(ctx, node):
    alpha, beta = float(node.attr("alpha", 0.2)), float(node.attr("beta", 0.5))
    ctx.emit("HardSigmoid", [node.input(0)], node.output(0), alpha=alpha, beta=beta)


# https://onnx.ai/onnx/operators/onnx__Gelu.html: version 20, approximate "none" (erf) or "tanh"
@onnx_op("Gelu", (20, 20), ["approximate"])
def gelu(ctx, node):
    ctx.emit("Gelu", [node.input(0)], node.output(0), approximate=node.attr("approximate", "none"))


# https://onnx.ai/onnx/operators/onnx__Reciprocal.html: versions 1..13
@onnx_op("Reciprocal", (1, 13))
def reciprocal(ctx, node):
    ctx.emit("Div", [_scalar(ctx, 1.0, node.input(0)), node.input(0)], node.output(0))


# https://onnx.ai/onnx/operators/onnx__PRelu.html: versions 1..16, as relu(x) + slope * min(x, 0).
# Before 7 the slope is per channel (shape [C] or [1]); from 7 it broadcasts like numpy.
@onnx_op("PRelu", (1, 16))
def prelu(ctx, node):
    x, slope = node.input(0), node.input(1)
    sx, ss = ctx.shape(x), ctx.shape(slope)
    if node.version < 7 and len(ss) == 1 and len(sx) >= 2 and ss[0] == sx[1]:
        slope = ctx.reshape(slope, (ss[0], *[1] * (len(sx) - 2)))
    neg = ctx.emit("Mul", [ctx.emit("Min", [x, _scalar(ctx, 0.0, x)]), slope])
    ctx.emit("Add", [ctx.emit("Relu", [x]), neg], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Equal.html (versions 1..19), onnx__Less.html and
# onnx__Greater.html (1..13), onnx__LessOrEqual.html and onnx__GreaterOrEqual.html (12..16):
# IR ops of their own, with bool outputs; 1 broadcasts the legacy way
@onnx_op("Equal", (1, 19), ["broadcast", "axis"])
@onnx_op("Less", (1, 13), ["broadcast", "axis"])
@onnx_op("Greater", (1, 13), ["broadcast", "axis"])
@onnx_op("LessOrEqual", (12, 16))
@onnx_op("GreaterOrEqual", (12, 16))
def comparison(ctx, node):
    ctx.emit(node.op, [node.input(0), legacy_broadcast(ctx, node, node.input(1))], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Where.html: versions 9..16
@onnx_op("Where", (9, 16))
def where(ctx, node):
    ctx.emit("Where", [node.input(0), node.input(1), node.input(2)], node.output(0))


def _not(ctx, x, out=None):
    return ctx.emit("Equal", [x, ctx.constant(False, "false")], out)


# https://onnx.ai/onnx/operators/onnx__And.html, onnx__Or.html, onnx__Xor.html (versions 1..7,
# 1 with legacy broadcasting) and onnx__Not.html (1), on bools composed of IR ops: and is the
# product, or the maximum, xor "not equal", not "equal to false"
LOGICAL = {
    "And": lambda ctx, x, y, out: ctx.emit("Mul", [x, y], out),
    "Or": lambda ctx, x, y, out: ctx.emit("Max", [x, y], out),
    "Xor": lambda ctx, x, y, out: _not(ctx, ctx.emit("Equal", [x, y]), out),
}


@onnx_op("And", (1, 7), ["broadcast", "axis"])
@onnx_op("Or", (1, 7), ["broadcast", "axis"])
@onnx_op("Xor", (1, 7), ["broadcast", "axis"])
def logical(ctx, node):
    LOGICAL[node.op](ctx, node.input(0), legacy_broadcast(ctx, node, node.input(1)), node.output(0))


@onnx_op("Not", (1, 1))
def not_(ctx, node):
    _not(ctx, node.input(0), node.output(0))
