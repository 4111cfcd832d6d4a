"""Elementwise ops: tables from op type to a WGSL expression drive one unary, one binary and one
ternary shader, one table per element type of the inputs (f32, i32 for integers, u32 for bools).
The shaders convert each result to the output's element type, so a comparison writes 0u / 1u into
a bool tensor, or 0.0 / 1.0 where every tensor is stored as f32 words (pycore.Tensor's webgpu
device, where an integer is its exact f32 value and Cast rounds as the target type would)."""

import math

from .. import ops
from ..errors import GraphError, PycoreError
from .step import F32_MAX, MATH, Step, View, broadcast_strides, flat, merge_dims, no_kernel

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


def expression(op, attrs, element="f32"):
    """The WGSL expression of an elementwise op with these attributes, on inputs of this element
    type; an op the type has no expression for is refused (the CPU path runs it)."""
    table, by_attr = TABLES[element]
    if op in by_attr:
        name, values = by_attr[op]
        return values[attrs[name]]  # the op's record refused other values at load
    if op not in table:
        raise no_kernel(op, [e for e, (ops_, by) in TABLES.items() if op in ops_ or op in by], element)
    return table[op]


# Cast from float storage by target dtype (pycore.ops.DTYPES). f32 words cannot hold more than f32,
# so float64 is a copy, while float16 rounds to its 11-bit significand; integers truncate toward
# zero, and the 8-bit ones keep their low byte, as numpy's cast through int32 does on x86 (beyond
# int32's range numpy's result is platform-defined anyway). From integer or bool storage the values
# are whole already: the shader's conversion to the output's type is the cast, bool(x) for a bool.
CAST = {
    "float32": "x",
    "float64": "x",
    "float16": "round_f16(x)",
    "int64": "trunc(x)",
    "int32": "trunc(x)",
    "int8": "f32((i32(x) << 24u) >> 24u)",
    "uint8": "f32(u32(i32(x)) & 255u)",
    "bool": "bool(x)",
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

# comparisons give a WGSL bool, which the shaders convert to the output's element type
COMPARE = {
    "Greater": "a > b",
    "Less": "a < b",
    "Equal": "a == b",
    "GreaterOrEqual": "a >= b",
    "LessOrEqual": "a <= b",
}

# on integer storage (i32): WGSL's integer / truncates toward zero, as ONNX's Div does, and its %
# takes the dividend's sign, as C's fmod
INTEGER = {
    "Add": "a + b",
    "Sub": "a - b",
    "Mul": "a * b",
    "Div": "a / b",
    "Max": "max(a, b)",
    "Min": "min(a, b)",
    "Neg": "-x",
    "Abs": "abs(x)",
    "Sign": "sign(x)",
    # exact on i32 for int32, and for int64 values that fit int32 (the only ones held)
    "BitwiseAnd": "a & b",
    "BitwiseOr": "a | b",
    "BitwiseXor": "a ^ b",
    "BitwiseNot": "~x",
    **COMPARE,
}
BITWISE = ("BitwiseAnd", "BitwiseOr", "BitwiseXor")

# int64 held as i32: where an op's true int64 result may leave int32's range, its int64 variant
# flags that on the GPU (int64_checked.wgsl) and the run is refused; int32 wraps, as numpy's does
INT64_CHECKED = {
    "Add": "add_checked(a, b)",
    "Sub": "sub_checked(a, b)",
    "Mul": "mul_checked(a, b)",
    "Div": "div_checked(a, b)",
    "Neg": "neg_checked(x)",
    "Abs": "abs_checked(x)",
}

# on bool storage (u32, 0 or 1): ONNX's And and Or arrive as Mul and Max (pycore/onnx), Not and
# Xor as Equal
BOOLEAN = {"Equal": "a == b", "Mul": "a * b", "Max": "max(a, b)", "Min": "min(a, b)"}

# expression tables by the inputs' element type: (by op, by op and attribute as BY_ATTR)
TABLES = {
    "f32": ({**UNARY, **BINARY, **COMPARE}, BY_ATTR),
    "i32": (INTEGER, {"Mod": ("fmod", {0: "mod_floor_int(a, b)", 1: "a % b"})}),
    "u32": (BOOLEAN, {}),
}
TABLES["f16"] = TABLES["f32"]  # float16 is loaded into f32 (step.MATH) and computed as float32

# expressions in c, a and b
TERNARY = {"Where": "select(b, a, bool(c))"}


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


def int64_result(out, ctx):
    """Whether tensor `out` is int64 held as i32 (not pycore.Tensor's f32 words)."""
    return ctx.dtypes.get(out) == "int64" and ctx.element(out) == "i32"


def int64_expression(op, attrs, element, out, ctx):
    """expression(), checked for leaving int32's range where `out` is int64 held as i32: (expression,
    checked)."""
    if element == "i32" and op in INT64_CHECKED and int64_result(out, ctx):
        return INT64_CHECKED[op], True
    return expression(op, attrs, element), False


def unary(node, ctx):
    x, out = node.inputs[0], node.outputs[0]
    expr, checked = int64_expression(node.op, node.attrs, ctx.element(x), out, ctx)
    return [unary_step(x, out, math.prod(ctx.shape(out)), expr, ctx, scalars(node.attrs), checked)]


def cast(node, ctx):
    to = node.attrs["to"]
    if to not in CAST:
        raise GraphError(f"node {node.name!r}: Cast to {to!r} is not supported; use one of {sorted(CAST)}")
    x, out = node.inputs[0], node.outputs[0]
    floats = ctx.element(x) in ("f32", "f16")
    expr = CAST[to] if floats else "bool(x)" if to == "bool" else "x"
    checked = floats and to == "int64" and int64_result(out, ctx)
    expr = "int64_from(x)" if checked else expr
    return [unary_step(x, out, math.prod(ctx.shape(out)), expr, ctx, checked=checked)]


def checking(shader, fill, reads, checked):
    """A step's shader and fill, with int64_checked.wgsl's flag bound after its own buffers where
    `checked`."""
    if not checked:
        return (shader,), fill
    return (shader, "int64_checked"), {**fill, "flag": len(reads) + 2}


def unary_step(x, out, n, op, ctx, own=None, checked=False):
    params = {"n": n, **(own or scalars({}))}  # Cast and copies use none of them
    shader, fill = checking("unary", {"op": op, **types(ctx, x=x, y=out)}, [x], checked)
    return Step(shader, params, [x], out, flat(n, WG["WG"]), fill, WG, checked)


def types(ctx, **tensors):
    """The shaders' element type placeholders: {"a_type": "i32", ...} for a=tensor..., and the
    type each is loaded into for the op's expression, {"a_math": ...} (f32 for f16)."""
    elements = {k: ctx.element(t) for k, t in tensors.items()}
    return {f"{k}_type": e for k, e in elements.items()} | {
        f"{k}_math": MATH.get(e, e) for k, e in elements.items()
    }


def same_element(node, ctx, names):
    """The one element type of these inputs; inputs of two types are refused (ONNX gives such ops
    one type, so only a graph built by hand mixes them)."""
    kinds = {ctx.element(t) for t in names}
    if len(kinds) > 1:
        raise PycoreError(
            f"the WebGPU path runs {node.op} on same-type tensors only; {node.name!r} mixes {sorted(kinds)}"
        )
    return kinds.pop()


def binary_step(expr, x, y, out, ctx, checked=False):
    shape = ctx.shape(out)
    dims, (sa, sb) = merge_dims(
        shape, broadcast_strides(ctx.shape(x), shape), broadcast_strides(ctx.shape(y), shape)
    )
    n = math.prod(shape)
    params = {"n": n, "rank": len(dims), "shape": dims, "a_strides": sa, "b_strides": sb}
    shader, fill = checking("binary", {"op": expr, **types(ctx, a=x, b=y, y=out)}, [x, y], checked)
    return Step(shader, params, [x, y], out, flat(n, WG["WG"]), fill, WG, checked)


def binary(node, ctx):
    element, out = same_element(node, ctx, node.inputs[:2]), node.outputs[0]
    expr, checked = int64_expression(node.op, node.attrs, element, out, ctx)
    return [binary_step(expr, *node.inputs[:2], out, ctx, checked)]


def ternary(node, ctx):
    out = node.outputs[0]
    shape = ctx.shape(out)
    dims, (sc, sa, sb) = merge_dims(shape, *[broadcast_strides(ctx.shape(t), shape) for t in node.inputs[:3]])
    n = math.prod(shape)
    params = {"n": n, "rank": len(dims), "shape": dims, "c_strides": sc, "a_strides": sa, "b_strides": sb}
    c, a, b = node.inputs[:3]
    same_element(node, ctx, [a, b])
    fill = {"op": TERNARY[node.op], **types(ctx, c=c, a=a, b=b, y=out)}
    return [Step(("ternary",), params, [c, a, b], out, flat(n, WG["WG"]), fill, WG)]


def sum_(node, ctx):
    """Sum of n inputs as a chain of n - 1 broadcasting adds; a lone input is copied."""
    xs, out = [t for t in node.inputs if t], node.outputs[0]
    if len(xs) == 1:
        n = math.prod(ctx.shape(out))
        return [unary_step(xs[0], out, n, "x", ctx)]
    steps, acc, element = [], xs[0], same_element(node, ctx, xs)
    add, checked = int64_expression("Add", {}, element, out, ctx)
    for i, x in enumerate(xs[1:]):
        last = i == len(xs) - 2
        shape = ctx.broadcast_shape(xs[: i + 2])
        target = out if last else ctx.temp(shape, f"{out}.partial{i}", ctx.dtypes.get(out, "float32"))
        steps.append(binary_step(add, acc, x, target, ctx, checked))
        acc = target
    return steps


def bit_shift(node, ctx):
    """Refused: WGSL masks a shift amount to the width where ONNX gives the sign's fill, and an
    int64 shifted left leaves int32's range unseen; the CPU path runs it."""
    raise PycoreError(f"the WebGPU path does not run {node.op} ({node.name!r}); the CPU path does")


PLANNERS = {
    **{op: unary for op in [*UNARY, "Gelu", "BitwiseNot"]},
    **{op: binary for op in [*BINARY, *COMPARE, *BITWISE, "Mod"]},
    **{op: ternary for op in TERNARY},
    "Cast": cast,
    "Sum": sum_,
    "BitShift": bit_shift,
    "Identity": lambda node, ctx: View(node.inputs[0]),  # the CPU copies; a GPU alias is free
    "Dropout": lambda node, ctx: View(node.inputs[0]),  # inference
}
