"""Reverse-mode autodiff over the IR ops a Tensor records.

GRADIENTS maps an op to its rule: `rule(attrs, inputs, out, grad) -> [grad of each input or None]`,
written in Tensor ops, so the backward pass runs on the forward pass's device with the same
kernels. backward() walks the recorded graph once in reverse topological order, under no_grad.
"""

import contextlib
import math

import numpy as np

from .errors import PycoreError

_enabled = [True]


def enabled():
    return _enabled[-1]


@contextlib.contextmanager
def _grad_mode(on):
    _enabled.append(on)
    try:
        yield
    finally:
        _enabled.pop()


class no_grad(contextlib.ContextDecorator):
    """`with pycore.no_grad():` (or as a decorator): ops record nothing, so nothing is kept for backward."""

    def __enter__(self):
        _enabled.append(False)

    def __exit__(self, *exc):
        _enabled.pop()


class enable_grad(no_grad):
    def __enter__(self):
        _enabled.append(True)


# ops whose first k inputs must be floating point: op -> k
FLOAT_OPS = {
    **dict.fromkeys(("Exp", "Log", "Sqrt", "Sigmoid", "Tanh", "Erf", "ReduceMean"), 1),
    **dict.fromkeys(("Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Div"), 1),
}


def unbroadcast(g, shape):
    """Sums a broadcast gradient back down to `shape`."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = list(range(lead)) + [lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1]
    return g.sum(axes, keepdim=True).reshape(shape) if axes else g.reshape(shape)


def _binary(rule):
    def grads(a, inputs, out, g):
        x, y = inputs
        gx, gy = rule(x, y, out, g)
        return [
            unbroadcast(gx, x.shape) if x.requires_grad else None,
            unbroadcast(gy(), y.shape) if y.requires_grad else None,  # lazily: pow's needs a log
        ]

    return grads


def _reduced(a, x, g):
    """The reduction's gradient (or its output) with the reduced axes kept, then broadcast back."""
    keep = tuple(1 if i in a["axes"] else d for i, d in enumerate(x.shape))
    return g.reshape(keep).expand(x.shape)


def _extreme(a, inputs, out, g):
    x = inputs[0]
    hit = (x == _reduced(a, x, out)).to(dtype=x.dtype)
    return [hit * _reduced(a, x, g) / _reduced(a, x, hit.sum(a["axes"], keepdim=bool(a["keepdims"])))]


def _slice(a, inputs, out, g):
    x = inputs[0]
    if any(s != 1 for s in a["steps"]):
        raise PycoreError("the gradient of a strided slice (step > 1) is not supported yet")
    pads = [*a["starts"], *(d - e for d, e in zip(x.shape, a["ends"]))]
    return [g._op("Pad", pads=pads)]


def _pad(a, inputs, out, g):
    n = inputs[0].ndim
    starts = a["pads"][:n]
    ends = [s + d for s, d in zip(starts, inputs[0].shape)]
    return [g._op("Slice", starts=starts, ends=ends)]


def _concat(a, inputs, out, g):
    grads, at, n = [], 0, g.ndim
    for t in inputs:
        size = t.shape[a["axis"]]
        starts = [at if i == a["axis"] else 0 for i in range(n)]
        ends = [at + size if i == a["axis"] else d for i, d in enumerate(g.shape)]
        grads.append(g._op("Slice", starts=starts, ends=ends))
        at += size
    return grads


def _conv(a, inputs, out, g):
    x, w, *b = inputs
    conv = {k: a[k] for k in ("strides", "pads", "dilations", "group", "kernel_shape")}
    return [
        g._op("ConvGradInput", w, shape=list(x.shape), **conv) if x.requires_grad else None,
        x._op("ConvGradWeight", g, shape=list(w.shape), **conv) if w.requires_grad else None,
        *([g.sum([0, *range(2, g.ndim)])] if b else []),
    ]


def _pool(grad_op):
    def grads(a, inputs, out, g):
        x = inputs[0]
        return [x._op(grad_op, g, **{k: v for k, v in a.items()})]

    return grads


def _gemm(a, inputs, out, g):
    """Y = X W^T + C (as F.linear writes it: alpha = beta = 1, transA = 0)."""
    if a["alpha"] != 1 or a["beta"] != 1 or a["transA"]:
        raise PycoreError("the gradient of Gemm is written for alpha = beta = 1 and transA = 0")
    x, w, *c = inputs
    gx = g @ w if a["transB"] else g @ w.T
    gw = g.T @ x if a["transB"] else x.T @ g
    return [gx, gw, *([unbroadcast(g, c[0].shape)] if c else [])]


def _batch_norm(a, inputs, out, g):
    """Batch norm with fixed statistics (evaluation): y = (x - mean) * scale / sqrt(var + eps) + bias."""
    x, scale, bias, mean, var = inputs
    shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
    inv = (var + a["epsilon"]).sqrt().reshape(shape)
    axes = [0, *range(2, x.ndim)]
    return [
        g * (scale.reshape(shape) / inv),
        (g * (x - mean.reshape(shape)) / inv).sum(axes) if scale.requires_grad else None,
        g.sum(axes) if bias.requires_grad else None,
        None,
        None,
    ]


def _transpose_last(t):
    return t.transpose(-1, -2)


GRADIENTS = {
    "Add": _binary(lambda x, y, out, g: (g, lambda: g)),
    "Sub": _binary(lambda x, y, out, g: (g, lambda: -g)),
    "Mul": _binary(lambda x, y, out, g: (g * y, lambda: g * x)),
    "Div": _binary(lambda x, y, out, g: (g / y, lambda: -g * out / y)),
    "Pow": _binary(lambda x, y, out, g: (g * y * x ** (y - 1), lambda: g * out * x.log())),
    "Max": _binary(
        lambda x, y, out, g: (g * (x >= y).to(dtype=g.dtype), lambda: g * (y > x).to(dtype=g.dtype))
    ),
    "Min": _binary(
        lambda x, y, out, g: (g * (x <= y).to(dtype=g.dtype), lambda: g * (y < x).to(dtype=g.dtype))
    ),
    "Neg": lambda a, inputs, out, g: [-g],
    "Exp": lambda a, inputs, out, g: [g * out],
    "Log": lambda a, inputs, out, g: [g / inputs[0]],
    "Sqrt": lambda a, inputs, out, g: [g / (2 * out)],
    "Abs": lambda a, inputs, out, g: [
        g * ((inputs[0] > 0).to(dtype=g.dtype) - (inputs[0] < 0).to(dtype=g.dtype))
    ],
    "Relu": lambda a, inputs, out, g: [g * (out > 0).to(dtype=g.dtype)],
    "Sigmoid": lambda a, inputs, out, g: [g * out * (1 - out)],
    "Tanh": lambda a, inputs, out, g: [g * (1 - out * out)],
    "Erf": lambda a, inputs, out, g: [g * (2 / math.sqrt(math.pi)) * (-(inputs[0] * inputs[0])).exp()],
    # 0 at the bounds themselves, as PyTorch's hardtanh and relu6 (its clamp passes it there): one
    # Clip then serves relu6, which the passes fuse into the convolution before it
    "Clip": lambda a, inputs, out, g: [
        g * ((inputs[0] > a["min"]).to(dtype=g.dtype) * (inputs[0] < a["max"]).to(dtype=g.dtype))
    ],
    "LeakyRelu": lambda a, inputs, out, g: [g.where(inputs[0] >= 0, g * a["alpha"])],
    "Cast": lambda a, inputs, out, g: [g.to(dtype=inputs[0].dtype)],
    "Where": lambda a, inputs, out, g: [
        None,
        unbroadcast(g.where(inputs[0], 0.0), inputs[1].shape) if inputs[1].requires_grad else None,
        unbroadcast((0 * g).where(inputs[0], g), inputs[2].shape) if inputs[2].requires_grad else None,
    ],
    "ReduceSum": lambda a, inputs, out, g: [_reduced(a, inputs[0], g)],
    "ReduceMean": lambda a, inputs, out, g: [
        _reduced(a, inputs[0], g) / math.prod(inputs[0].shape[i] for i in a["axes"])
    ],
    "ReduceMax": _extreme,
    "ReduceMin": _extreme,
    "MatMul": lambda a, inputs, out, g: [
        unbroadcast(g @ _transpose_last(inputs[1]), inputs[0].shape) if inputs[0].requires_grad else None,
        unbroadcast(_transpose_last(inputs[0]) @ g, inputs[1].shape) if inputs[1].requires_grad else None,
    ],
    "Reshape": lambda a, inputs, out, g: [g.reshape(inputs[0].shape)],
    "Flatten": lambda a, inputs, out, g: [g.reshape(inputs[0].shape)],
    "Softmax": lambda a, inputs, out, g: [out * (g - (g * out).sum(a["axis"], keepdim=True))],
    "Transpose": lambda a, inputs, out, g: [g.permute([a["perm"].index(i) for i in range(g.ndim)])],
    "Expand": lambda a, inputs, out, g: [unbroadcast(g, inputs[0].shape)],
    "Slice": _slice,
    "Pad": _pad,
    "Concat": _concat,
    "Conv": _conv,
    "Gemm": _gemm,
    "BatchNormalization": _batch_norm,
    "MaxPool": _pool("MaxPoolGrad"),
    "AveragePool": _pool("AveragePoolGrad"),
}


def _graph(root):
    """Tensors reachable from root through recorded ops, inputs before the tensors made from them."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._freed:
            raise PycoreError(
                "backward() through a graph that an earlier backward() already freed; "
                "pass retain_graph=True to the first call to backward twice"
            )
        stack.append((t, True))
        if t._ctx is not None:
            stack.extend((x, False) for x in t._ctx[2] if x.requires_grad)
    return order


def backward(root, gradient=None, retain_graph=False):
    from .tensors import Tensor, ones_like

    if not root.requires_grad:
        raise PycoreError("backward(): this tensor does not require grad and has no recorded graph")
    if gradient is None:
        if root.numel() != 1:
            raise PycoreError(
                f"backward() of a tensor of shape {list(root.shape)} needs a gradient argument of "
                "that shape (only a one-element tensor has an implicit gradient of 1)"
            )
        gradient = ones_like(root)
    gradient = gradient if isinstance(gradient, Tensor) else Tensor(np.asarray(gradient, root.dtype))
    if gradient.shape != root.shape:
        raise PycoreError(
            f"backward(): gradient shape {list(gradient.shape)} differs from {list(root.shape)}"
        )
    grads = {id(root): gradient.detach()}
    with _grad_mode(False):
        for t in reversed(_graph(root)):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t._ctx is None:  # a leaf: gradients accumulate across backward() calls
                # its own data: a rule may hand back a broadcast view, or one tensor to two inputs
                t.grad = g._op("Identity") if t.grad is None else t.grad + g
                continue
            op, attrs, inputs = t._ctx
            for x, gx in zip(inputs, GRADIENTS[op](attrs, inputs, t.detach(), g)):
                if gx is not None and x.requires_grad:
                    grads[id(x)] = gx if id(x) not in grads else grads[id(x)] + gx
            if not retain_graph:
                t._ctx, t._freed = None, True


def index(t, key):
    """Basic indexing (ints, slices with positive steps, None, ...) as one Slice and one Reshape."""
    from .tensors import Tensor, TensorError

    key = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, (Tensor, list, np.ndarray)) or k is True or k is False for k in key):
        raise TensorError(
            "indexing with tensors or lists is not supported yet; use where() or a one-hot product"
        )
    given = sum(1 for k in key if k is not None and k is not Ellipsis)
    if given > t.ndim:
        raise TensorError(f"too many indices ({given}) for a tensor of shape {list(t.shape)}")
    starts, ends, steps, shape, dim = [], [], [], [], 0
    for k in key:
        if k is Ellipsis:
            for _ in range(t.ndim - given):
                starts.append(0), ends.append(t.shape[dim]), steps.append(1), shape.append(t.shape[dim])
                dim += 1
        elif k is None:
            shape.append(1)
        elif isinstance(k, (int, np.integer)):
            n = t.shape[dim]
            if not -n <= k < n:
                raise TensorError(f"index {k} is out of range for dim {dim} of size {n}")
            starts.append(k % n), ends.append(k % n + 1), steps.append(1)
            dim += 1
        elif isinstance(k, slice):
            s, e, st = k.indices(t.shape[dim])
            if st <= 0:
                raise TensorError("slices need a positive step")
            starts.append(s), ends.append(max(e, s)), steps.append(st), shape.append(len(range(s, e, st)))
            dim += 1
        else:
            raise TensorError(f"cannot index a tensor with {type(k).__name__}")
    for d in range(dim, t.ndim):
        starts.append(0), ends.append(t.shape[d]), steps.append(1), shape.append(t.shape[d])
    out = t
    if starts != [0] * t.ndim or ends != list(t.shape) or steps != [1] * t.ndim:
        out = t._op("Slice", starts=starts, ends=ends, steps=steps)
    return out.reshape(shape) if tuple(shape) != out.shape else out
