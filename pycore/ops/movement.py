"""Records of the ops that move data without arithmetic: reshapes, transposes, slices, pads,
concatenation and broadcasting copies."""

import math

from ..errors import GraphError, PycoreError
from . import broadcast, op, unbroadcast


def _as_input(a, inputs, out, g):
    return [g.reshape(inputs[0].shape)]


@op("Flatten", dict(axis=1), grad=_as_input)
def _flatten(a, x):
    ax = a["axis"] + len(x) if a["axis"] < 0 else a["axis"]  # accepted range is [-rank, rank]
    if not 0 <= ax <= len(x):
        raise ValueError(f"axis {a['axis']} for rank {len(x)}")
    a["axis"] = ax
    return (math.prod(x[:ax]), math.prod(x[ax:]))


@op("Reshape", dict(shape=None, allowzero=0), grad=_as_input)
def _reshape(a, x):
    shape = [x[i] if d == 0 and not a["allowzero"] else d for i, d in enumerate(a["shape"])]
    if shape.count(-1) > 1:
        raise ValueError("more than one -1 in shape")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        shape[shape.index(-1)] = math.prod(x) // known if known else 0
    if math.prod(shape) != math.prod(x):
        raise ValueError(f"cannot reshape {x} to {a['shape']}")
    a["shape"] = shape
    return tuple(shape)


def _transpose_grad(a, inputs, out, g):
    return [g.permute([a["perm"].index(i) for i in range(g.ndim)])]


@op("Transpose", dict(perm=None), grad=_transpose_grad)
def _transpose(a, x):
    a["perm"] = list(a["perm"] or reversed(range(len(x))))
    if sorted(a["perm"]) != list(range(len(x))):
        raise ValueError(f"perm {a['perm']} for rank {len(x)}")
    return tuple(x[p] for p in a["perm"])


def _concat_grad(a, inputs, out, g):
    grads, at, n = [], 0, g.ndim
    for t in inputs:
        size = t.shape[a["axis"]]
        starts = [at if i == a["axis"] else 0 for i in range(n)]
        ends = [at + size if i == a["axis"] else d for i, d in enumerate(g.shape)]
        grads.append(g._op("Slice", starts=starts, ends=ends))
        at += size
    return grads


@op("Concat", dict(axis=None), grad=_concat_grad)
def _concat(a, *xs):
    if not -len(xs[0]) <= a["axis"] < len(xs[0]):
        raise ValueError(f"axis {a['axis']} for rank {len(xs[0])}")
    ax = a["axis"] % len(xs[0])
    a["axis"] = ax
    for s in xs[1:]:
        if len(s) != len(xs[0]) or any(d != e for i, (d, e) in enumerate(zip(s, xs[0])) if i != ax):
            raise ValueError(f"shapes {xs} differ outside axis {ax}")
    return (*xs[0][:ax], sum(s[ax] for s in xs), *xs[0][ax + 1 :])


def _pad_grad(a, inputs, out, g):
    n = inputs[0].ndim
    starts = a["pads"][:n]
    ends = [s + d for s, d in zip(starts, inputs[0].shape)]
    return [g._op("Slice", starts=starts, ends=ends)]


@op("Pad", dict(pads=None, mode="constant", value=0.0), grad=_pad_grad)
def _pad(a, x):
    if a["mode"] not in ("constant", "reflect", "edge"):
        raise GraphError(f"Pad mode {a['mode']!r} is not supported")
    p, n = a["pads"], len(x)
    if len(p) != 2 * n or min(p, default=0) < 0:  # the importer turns negative pads into Slice
        raise ValueError(f"pads {p} for rank {n}")
    return tuple(d + p[i] + p[i + n] for i, d in enumerate(x))


def _slice_grad(a, inputs, out, g):
    x = inputs[0]
    if any(s != 1 for s in a["steps"]):
        raise PycoreError("the gradient of a strided slice (step > 1) is not supported yet")
    pads = [*a["starts"], *(d - e for d, e in zip(x.shape, a["ends"]))]
    return [g._op("Pad", pads=pads)]


@op("Slice", dict(starts=None, ends=None, axes=None, steps=None), grad=_slice_grad)
def _slice(a, x):
    """ONNX Slice-10 with constant starts/ends/axes/steps as attributes. Resolves to one clamped
    [start, end) and a positive step for every dimension, so kernels see a plain strided copy."""
    n = len(x)
    axes = [ax % n if -n <= ax < n else None for ax in (a["axes"] or range(len(a["starts"])))]
    steps = a["steps"] or [1] * len(axes)
    if None in axes or len(set(axes)) != len(axes) or not len(a["starts"]) == len(a["ends"]) == len(axes):
        raise ValueError(f"axes {a['axes']} / starts / ends do not fit rank {n}")
    starts, ends, full = [0] * n, list(x), [1] * n
    for ax, s, e, st in zip(axes, a["starts"], a["ends"], steps):
        if st <= 0:
            raise GraphError(f"Slice step {st} is not supported (steps must be positive)")
        starts[ax] = min(max(s + x[ax] if s < 0 else s, 0), x[ax])
        ends[ax] = min(max(e + x[ax] if e < 0 else e, 0), x[ax])
        full[ax] = st
    a.update(starts=starts, ends=ends, axes=list(range(n)), steps=full)
    return tuple(max(0, -(-(e - s) // st)) for s, e, st in zip(starts, ends, full))


@op("Expand", dict(shape=None), grad=lambda a, inputs, out, g: [unbroadcast(g, inputs[0].shape)])
def _expand(a, x):
    out = broadcast(x, a["shape"])
    if out != tuple(a["shape"]):
        raise ValueError(f"cannot expand {x} to {a['shape']}")
    return out
