"""Kernels of the ops that move data without arithmetic (pycore/ops/movement.py): views where numpy
allows, copies where it does not."""

import math

import numpy as np


def pad(a, x):
    n = x.ndim
    widths = [(a["pads"][i], a["pads"][i + n]) for i in range(n)]
    if a["mode"] == "constant":
        return np.pad(x, widths, constant_values=a["value"])
    return np.pad(x, widths, mode=a["mode"])


def slice_(a, x):
    return np.ascontiguousarray(x[tuple(map(slice, a["starts"], a["ends"], a["steps"]))])


KERNELS = {
    # math.prod: np.prod of a shape tuple builds an array first, 30-100 us in Pyodide (MNIST's Flatten)
    "Flatten": lambda a, x: x.reshape(math.prod(x.shape[: a["axis"]]), -1),
    "Reshape": lambda a, x: x.reshape(a["shape"]),
    "Transpose": lambda a, x: np.ascontiguousarray(x.transpose(a["perm"])),
    "Concat": lambda a, *xs: np.concatenate(xs, axis=a["axis"]),
    "Pad": pad,
    "Slice": slice_,
    "Expand": lambda a, x: np.broadcast_to(x, a["shape"]),  # a read-only view, as in PyTorch
}
