"""Reductions over axes, and ArgMax (pycore/ops/reduce.py)."""

import numpy as np


def argmax(a, x):
    axis, keep = a["axis"], bool(a["keepdims"])
    if a["select_last_index"]:  # the last of equal maxima: the first one of the flipped axis
        return x.shape[axis] - 1 - np.argmax(np.flip(x, axis), axis=axis, keepdims=keep)
    return np.argmax(x, axis=axis, keepdims=keep)


def _reduce(fn):
    return lambda a, x: fn(x, axis=tuple(a["axes"]), keepdims=bool(a["keepdims"]))


KERNELS = {
    "ReduceSum": _reduce(np.sum),
    "ReduceMean": _reduce(np.mean),
    "ReduceMax": _reduce(np.max),
    "ReduceMin": _reduce(np.min),
    "ArgMax": argmax,
}
