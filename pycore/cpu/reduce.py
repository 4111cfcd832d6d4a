"""Reductions over axes, and ArgMax (pycore/ops/reduce.py)."""

import numpy as np


def argmax(a, x):
    axis, keep = a["axis"], bool(a["keepdims"])
    if a["select_last_index"]:  # the last of equal maxima: the first one of the flipped axis
        return x.shape[axis] - 1 - np.argmax(np.flip(x, axis), axis=axis, keepdims=keep)
    return np.argmax(x, axis=axis, keepdims=keep)


def _reduce(fn):
    return lambda a, x: fn(x, axis=tuple(a["axes"]), keepdims=bool(a["keepdims"]))


def _typed(fn):
    """numpy sums and multiplies int32 in int64; ONNX (and the op record) keeps the input's integer
    type, wrapping as it does. Bools and floats keep numpy's types (a bool's sum is int64)."""

    def kernel(a, x):
        dtype = x.dtype if x.dtype.kind in "iu" else None
        return fn(x, axis=tuple(a["axes"]), keepdims=bool(a["keepdims"]), dtype=dtype)

    return kernel


def _extreme(fn, sign):
    """max and min have no identity in numpy, so an empty reduction raises there; ONNX gives the
    identity, -inf for max and +inf for min (the integer limits for integers)."""

    def kernel(a, x):
        axes = tuple(a["axes"])
        if all(x.shape[d] for d in axes):
            return fn(x, axis=axes, keepdims=bool(a["keepdims"]))
        if x.dtype.kind == "f":
            initial = sign * np.inf
        elif x.dtype.kind == "b":
            initial = sign > 0
        else:
            initial = np.iinfo(x.dtype).max if sign > 0 else np.iinfo(x.dtype).min
        return fn(x, axis=axes, keepdims=bool(a["keepdims"]), initial=initial)

    return kernel


KERNELS = {
    "ReduceSum": _typed(np.sum),
    "ReduceMean": _reduce(np.mean),
    "ReduceMax": _extreme(np.max, -1),
    "ReduceMin": _extreme(np.min, 1),
    "ReduceProd": _typed(np.prod),
    "ArgMax": argmax,
}
