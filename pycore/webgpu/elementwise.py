"""Elementwise ops: tables from op type to a WGSL expression drive one unary, one binary and one
ternary shader. Every tensor is stored as f32 words, so a bool is 0.0 / 1.0 and an integer its exact
f32 value: comparisons write 0.0 or 1.0, and Cast rounds as the target type would."""

import math

from .. import ops
from ..errors import GraphError
from .step import F32_MAX, Step, View, broadcast_strides, flat, merge_dims

WG = {"WG": 256}  # invocations per workgroup of all three shaders

# expressions in x, alpha, beta, lo and hi (LeakyRelu's slope, HardSigmoid's line, Clip's bounds:
# see `scalars`); the functions they call are in prelude.wgsl
UNARY = {
    "Relu": "max(x, 0.0)",
    "Sigmoid": "sigmoid(x)",
    "Tanh": "tanh_safe(x)",
    "Exp": "exp(x)",
    "Log": "log(x)",
    "Sqrt": "sqrt(x)",
    "Neg": "-x",
    "Abs": "abs(x)",
    "LeakyRelu": "select(x * alpha, x, x >= 0.0)",
    "Clip": "min(max(x, lo), hi)",
    "Erf": "erf_approx(x)",
    "Sin": "sin(x)",
    "Cos": "cos(x)",
    "Tan": "tan(x)",
    "Asin": "nan_unless(asin_acc(x), abs(x) <= 1.0)",
    "Acos": "nan_unless(acos_acc(x), abs(x) <= 1.0)",
    "Atan": "atan(x)",
    "Sinh": "sinh(x)",
    "Cosh": "cosh(x)",
    "Asinh": "asinh(x)",
    "Acosh": "nan_unless(acosh(x), x >= 1.0)",
    "Atanh": "nan_unless(atanh(x), abs(x) <= 1.0)",
    "Floor": "floor(x)",
    "Ceil": "ceil(x)",
    "Round": "round(x)",
    "Sign": "sign(x)",
    "HardSigmoid": "clamp(alpha * x + beta, 0.0, 1.0)",
    "HardSwish": "x * clamp(x / 6.0 + 0.5, 0.0, 1.0)",
    "Softplus": "softplus(x)",
    "Softsign": "x / (1.0 + abs(x))",
    "Mish": "mish(x)",
}

# ops whose expression depends on an attribute: (attribute, {value: expression}); mod_trunc is C's
# fmod, mod_floor takes the divisor's sign (Python's %)
BY_ATTR = {
    "Gelu": ("approximate", {"none": "gelu_erf(x)", "tanh": "gelu_tanh(x)"}),
    "Mod": ("fmod", {0: "mod_floor(a, b)", 1: "mod_trunc(a, b)"}),
}


def expression(op, attrs):
    """The WGSL expression of an elementwise op with these attributes."""
    if op in BY_ATTR:
        name, table = BY_ATTR[op]
        return table[attrs[name]]  # the op's record refused other values at load
    return UNARY.get(op) or BINARY[op]


# Cast by target dtype (pycore.ops.DTYPES). f32 words cannot hold more than f32, so float64 is a
# copy, while float16 rounds to its 11-bit significand; integers truncate toward zero, and the 8-bit
# ones keep their low byte, as numpy's cast through int32 does on x86 (beyond int32's range numpy's
# result is platform-defined anyway).
CAST = {
    "float32": "x",
    "float64": "x",
    "float16": "round_f16(x)",
    "int64": "trunc(x)",
    "int32": "trunc(x)",
    "int8": "f32((i32(x) << 24u) >> 24u)",
    "uint8": "f32(u32(i32(x)) & 255u)",
    "bool": "select(0.0, 1.0, x != 0.0)",
}

# expressions in a and b
BINARY = {
    "Add": "a + b",
    "Sub": "a - b",
    "Mul": "a * b",
    "Div": "a / b",
    "Pow": "pow_onnx(a, b)",
    "Max": "max(a, b)",
    "Min": "min(a, b)",
    "Greater": "select(0.0, 1.0, a > b)",
    "Less": "select(0.0, 1.0, a < b)",
    "Equal": "select(0.0, 1.0, a == b)",
    "GreaterOrEqual": "select(0.0, 1.0, a >= b)",
    "LessOrEqual": "select(0.0, 1.0, a <= b)",
}

# expressions in c, a and b
TERNARY = {"Where": "select(b, a, c != 0.0)"}


def scalars(attrs):
    """The unary expressions' alpha, beta, lo and hi from an op's attributes (finite: WGSL compilers
    may assume no infinities), as unary.wgsl's Params and epilogue.wgsl's Epilogue name them."""
    lo = max(float(attrs.get("min", -F32_MAX)), -F32_MAX)
    hi = min(float(attrs.get("max", F32_MAX)), F32_MAX)
    return {
        "alpha": float(attrs.get("alpha", 0.0)),
        "beta": float(attrs.get("beta", 0.0)),
        "lo": lo,
        "hi": hi,
    }


def epilogue(attrs):
    """A Conv/Gemm/MatMul node's fused activation: the uniform's Epilogue struct, and the value of
    epilogue.wgsl's `act` placeholder (the activation's own expression; "x" for none)."""
    act, own = ops.fused_activation(attrs)
    return scalars(own), {"act": expression(act, own) if act else "x"}


def unary(node, ctx):
    n = math.prod(ctx.shape(node.outputs[0]))
    return [
        unary_step(node.inputs[0], node.outputs[0], n, expression(node.op, node.attrs), scalars(node.attrs))
    ]


def cast(node, ctx):
    to = node.attrs["to"]
    if to not in CAST:
        raise GraphError(f"node {node.name!r}: Cast to {to!r} is not supported; use one of {sorted(CAST)}")
    n = math.prod(ctx.shape(node.outputs[0]))
    return [unary_step(node.inputs[0], node.outputs[0], n, CAST[to])]


def unary_step(x, out, n, op, own=None):
    params = {"n": n, **(own or scalars({}))}  # Cast and copies use none of them
    return Step(("unary",), params, [x], out, flat(n, WG["WG"]), fill={"op": op}, overrides=WG)


def binary_step(expr, x, y, out, ctx):
    shape = ctx.shape(out)
    dims, (sa, sb) = merge_dims(
        shape, broadcast_strides(ctx.shape(x), shape), broadcast_strides(ctx.shape(y), shape)
    )
    n = math.prod(shape)
    params = {"n": n, "rank": len(dims), "shape": dims, "a_strides": sa, "b_strides": sb}
    return Step(("binary",), params, [x, y], out, flat(n, WG["WG"]), fill={"op": expr}, overrides=WG)


def binary(node, ctx):
    return [binary_step(expression(node.op, node.attrs), *node.inputs[:2], node.outputs[0], ctx)]


def ternary(node, ctx):
    out = node.outputs[0]
    shape = ctx.shape(out)
    dims, (sc, sa, sb) = merge_dims(shape, *[broadcast_strides(ctx.shape(t), shape) for t in node.inputs[:3]])
    n = math.prod(shape)
    params = {"n": n, "rank": len(dims), "shape": dims, "c_strides": sc, "a_strides": sa, "b_strides": sb}
    step = Step(("ternary",), params, node.inputs[:3], out, flat(n, WG["WG"]), {"op": TERNARY[node.op]}, WG)
    return [step]


def sum_(node, ctx):
    """Sum of n inputs as a chain of n - 1 broadcasting adds; a lone input is copied."""
    xs, out = [t for t in node.inputs if t], node.outputs[0]
    if len(xs) == 1:
        n = math.prod(ctx.shape(out))
        return [unary_step(xs[0], out, n, "x")]
    steps, acc = [], xs[0]
    for i, x in enumerate(xs[1:]):
        last = i == len(xs) - 2
        target = out if last else ctx.temp(ctx.broadcast_shape(xs[: i + 2]), f"{out}.partial{i}")
        steps.append(binary_step(BINARY["Add"], acc, x, target, ctx))
        acc = target
    return steps


PLANNERS = {
    **{op: unary for op in [*UNARY, "Gelu"]},
    **{op: binary for op in [*BINARY, "Mod"]},
    **{op: ternary for op in TERNARY},
    "Cast": cast,
    "Sum": sum_,
    "Identity": lambda node, ctx: View(node.inputs[0]),  # the CPU copies; a GPU alias is free
    "Dropout": lambda node, ctx: View(node.inputs[0]),  # inference
}
