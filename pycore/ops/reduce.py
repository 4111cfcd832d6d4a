"""Records of the reductions over axes, and ArgMax."""

import math

from . import op


def _reduce(a, x):
    n = len(x)
    axes = range(n) if a["axes"] is None else a["axes"]  # None reduces everything, [] nothing
    if any(not -n <= ax < n for ax in axes):
        raise ValueError(f"axes {a['axes']} for rank {n}")
    a["axes"] = sorted({ax % n for ax in axes})
    if a["keepdims"]:
        return tuple(1 if i in a["axes"] else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in a["axes"])


def _kept(a, x, g):
    """The reduction's gradient (or its output) with the reduced axes kept, then broadcast back."""
    keep = tuple(1 if i in a["axes"] else d for i, d in enumerate(x.shape))
    return g.reshape(keep).expand(x.shape)


def _count(a, x):
    return math.prod(x.shape[d] for d in a["axes"])


def _extreme(a, inputs, out, g):
    """Ties share the gradient equally, as PyTorch's amax and amin do."""
    x = inputs[0]
    hit = (x == _kept(a, x, out)).to(dtype=x.dtype)
    return [hit * _kept(a, x, g) / _kept(a, x, hit.sum(a["axes"], keepdim=bool(a["keepdims"])))]


AXES = {"axes": None, "keepdims": 1}
op(
    "ReduceSum",
    AXES,
    grad=lambda a, inputs, out, g: [_kept(a, inputs[0], g)],
    dtype=lambda a, dtypes: "int64" if dtypes[0] == "bool" else dtypes[0],
)(_reduce)
op(
    "ReduceMean",
    AXES,
    grad=lambda a, inputs, out, g: [_kept(a, inputs[0], g) / _count(a, inputs[0])],
    floats=1,
)(_reduce)
op("ReduceMax", AXES, grad=_extreme)(_reduce)
op("ReduceMin", AXES, grad=_extreme)(_reduce)
op("ReduceProd", AXES)(_reduce)  # no gradient: nothing in the tensor library needs one


@op("ArgMax", dict(axis=0, keepdims=1, select_last_index=0), dtype="int64")
def _argmax(a, x):
    if not -len(x) <= a["axis"] < len(x):
        raise ValueError(f"axis {a['axis']} for rank {len(x)}")
    a["axis"] %= len(x)
    return tuple(1 if i == a["axis"] else d for i, d in enumerate(x) if a["keepdims"] or i != a["axis"])
