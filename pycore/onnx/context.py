"""The state one conversion carries: constants, static shapes and the IR nodes emitted so far.

Op functions call `ctx.emit(op, inputs, ...)` to add an IR node. When every input of that node is a
constant, emit runs pycore's own CPU kernel on it instead and records the result as a constant, so
shape subgraphs (Shape -> Gather -> Concat -> Reshape) and weights built from ConstantOfShape fold
away with the same code that runs at inference time.
"""

import numpy as np
import onnx

from .. import ops
from ..cpu import KERNELS
from ..errors import GraphError
from ..graph import Node
from .reader import to_array
from .registry import ConversionError


class ValueNeeded(ConversionError):
    """A node needs, at conversion time, a value computed from graph inputs (`self.inputs`): pycore
    plans static shapes, so the inputs that decide a shape are given when converting (`values=`)."""

    def __init__(self, message, inputs):
        super().__init__(message)
        self.inputs = inputs


class OnnxNode:
    """One ONNX node as the op functions see it: names, decoded attributes, where it sits."""

    def __init__(self, proto, name, opset, version):
        self.proto, self.op, self.name = proto, proto.op_type, name
        self.inputs, self.outputs = list(proto.input), list(proto.output)
        self.opset, self.version = opset, version
        self.attrs = {a.name: onnx.helper.get_attribute_value(a) for a in proto.attribute}

    @property
    def where(self):
        return f"node {self.name!r} ({self.op}, opset {self.opset})"

    def attr(self, name, default=None):
        v = self.attrs.get(name, default)
        return v.decode() if isinstance(v, bytes) else v

    def input(self, k):
        return self.inputs[k] if k < len(self.inputs) else ""

    def output(self, k):
        return self.outputs[k] if k < len(self.outputs) else ""

    def fail(self, why):
        raise ConversionError(f"{self.where}: {why}")


class ConversionContext:
    def __init__(self, taken):
        self.consts = {}  # tensor name -> ndarray, known at conversion time
        self.shapes = {}  # tensor name -> static shape, for tensors computed at run time
        self.dtypes = {}  # tensor name -> dtype (numpy's name, one of ops.DTYPES), for the same
        self.alias = {}  # ONNX tensor name -> the tensor that holds its value
        self.nodes = []
        self.taken = set(taken)  # every name in the ONNX graph, so generated names never clash
        self.node_names = set()
        self.read = set()  # tensors some node or the graph output reads: unread outputs may be ignored
        self.graph_inputs = []  # names of the graph's inputs fed at run time, in order
        self.node = None

    # reading
    def name(self, t):
        while t in self.alias:
            t = self.alias[t]
        return t

    def is_const(self, t):
        return bool(t) and self.name(t) in self.consts

    def const(self, t, what=None):
        """The value of input `t`, which this op needs at conversion time."""
        if not self.is_const(t):
            what = what or f"input {t!r}"
            sources = self.sources(t)
            if not sources:
                self.node.fail(f"{what} must be a constant (it is computed at run time)")
            names = ", ".join(map(repr, sources))
            given = " ".join(f"--value {s}=..." for s in sources)
            raise ValueNeeded(
                f"{self.node.where}: {what} must be a constant; it is computed at run time from graph "
                f"input {names}. pycore plans static shapes: give its value when converting ({given}, "
                "or convert(..., values={name: array}))",
                sources,
            )
        return self.consts[self.name(t)]

    def sources(self, t):
        """The graph inputs whose values run-time tensor `t` is computed from, in graph order."""
        made_by = {o: n for n in self.nodes for o in n.outputs}
        found, todo, seen = set(), [self.name(t)], set()
        while todo:
            t = todo.pop()
            if t in seen or t in self.consts:
                continue
            seen.add(t)
            if t in self.graph_inputs:
                found.add(t)
            elif t in made_by:
                todo += [i for i in made_by[t].inputs if i]
        return [i for i in self.graph_inputs if i in found]

    def maybe_const(self, t):
        return self.consts[self.name(t)] if self.is_const(t) else None

    def shape(self, t):
        t = self.name(t)
        return tuple(self.consts[t].shape) if t in self.consts else self.shapes[t]

    def dtype(self, t):
        """The dtype of tensor `t`, by numpy's name ("float32", "int64", "bool")."""
        t = self.name(t)
        return self.consts[t].dtype.name if t in self.consts else self.dtypes[t]

    # writing
    def fresh(self, hint="t"):
        base = f"{self.node.name}:{hint}" if self.node else hint
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}{k}", k + 1
        self.taken.add(name)
        return name

    def _node_name(self):
        """The ONNX node's name for its first IR node, name/1, name/2 ... for the others."""
        name, k = self.node.name, 1
        while name in self.node_names:
            name, k = f"{self.node.name}/{k}", k + 1
        self.node_names.add(name)
        return name

    def constant(self, value, hint="const", like=None):
        """A new constant; `like` names a tensor whose dtype it takes (a composed op's scalars)."""
        name = self.fresh(hint)
        self.consts[name] = np.asarray(value, dtype=self.dtype(like) if like else None)
        return name

    def set(self, onnx_name, t):
        """Output `onnx_name` of the current node is the same tensor as `t` (no node needed)."""
        if onnx_name:
            self.alias[onnx_name] = self.name(t)

    def emit(self, op, inputs, out=None, **attrs):
        """Adds IR node `op` (or folds it when all inputs are constants); returns its output name."""
        inputs = [self.name(t) if t else "" for t in inputs]
        out = out or self.fresh(op.lower())
        self.taken.add(out)
        node = Node(op, self._node_name(), inputs, [out], attrs)
        shapes = [self.shape(t) if t else None for t in inputs]
        while shapes and shapes[-1] is None:
            shapes.pop()
        try:
            (shape,) = ops.resolve(node, shapes)
        except GraphError as e:
            self.node.fail(str(e).split(": ", 1)[-1])
        if all(t in self.consts for t in inputs if t):
            try:
                value = KERNELS[op](node.attrs, *[self.consts[t] if t else None for t in inputs])
            except (ValueError, TypeError, IndexError) as e:
                self.node.fail(f"folding {op} on constants failed: {e}")
            self.consts[out] = np.asarray(value)
            return out
        for t in inputs:
            if t in self.consts and self.consts[t].dtype.name not in ops.DTYPES:
                self.node.fail(
                    f"constant {t!r} of dtype {self.consts[t].dtype} would be read at run time by "
                    f"{op}; pycore's run-time dtypes are {ops.DTYPE_LIST}"
                )
        self.shapes[out] = shape
        self.dtypes[out] = ops.output_dtype(op, node.attrs, [self.dtype(t) if t else None for t in inputs])
        self.nodes.append(node)
        return out

    def reshape(self, t, shape, out=None):
        """Reshape to a fully static shape; an alias, not a node, when the shape is already right."""
        shape = [int(d) for d in shape]
        if list(self.shape(t)) == shape:
            self.set(out, t)
            return self.name(t)
        return self.emit("Reshape", [t], out, shape=shape)

    def read_tensor(self, tensor, what):
        return to_array(tensor, f"{self.node.where}: {what}")
