"""Elementwise records: unary functions and activations, binary arithmetic and comparisons,
selection and casts. A new elementwise op is a line here plus one line in each device's table
(pycore/cpu/elementwise.py, pycore/webgpu/elementwise.py)."""

import math

from ..errors import GraphError
from . import broadcast, mask, op, same, unbroadcast


def unary(name, grad=None, attrs=None, **facts):
    op(name, attrs, grad=grad, **facts)(same)


unary("Relu", lambda a, inputs, out, g: [g * mask(out > 0, g)], activation=True)
unary("Sigmoid", lambda a, inputs, out, g: [g * out * (1 - out)], activation=True, floats=1)
unary("Tanh", lambda a, inputs, out, g: [g * (1 - out * out)], activation=True, floats=1)
unary(
    "LeakyRelu",
    lambda a, inputs, out, g: [g.where(inputs[0] >= 0, g * a["alpha"])],
    {"alpha": 0.01},
    activation=True,
)
# 0 at the bounds themselves, as PyTorch's hardtanh and relu6 (its clamp passes it there): one Clip
# then serves relu6, which the passes fuse into the convolution before it
unary(
    "Clip",
    lambda a, inputs, out, g: [g * (mask(inputs[0] > a["min"], g) * mask(inputs[0] < a["max"], g))],
    {"min": float("-inf"), "max": float("inf")},
    activation=True,
)
unary("Exp", lambda a, inputs, out, g: [g * out], floats=1)
unary("Log", lambda a, inputs, out, g: [g / inputs[0]], floats=1)
unary("Sqrt", lambda a, inputs, out, g: [g / (2 * out)], floats=1)
unary("Neg", lambda a, inputs, out, g: [-g])
unary("Abs", lambda a, inputs, out, g: [g * (mask(inputs[0] > 0, g) - mask(inputs[0] < 0, g))])
unary(
    "Erf",
    lambda a, inputs, out, g: [g * (2 / math.sqrt(math.pi)) * (-(inputs[0] * inputs[0])).exp()],
    floats=1,
)


# trigonometric and hyperbolic functions and their inverses (https://onnx.ai/onnx/operators/onnx__Cos.html
# and its neighbours); the inverses' gradients are 1 / sqrt(1 - x^2) and kin, infinite at the domain's edges
unary("Sin", lambda a, inputs, out, g: [g * inputs[0].cos()], floats=1)
unary("Cos", lambda a, inputs, out, g: [-g * inputs[0].sin()], floats=1)
unary("Tan", lambda a, inputs, out, g: [g * (1 + out * out)], floats=1)
unary("Asin", lambda a, inputs, out, g: [g / (1 - inputs[0] * inputs[0]).sqrt()], floats=1)
unary("Acos", lambda a, inputs, out, g: [-g / (1 - inputs[0] * inputs[0]).sqrt()], floats=1)
unary("Atan", lambda a, inputs, out, g: [g / (1 + inputs[0] * inputs[0])], floats=1)
unary("Sinh", lambda a, inputs, out, g: [g * inputs[0].cosh()], floats=1)
unary("Cosh", lambda a, inputs, out, g: [g * inputs[0].sinh()], floats=1)
unary("Asinh", lambda a, inputs, out, g: [g / (inputs[0] * inputs[0] + 1).sqrt()], floats=1)
unary("Acosh", lambda a, inputs, out, g: [g / (inputs[0] * inputs[0] - 1).sqrt()], floats=1)
unary("Atanh", lambda a, inputs, out, g: [g / (1 - inputs[0] * inputs[0])], floats=1)
# piecewise constant, so no gradient rule (a zero one would silently stop training); Round rounds
# half to even (https://onnx.ai/onnx/operators/onnx__Round.html), as numpy's rint and WGSL's round
unary("Floor", floats=1)
unary("Ceil", floats=1)
unary("Round", floats=1)
unary("Sign")


def _gelu_grad(a, inputs, out, g):
    x = inputs[0]
    if a["approximate"] == "tanh":
        k = math.sqrt(2 / math.pi)
        t = (k * (x + 0.044715 * x * x * x)).tanh()
        return [g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x))]
    cdf = 0.5 * (1 + (x * (1 / math.sqrt(2))).erf())
    return [g * (cdf + x * (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi)))]


@op("Gelu", {"approximate": "none"}, grad=_gelu_grad, activation=True, floats=1)
def _gelu(a, x):
    if a["approximate"] not in ("none", "tanh"):
        raise GraphError(f"Gelu approximate={a['approximate']!r} is not supported (only 'none' or 'tanh')")
    return x


def _hard_sigmoid_grad(a, inputs, out, g):
    return [g * (mask(out > 0, g) * mask(out < 1, g)) * a["alpha"]]


def _hard_swish_grad(a, inputs, out, g):
    x = inputs[0]
    h = x / 6 + 0.5
    return [g * (h.clamp(0.0, 1.0) + x / 6 * (mask(h > 0, g) * mask(h < 1, g)))]


def _mish_grad(a, inputs, out, g):
    x = inputs[0]
    t = x._op("Softplus").tanh()
    return [g * (t + x * (1 - t * t) * x.sigmoid())]


# max(0, min(1, alpha * x + beta)); x * hardsigmoid(x) with 1/6 and 1/2; log(1 + exp(x));
# x / (1 + |x|); x * tanh(softplus(x)): https://onnx.ai/onnx/operators/onnx__HardSigmoid.html and
# onnx__HardSwish.html, onnx__Softplus.html, onnx__Softsign.html, onnx__Mish.html
unary("HardSigmoid", _hard_sigmoid_grad, {"alpha": 0.2, "beta": 0.5}, activation=True, floats=1)
unary("HardSwish", _hard_swish_grad, activation=True, floats=1)
unary("Softplus", lambda a, inputs, out, g: [g * inputs[0].sigmoid()], activation=True, floats=1)
unary("Softsign", lambda a, inputs, out, g: [g / (1 + inputs[0].abs()) ** 2], activation=True, floats=1)
unary("Mish", _mish_grad, activation=True, floats=1)


unary(
    "Cast",
    lambda a, inputs, out, g: [g.to(dtype=inputs[0].dtype)],
    {"to": None},
    dtype=lambda a, dtypes: a["to"],
)
unary("Identity", lambda a, inputs, out, g: [g])
unary("Dropout", attrs={"ratio": 0.5, "seed": 0})  # inference only: Tensor dropout multiplies a mask


def _broadcasting(a, x, y):
    return broadcast(x, y)


def binary(name, rule=None, **facts):
    """A broadcasting binary op; `rule(x, y, out, g)` gives x's gradient and a thunk for y's (pow's
    needs a log that a y without requires_grad should not pay for)."""

    def grad(a, inputs, out, g):
        x, y = inputs
        gx, gy = rule(x, y, out, g)
        return [
            unbroadcast(gx, x.shape) if x.requires_grad else None,
            unbroadcast(gy(), y.shape) if y.requires_grad else None,
        ]

    op(name, grad=grad if rule else None, **facts)(_broadcasting)


binary("Add", lambda x, y, out, g: (g, lambda: g))
binary("Sub", lambda x, y, out, g: (g, lambda: -g))
binary("Mul", lambda x, y, out, g: (g * y, lambda: g * x))
binary("Div", lambda x, y, out, g: (g / y, lambda: -g * out / y), floats=1)
binary("Pow", lambda x, y, out, g: (g * y * x ** (y - 1), lambda: g * out * x.log()))
binary("Max", lambda x, y, out, g: (g * mask(x >= y, g), lambda: g * mask(y > x, g)))
binary("Min", lambda x, y, out, g: (g * mask(x <= y, g), lambda: g * mask(y < x, g)))


# https://onnx.ai/onnx/operators/onnx__Mod.html: fmod=1 is C's fmod (the dividend's sign),
# fmod=0 the divisor's sign, as Python's %; no gradient (nothing in the tensor library needs one)
@op("Mod", {"fmod": 0})
def _mod(a, x, y):
    if a["fmod"] not in (0, 1):
        raise GraphError(f"Mod fmod={a['fmod']!r} is not supported (only 0 or 1)")
    return broadcast(x, y)


for _name in ("Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual"):
    binary(_name, dtype="bool")


@op("Sum")
def _sum(a, *xs):
    return broadcast(*xs)


def _where_grad(a, inputs, out, g):
    c, x, y = inputs
    return [
        None,
        unbroadcast(g.where(c, 0.0), x.shape) if x.requires_grad else None,
        unbroadcast((0 * g).where(c, g), y.shape) if y.requires_grad else None,
    ]


@op("Where", grad=_where_grad, dtype=lambda a, dtypes: dtypes[1])
def _where(a, c, x, y):
    return broadcast(c, x, y)


# integer bit operations (https://onnx.ai/onnx/operators/onnx__BitwiseAnd.html and its
# neighbours, onnx__BitShift.html); not differentiable. A shift by a negative amount or by the
# width or more gives what the sign alone gives (-1 for a negative right-shifted, else 0).
for _name in ("BitwiseAnd", "BitwiseOr", "BitwiseXor"):
    binary(_name)
unary("BitwiseNot")


@op("BitShift", {"direction": None})
def _bit_shift(a, x, y):
    if a["direction"] not in ("LEFT", "RIGHT"):
        raise GraphError(f"BitShift direction={a['direction']!r} is not supported (only 'LEFT' or 'RIGHT')")
    return broadcast(x, y)
