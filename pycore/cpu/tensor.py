"""Layout kernels (views where numpy allows) and the matrix products."""

import numpy as np

from .elementwise import epilogue


def gemm(a, x, w, c=None, residual=None):
    x = x.T if a["transA"] else x
    w = w.T if a["transB"] else w
    y = x @ w
    if a["alpha"] != 1.0:
        y *= np.float32(a["alpha"])
    if c is not None:
        y += c * np.float32(a["beta"]) if a["beta"] != 1.0 else c
    return epilogue(a, y, residual)


def matmul(a, x, w, residual=None):
    return epilogue(a, np.matmul(x, w), residual)


def softmax(a, x):
    e = np.exp(x - x.max(axis=a["axis"], keepdims=True))
    return e / e.sum(axis=a["axis"], keepdims=True)


def pad(a, x):
    n = x.ndim
    widths = [(a["pads"][i], a["pads"][i + n]) for i in range(n)]
    if a["mode"] == "constant":
        return np.pad(x, widths, constant_values=a["value"])
    return np.pad(x, widths, mode=a["mode"])


def slice_(a, x):
    return np.ascontiguousarray(x[tuple(map(slice, a["starts"], a["ends"], a["steps"]))])


def argmax(a, x):
    axis, keep = a["axis"], bool(a["keepdims"])
    if a["select_last_index"]:  # the last of equal maxima: the first one of the flipped axis
        return x.shape[axis] - 1 - np.argmax(np.flip(x, axis), axis=axis, keepdims=keep)
    return np.argmax(x, axis=axis, keepdims=keep)


def _reduce(fn):
    return lambda a, x: fn(x, axis=tuple(a["axes"]), keepdims=bool(a["keepdims"]))


KERNELS = {
    "Gemm": gemm,
    "MatMul": matmul,
    "Softmax": softmax,
    "Flatten": lambda a, x: x.reshape(int(np.prod(x.shape[: a["axis"]])), -1),
    "Reshape": lambda a, x: x.reshape(a["shape"]),
    "Transpose": lambda a, x: np.ascontiguousarray(x.transpose(a["perm"])),
    "Concat": lambda a, *xs: np.concatenate(xs, axis=a["axis"]),
    "Pad": pad,
    "Slice": slice_,
    "ReduceSum": _reduce(np.sum),
    "ReduceMean": _reduce(np.mean),
    "ReduceMax": _reduce(np.max),
    "ReduceMin": _reduce(np.min),
    "ArgMax": argmax,
    "Expand": lambda a, x: np.broadcast_to(x, a["shape"]),  # a read-only view, as in PyTorch
}
