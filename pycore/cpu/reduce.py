"""Reductions over axes, and ArgMax (pycore/ops/reduce.py)."""

import numpy as np


def argmax(a, x):
    axis, keep = a["axis"], bool(a["keepdims"])
    if a["select_last_index"]:  # the last of equal maxima: the first one of the flipped axis
        return x.shape[axis] - 1 - np.argmax(np.flip(x, axis), axis=axis, keepdims=keep)
    return np.argmax(x, axis=axis, keepdims=keep)


def _reduce(fn):
    return lambda a, x: fn(x, axis=tuple(a["axes"]), keepdims=bool(a["keepdims"]))


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
    "ReduceSum": _reduce(np.sum),
    "ReduceMean": _reduce(np.mean),
    "ReduceMax": _extreme(np.max, -1),
    "ReduceMin": _extreme(np.min, 1),
    "ReduceProd": _reduce(np.prod),
    "ArgMax": argmax,
}
