"""One definition per op: its attributes (with defaults) and its shape inference.

Semantics follow ONNX (https://onnx.ai/onnx/operators/), so converted graphs keep their meaning.
`infer` resolves every attribute to an explicit form (pads from auto_pad, default strides, ...) and
writes it back into the node, so kernels of every backend read attributes without defaults.
Fused epilogues (set by passes.py) live on Conv, Gemm and MatMul: `activation` is one of
ACTIVATIONS and an extra last input is a residual added before the activation.
"""

import math

from .errors import GraphError

OPS = {}
ACTIVATIONS = {"Relu", "Clip", "Sigmoid", "LeakyRelu", "Tanh"}


def op(name, **defaults):
    def register(infer):
        OPS[name] = (defaults, infer)
        return infer

    return register


def resolve(node, shapes):
    """Fills the node's attributes with defaults and returns the output shapes."""
    if node.op not in OPS:
        raise GraphError(f"node {node.name!r}: unknown op {node.op!r}")
    defaults, infer = OPS[node.op]
    extra = set(node.attrs) - set(defaults) - EPILOGUE_ATTRS
    if extra:
        raise GraphError(f"node {node.name!r} ({node.op}): unknown attribute(s) {sorted(extra)}")
    node.attrs = {**defaults, **node.attrs}
    try:
        out = infer(node.attrs, *shapes)
    except GraphError:
        raise
    except (ValueError, IndexError, TypeError, ZeroDivisionError) as e:
        raise GraphError(f"node {node.name!r} ({node.op}): inputs {shapes} do not fit: {e}") from e
    return [tuple(int(d) for d in s) for s in (out if isinstance(out, list) else [out])]


EPILOGUE_ATTRS = {"activation", "act_alpha", "act_min", "act_max"}


def broadcast(*shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (rank - len(s)) + tuple(s) for s in shapes]):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _window(a, x, w_spatial, kind):
    """Resolves strides/pads/dilations for conv and pooling; returns output spatial dims."""
    k = list(w_spatial)
    nd = len(k)
    a["kernel_shape"] = k
    a["strides"] = list(a["strides"] or [1] * nd)
    a["dilations"] = list(a.get("dilations") or [1] * nd)
    spatial = x[2:]
    if len(spatial) != nd:
        raise ValueError(f"{nd}-d kernel on {len(spatial)}-d input")
    auto = a.pop("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * nd)
        for i, (n, s, d) in enumerate(zip(spatial, a["strides"], a["dilations"])):
            total = max(0, (math.ceil(n / s) - 1) * s + (k[i] - 1) * d + 1 - n)
            small, big = total // 2, total - total // 2
            pads[i], pads[i + nd] = (small, big) if auto == "SAME_UPPER" else (big, small)
        a["pads"] = pads
    elif auto == "VALID":
        a["pads"] = [0] * (2 * nd)
    elif auto != "NOTSET":
        raise GraphError(f"auto_pad {auto!r} is not supported")
    a["pads"] = list(a["pads"] or [0] * (2 * nd))
    out = []
    for i, n in enumerate(spatial):
        span = n + a["pads"][i] + a["pads"][i + nd] - (k[i] - 1) * a["dilations"][i] - 1
        if a.get("ceil_mode"):
            o = -(-span // a["strides"][i]) + 1
            if (o - 1) * a["strides"][i] >= n + a["pads"][i]:
                o -= 1
        else:
            o = span // a["strides"][i] + 1
        if o < 1:
            raise ValueError(f"{kind} window larger than the padded input")
        out.append(o)
    return out


@op("Conv", strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET", kernel_shape=None)
def _conv(a, x, w, b=None, residual=None):
    if x[1] != w[1] * a["group"] or w[0] % a["group"]:
        raise ValueError(f"{x[1]} input channels, weight {w}, group {a['group']}")
    return (x[0], w[0], *_window(a, x, w[2:], "conv"))


def _pool(a, x):
    return (x[0], x[1], *_window(a, x, a["kernel_shape"], "pool"))


op(
    "MaxPool",
    kernel_shape=None,
    strides=None,
    pads=None,
    dilations=None,
    ceil_mode=0,
    auto_pad="NOTSET",
    storage_order=0,
)(_pool)
op(
    "AveragePool",
    kernel_shape=None,
    strides=None,
    pads=None,
    ceil_mode=0,
    auto_pad="NOTSET",
    count_include_pad=0,
    dilations=None,
)(_pool)


@op("GlobalAveragePool")
def _global_pool(a, x):
    return (x[0], x[1]) + (1,) * (len(x) - 2)


OPS["GlobalMaxPool"] = ({}, _global_pool)


@op("Gemm", alpha=1.0, beta=1.0, transA=0, transB=0)
def _gemm(a, x, w, c=None, residual=None):
    m = x[1] if a["transA"] else x[0]
    k = x[0] if a["transA"] else x[1]
    kw, n = (w[1], w[0]) if a["transB"] else (w[0], w[1])
    if k != kw:
        raise ValueError(f"inner dimensions {k} and {kw} differ")
    if c is not None:
        broadcast(c, (m, n))
    return (m, n)


@op("MatMul")
def _matmul(a, x, w, residual=None):
    if len(x) == 1 or len(w) == 1:
        raise ValueError("1-d MatMul operands are not supported")
    if x[-1] != w[-2]:
        raise ValueError(f"inner dimensions {x[-1]} and {w[-2]} differ")
    return (*broadcast(x[:-2], w[:-2]), x[-2], w[-1])


def _same(a, x, *rest):
    return x


for _name, _defaults in {
    "Relu": {},
    "Sigmoid": {},
    "Tanh": {},
    "Exp": {},
    "Log": {},
    "Sqrt": {},
    "Neg": {},
    "Abs": {},
    "LeakyRelu": {"alpha": 0.01},
    "Clip": {"min": float("-inf"), "max": float("inf")},
    "Dropout": {"ratio": 0.5, "seed": 0},
    "Identity": {},
    "LRN": {"size": None, "alpha": 1e-4, "beta": 0.75, "bias": 1.0},
}.items():
    OPS[_name] = (_defaults, _same)


@op("BatchNormalization", epsilon=1e-5, momentum=0.9)
def _bn(a, x, scale, bias, mean, var):
    return x


def _binary(a, x, y):
    return broadcast(x, y)


for _name in ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"):
    OPS[_name] = ({}, _binary)


@op("Sum")
def _sum(a, *xs):
    return broadcast(*xs)


@op("Softmax", axis=-1)
def _softmax(a, x):
    if not -len(x) <= a["axis"] < len(x):
        raise ValueError(f"axis {a['axis']} for rank {len(x)}")
    a["axis"] %= len(x)
    return x


@op("Flatten", axis=1)
def _flatten(a, x):
    ax = a["axis"] + len(x) if a["axis"] < 0 else a["axis"]  # accepted range is [-rank, rank]
    if not 0 <= ax <= len(x):
        raise ValueError(f"axis {a['axis']} for rank {len(x)}")
    a["axis"] = ax
    return (math.prod(x[:ax]), math.prod(x[ax:]))


@op("Reshape", shape=None, allowzero=0)
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


@op("Transpose", perm=None)
def _transpose(a, x):
    a["perm"] = list(a["perm"] or reversed(range(len(x))))
    if sorted(a["perm"]) != list(range(len(x))):
        raise ValueError(f"perm {a['perm']} for rank {len(x)}")
    return tuple(x[p] for p in a["perm"])


@op("Concat", axis=None)
def _concat(a, *xs):
    if not -len(xs[0]) <= a["axis"] < len(xs[0]):
        raise ValueError(f"axis {a['axis']} for rank {len(xs[0])}")
    ax = a["axis"] % len(xs[0])
    a["axis"] = ax
    for s in xs[1:]:
        if len(s) != len(xs[0]) or any(d != e for i, (d, e) in enumerate(zip(s, xs[0])) if i != ax):
            raise ValueError(f"shapes {xs} differ outside axis {ax}")
    return (*xs[0][:ax], sum(s[ax] for s in xs), *xs[0][ax + 1 :])


@op("Pad", pads=None, mode="constant", value=0.0)
def _pad(a, x):
    if a["mode"] not in ("constant", "reflect", "edge"):
        raise GraphError(f"Pad mode {a['mode']!r} is not supported")
    p, n = a["pads"], len(x)
    if len(p) != 2 * n or min(p, default=0) < 0:  # the importer turns negative pads into Slice
        raise ValueError(f"pads {p} for rank {n}")
    return tuple(d + p[i] + p[i + n] for i, d in enumerate(x))


@op("Slice", starts=None, ends=None, axes=None, steps=None)
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


def _reduce(a, x):
    n = len(x)
    axes = range(n) if a["axes"] is None else a["axes"]  # None reduces everything, [] nothing
    if any(not -n <= ax < n for ax in axes):
        raise ValueError(f"axes {a['axes']} for rank {n}")
    a["axes"] = sorted({ax % n for ax in axes})
    if a["keepdims"]:
        return tuple(1 if i in a["axes"] else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in a["axes"])


for _name in ("ReduceSum", "ReduceMean", "ReduceMax"):
    OPS[_name] = ({"axes": None, "keepdims": 1}, _reduce)
OPS["ReduceMin"] = ({"axes": None, "keepdims": 1}, _reduce)


# ---- ops the Tensor library adds (comparisons, selection, casts, and the backward of windows) ----

for _name in ("Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual"):
    OPS[_name] = ({}, _binary)
OPS["Erf"] = ({}, _same)
OPS["Cast"] = ({"to": None}, _same)


@op("Where")
def _where(a, c, x, y):
    return broadcast(c, x, y)


@op("Expand", shape=None)
def _expand(a, x):
    out = broadcast(x, a["shape"])
    if out != tuple(a["shape"]):
        raise ValueError(f"cannot expand {x} to {a['shape']}")
    return out


@op("ArgMax", axis=0, keepdims=1, select_last_index=0)
def _argmax(a, x):
    if not -len(x) <= a["axis"] < len(x):
        raise ValueError(f"axis {a['axis']} for rank {len(x)}")
    a["axis"] %= len(x)
    return tuple(1 if i == a["axis"] else d for i, d in enumerate(x) if a["keepdims"] or i != a["axis"])


# Output dtypes that differ from the first input's (a name, or a rule of attrs and input dtypes);
# every other op keeps its first input's dtype.
OUTPUT_DTYPE = {
    **dict.fromkeys(("Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual"), "bool"),
    "ArgMax": "int64",
    "Cast": lambda a, dtypes: a["to"],
    "ReduceSum": lambda a, dtypes: "int64" if dtypes[0] == "bool" else dtypes[0],
    "Where": lambda a, dtypes: dtypes[1],
}

_CONV_ATTRS = dict(strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET", kernel_shape=None)


@op("ConvGradInput", shape=None, **_CONV_ATTRS)
def _conv_grad_input(a, dy, w):
    """d(Conv(x, w))/dx applied to dy: the shape of x is an attribute (strides lose it)."""
    x = tuple(a["shape"])
    if _conv(a, x, w) != tuple(dy):
        raise ValueError(f"gradient {dy} does not fit Conv of {x} with weight {w}")
    return x


@op("ConvGradWeight", shape=None, **_CONV_ATTRS)
def _conv_grad_weight(a, x, dy):
    w = tuple(a["shape"])
    if _conv(a, x, w) != tuple(dy):
        raise ValueError(f"gradient {dy} does not fit Conv of {x} with weight {w}")
    return w


def _pool_grad(a, x, dy):
    if _pool(a, x) != tuple(dy):
        raise ValueError(f"gradient {dy} does not fit pooling {x}")
    return x


op("MaxPoolGrad", **OPS["MaxPool"][0])(_pool_grad)
op("AveragePoolGrad", **OPS["AveragePool"][0])(_pool_grad)
