"""Elementwise ops: tables from op type to a WGSL expression drive one unary and one binary shader."""

import math

from .step import F32_MAX, Arr8, Step, View, broadcast_strides, flat, merge_dims, pack

WG = {"WG": 256}  # invocations per workgroup of both shaders

# expressions in x (and p.alpha, p.lo, p.hi from the uniform)
UNARY = {
    "Relu": "max(x, 0.0)",
    "Sigmoid": "sigmoid(x)",
    "Tanh": "tanh_safe(x)",
    "Exp": "exp(x)",
    "Log": "log(x)",
    "Sqrt": "sqrt(x)",
    "Neg": "-x",
    "Abs": "abs(x)",
    "LeakyRelu": "select(x * p.alpha, x, x >= 0.0)",
    "Clip": "min(max(x, p.lo), p.hi)",
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
}


def unary(node, ctx):
    a = node.attrs
    n = math.prod(ctx.shape(node.outputs[0]))
    lo = max(float(a.get("min", -F32_MAX)), -F32_MAX)  # WGSL may assume no infinities
    hi = min(float(a.get("max", F32_MAX)), F32_MAX)
    params = pack(n, float(a.get("alpha", 0.0)), lo, hi)
    return [unary_step(node.inputs[0], node.outputs[0], n, params, UNARY[node.op])]


def unary_step(x, out, n, params, op):
    return Step(("unary",), params, [x], out, flat(n, WG["WG"]), fill={"op": op}, overrides=WG)


def binary_step(op, x, y, out, ctx):
    shape = ctx.shape(out)
    dims, (sa, sb) = merge_dims(
        shape, broadcast_strides(ctx.shape(x), shape), broadcast_strides(ctx.shape(y), shape)
    )
    n = math.prod(shape)
    params = pack(n, len(dims), Arr8(dims), Arr8(sa), Arr8(sb))
    return Step(("binary",), params, [x, y], out, flat(n, WG["WG"]), fill={"op": BINARY[op]}, overrides=WG)


def binary(node, ctx):
    return [binary_step(node.op, *node.inputs[:2], node.outputs[0], ctx)]


def sum_(node, ctx):
    """Sum of n inputs as a chain of n - 1 broadcasting adds; a lone input is copied."""
    xs, out = [t for t in node.inputs if t], node.outputs[0]
    if len(xs) == 1:
        n = math.prod(ctx.shape(out))
        return [unary_step(xs[0], out, n, pack(n, 0.0, 0.0, 0.0), "x")]
    steps, acc = [], xs[0]
    for i, x in enumerate(xs[1:]):
        last = i == len(xs) - 2
        target = out if last else ctx.temp(ctx.broadcast_shape(xs[: i + 2]), f"{out}.partial{i}")
        steps.append(binary_step("Add", acc, x, target, ctx))
        acc = target
    return steps


KERNELS = {
    **{op: unary for op in UNARY},
    **{op: binary for op in BINARY},
    "Sum": sum_,
    "Identity": lambda node, ctx: View(node.inputs[0]),  # the CPU copies; a GPU alias is free
    "Dropout": lambda node, ctx: View(node.inputs[0]),  # inference
}
