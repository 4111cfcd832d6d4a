"""Elementwise kernels and the fused activation epilogue shared by Conv, Gemm and MatMul."""

import math

import numpy as np

from .. import ops

_erf = np.frompyfunc(math.erf, 1, 1)  # numpy has no erf; math.erf is exact to double precision


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
    "LeakyRelu": lambda a, x: np.where(x >= 0, x, x * np.float32(a["alpha"])),
    "Clip": lambda a, x: np.clip(x, a["min"], a["max"]).astype(x.dtype, copy=False),
    "Erf": lambda a, x: _erf(x).astype(x.dtype),
    "Cast": lambda a, x: x.astype(a["to"]),
    "Identity": lambda a, x: x.copy(),
    "Dropout": lambda a, x: x.copy(),  # inference: a no-op, like Identity
}

BINARY = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": np.divide,
    "Pow": np.power,
    "Max": np.maximum,
    "Min": np.minimum,
    "Greater": np.greater,
    "Less": np.less,
    "Equal": np.equal,
    "GreaterOrEqual": np.greater_equal,
    "LessOrEqual": np.less_equal,
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


def _sum(a, *xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


KERNELS = {
    **UNARY,
    **{k: _binary(f) for k, f in BINARY.items()},
    "Sum": _sum,
    "Where": lambda a, c, x, y: np.where(c, x, y),
}
