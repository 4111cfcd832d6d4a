"""Elementwise kernels and the fused activation epilogue shared by Conv, Gemm and MatMul."""

import math

import numpy as np

from .. import ops

# numpy has no erf. Below 1.5 its Taylor series (23 terms), from 1.5 on erfc's continued fraction
# (60 levels), both in float64: within 2e-13 of math.erf and math.erfc relative to the value, and
# about twice as fast as calling math.erf per element
_SERIES = [(-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(23)]
_SPLIT = 1.5


def _erf_series(x):
    z, s = x * x, np.full_like(x, _SERIES[-1])
    for c in reversed(_SERIES[:-1]):
        s *= z
        s += c
    return (2 / math.sqrt(math.pi)) * x * s


def _erfc_tail(a):
    f = np.zeros_like(a)
    for k in range(60, 0, -1):
        f += a
        np.divide(k / 2, f, out=f)
    return np.exp(-a * a) / (math.sqrt(math.pi) * (a + f))


def _erfc_abs(a):
    """erfc(a) for a >= 0, in float64, accurate relative to itself (GELU's tail lives there)."""
    out, tail = np.empty_like(a), a >= _SPLIT
    out[~tail] = 1 - _erf_series(a[~tail])
    out[tail] = _erfc_tail(a[tail])
    return out


def _erf(x):
    x = x.astype(np.float64)
    a, out = np.abs(x), np.empty_like(x)
    near = a < _SPLIT
    out[near] = _erf_series(x[near])
    out[~near] = np.copysign(1 - _erfc_tail(a[~near]), x[~near])
    return out


def _gelu(a, x):
    if a["approximate"] == "tanh":  # 0.5 (1 + tanh(u)) is sigmoid(2u), which does not cancel
        return x * _sigmoid(math.sqrt(8 / math.pi) * (x + 0.044715 * x * x * x))
    h = 0.5 * _erfc_abs(np.abs(x.astype(np.float64)) / math.sqrt(2))  # Phi(-|x|), no cancellation
    return (x * np.where(x < 0, h, 1 - h)).astype(x.dtype, copy=False)


def _softplus(x):
    return np.logaddexp(0, x).astype(x.dtype, copy=False)


def _sigmoid(x):
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x < -88: the result, 0, is right
        return (1.0 / (1.0 + np.exp(-x))).astype(x.dtype, copy=False)


UNARY = {
    "Relu": lambda a, x: np.maximum(x, 0, dtype=x.dtype),
    "Sigmoid": lambda a, x: _sigmoid(x),
    "Tanh": lambda a, x: np.tanh(x),
    "Exp": lambda a, x: np.exp(x),
    "Log": lambda a, x: np.log(x),
    "Sqrt": lambda a, x: np.sqrt(x),
    "Neg": lambda a, x: -x,
    "Abs": lambda a, x: np.abs(x),
    "LeakyRelu": lambda a, x: np.where(x >= 0, x, x * x.dtype.type(a["alpha"])),
    "Clip": lambda a, x: np.clip(x, a["min"], a["max"]).astype(x.dtype, copy=False),
    "Erf": lambda a, x: _erf(x).astype(x.dtype, copy=False),
    "Gelu": _gelu,
    "HardSigmoid": lambda a, x: np.clip(x * a["alpha"] + a["beta"], 0, 1).astype(x.dtype, copy=False),
    "HardSwish": lambda a, x: x * np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False),
    "Softplus": lambda a, x: _softplus(x),
    "Softsign": lambda a, x: x / (1 + np.abs(x)),
    "Mish": lambda a, x: x * np.tanh(_softplus(x)),
    "Cast": lambda a, x: x.astype(a["to"]),
    "Identity": lambda a, x: x.copy(),
    "Dropout": lambda a, x: x.copy(),  # inference: a no-op, like Identity
}

# unary ops that are one numpy ufunc (Round: np.rint rounds half to even, as ONNX does)
UFUNCS = {
    "Sin": np.sin,
    "Cos": np.cos,
    "Tan": np.tan,
    "Asin": np.arcsin,
    "Acos": np.arccos,
    "Atan": np.arctan,
    "Sinh": np.sinh,
    "Cosh": np.cosh,
    "Asinh": np.arcsinh,
    "Acosh": np.arccosh,
    "Atanh": np.arctanh,
    "Floor": np.floor,
    "Ceil": np.ceil,
    "Round": np.rint,
    "Sign": np.sign,
}
UNARY.update({k: (lambda ufunc: lambda a, x: ufunc(x))(f) for k, f in UFUNCS.items()})

BINARY = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Pow": np.power,
    "Max": np.maximum,
    "Min": np.minimum,
    "Greater": np.greater,
    "Less": np.less,
    "Equal": np.equal,
    "GreaterOrEqual": np.greater_equal,
    "LessOrEqual": np.less_equal,
    "BitwiseAnd": np.bitwise_and,
    "BitwiseOr": np.bitwise_or,
    "BitwiseXor": np.bitwise_xor,
}


def epilogue(attrs, y, residual):
    """y = activation(y + residual): the activation is the op's own kernel, given the attributes its
    host carries as `act_<name>`."""
    if residual is not None:
        y += residual
    act, own = ops.fused_activation(attrs)
    return UNARY[act](own, y) if act else y


def _binary(ufunc):
    return lambda a, x, y: ufunc(x, y)


def _div(a, x, y):
    """Integers divide truncating toward zero, as ONNX's Div (and C) do; numpy's // floors."""
    if x.dtype.kind not in "iu":
        return np.divide(x, y)
    q = np.floor_divide(x, y)
    return q + ((np.remainder(x, y) != 0) & ((x < 0) != (y < 0))).astype(q.dtype)


def _bit_shift(a, x, y):
    """x shifted by y bits; shifts outside [0, width) are C's undefined behaviour, so they are
    masked out and give the sign's fill instead (ONNX's rule)."""
    y = y.astype(x.dtype, copy=False)
    inside = (y >= 0) & (y < 8 * x.dtype.itemsize)
    by = np.where(inside, y, 0).astype(x.dtype, copy=False)
    if a["direction"] == "LEFT":
        return np.where(inside, np.left_shift(x, by), 0).astype(x.dtype, copy=False)
    fill = np.where(x < 0, -1, 0) if x.dtype.kind == "i" else 0
    return np.where(inside, np.right_shift(x, by), fill).astype(x.dtype, copy=False)


def _sum(a, *xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


KERNELS = {
    **UNARY,
    **{k: _binary(f) for k, f in BINARY.items()},
    "Div": _div,
    "Sum": _sum,
    "BitShift": _bit_shift,
    "BitwiseNot": lambda a, x: np.invert(x),
    "Mod": lambda a, x, y: np.fmod(x, y) if a["fmod"] else np.mod(x, y),
    "Where": lambda a, c, x, y: np.where(c, x, y),
}
