"""Reverse-mode autodiff over the IR ops a Tensor records.

Each op's gradient rule lives in its record (pycore/ops: `rule(attrs, inputs, out, grad)`), written
in Tensor ops, so the backward pass runs on the forward pass's device with the same kernels.
backward() walks the recorded graph once in reverse topological order, under no_grad.
"""

import contextlib

import numpy as np

from . import ops
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
            for x, gx in zip(inputs, ops.OPS[op].grad(attrs, inputs, t.detach(), g)):
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
