"""One record per op: everything pycore knows about an op apart from its kernels.

A record (`Op`) holds the op's attributes with their defaults, its shape inference, its output
dtype, which inputs must be floating point, its gradient rule, whether it fuses as an activation
(or hosts one, as Conv, Gemm and MatMul do), and which input is a weight. The kernels live in one
table per device (pycore/cpu `KERNELS`; pycore/webgpu `PLANNERS`, which plan WGSL dispatches), keyed
by the op's name; tests hold both tables and the gradient checks to OPS, so a record without a
kernel or a gradient case fails them.

Semantics follow ONNX (https://onnx.ai/onnx/operators/), so converted graphs keep their meaning.
`infer` resolves every attribute to an explicit form (pads from auto_pad, default strides, ...) and
writes it back into the node, so kernels of every backend read attributes without defaults.

Gradient rules are `rule(attrs, inputs, out, grad) -> [grad of each input or None]`, written in
Tensor methods (the tensors come as arguments, so no module here imports pycore.tensors): the
backward pass then runs on the forward pass's device with the same kernels.

The records are grouped like the kernel tables: elementwise.py, nn.py, reduce.py, movement.py.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import GraphError


@dataclass(frozen=True)
class Op:
    name: str
    infer: Callable  # infer(attrs, *input_shapes) -> shape, or a list of shapes
    attrs: dict = field(default_factory=dict)  # every attribute, with its default
    dtype: object = None  # output dtype: None keeps the first input's; a name; or rule(attrs, dtypes)
    floats: int = 0  # how many leading inputs must be floating point
    grad: Callable | None = None  # None: not differentiable (comparisons, argmax, backward kernels)
    activation: bool = False  # fuses into the Conv/Gemm/MatMul before it as its epilogue
    epilogue: int = 0  # hosts a fused epilogue: its input count before the residual (0: none)
    weight: Callable | None = None  # rule(attrs) -> output-channel axis of input 1, a weight


OPS = {}
# the dtypes tensors may have, by numpy name: Tensor's, the graph's inputs and run-time tensors
DTYPES = {
    "float32",
    "float64",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint64",
    "uint32",
    "uint16",
    "uint8",
    "bool",
}
DTYPE_LIST = ", ".join(sorted(DTYPES))  # for messages


def op(name, attrs=None, **facts):
    """Registers the record of `name` around its shape inference (use as a decorator)."""

    def register(infer):
        OPS[name] = Op(name, infer, dict(attrs or {}), **facts)
        return infer

    return register


def activations():
    """The ops that fuse as an epilogue, in a fixed order (backends may number them)."""
    return [name for name, rec in OPS.items() if rec.activation]


def epilogue_attrs(act):
    """A fused activation's attributes as its host carries them: `act_<name>`."""
    return {f"act_{k}" for k in OPS[act].attrs}


def fused_activation(attrs):
    """(op, its attributes with defaults) of the activation a host node carries, or (None, {})."""
    act = attrs.get("activation")
    if act is None:
        return None, {}
    return act, {**OPS[act].attrs, **{k[4:]: v for k, v in attrs.items() if k.startswith("act_")}}


def resolve(node, shapes):
    """Fills the node's attributes with defaults and returns the output shapes."""
    if node.op not in OPS:
        raise GraphError(f"node {node.name!r}: unknown op {node.op!r}")
    rec = OPS[node.op]
    allowed = set(rec.attrs)
    if rec.epilogue:
        allowed |= {"activation"}.union(*(epilogue_attrs(a) for a in activations()))
    extra = set(node.attrs) - allowed
    if extra:
        raise GraphError(f"node {node.name!r} ({node.op}): unknown attribute(s) {sorted(extra)}")
    node.attrs = {**rec.attrs, **node.attrs}
    try:
        out = rec.infer(node.attrs, *shapes)
    except GraphError as e:
        raise GraphError(f"node {node.name!r} ({node.op}): {e}") from e
    except (ValueError, IndexError, TypeError, ZeroDivisionError) as e:
        raise GraphError(f"node {node.name!r} ({node.op}): inputs {shapes} do not fit: {e}") from e
    return [tuple(int(d) for d in s) for s in (out if isinstance(out, list) else [out])]


def output_dtype(op, attrs, dtypes):
    """The dtype of the op's outputs (every output has one) from its resolved attributes and its
    inputs' dtypes: the record's rule, or the first input's dtype when it has none."""
    rule = OPS[op].dtype or dtypes[0]
    return rule if isinstance(rule, str) else rule(attrs, dtypes)


def broadcast(*shapes):
    first = tuple(shapes[0])
    if all(tuple(s) == first for s in shapes[1:]):  # the common case, and the cheap one
        return first
    rank = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (rank - len(s)) + tuple(s) for s in shapes]):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def same(a, x, *rest):
    """Shape inference of ops whose output has their first input's shape."""
    return x


def unbroadcast(g, shape):
    """Sums a broadcast gradient back down to `shape`."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = list(range(lead)) + [lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1]
    return g.sum(axes, keepdim=True).reshape(shape) if axes else g.reshape(shape)


def mask(condition, like):
    """A comparison's bool result as 0/1 in the dtype of `like`."""
    return condition.to(dtype=like.dtype)


from . import elementwise, movement, nn, reduce  # noqa: E402,F401  (each registers its records)
