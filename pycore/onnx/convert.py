"""ONNX model -> pycore Graph: read, check everything up front, map op by op, assemble."""

import json
import math
import os

import numpy as np

from .. import ops, quantize, safetensors
from ..errors import GraphError, PycoreError
from ..graph import FORMAT, Graph, Node
from . import functions, reader
from .context import ConversionContext, OnnxNode
from .registry import OPS, ConversionError

DEFAULT_DOMAINS = ("", "ai.onnx")
MAX_LISTED = 20


def _opset(model):
    for o in model.opset_import:
        if o.domain in DEFAULT_DOMAINS:
            return o.version
    return None


def _schema_version(op, opset):
    """The since_version of the op's schema in force at `opset` (None if ONNX has no such op)."""
    import onnx.defs

    try:
        return onnx.defs.get_schema(op, opset, "").since_version
    except Exception:  # onnx raises SchemaError for unknown ops and opsets before the op existed
        return None


def check_support(model, names):
    """OnnxNodes for every node, or one ConversionError listing every unsupported op and attribute."""
    opset = _opset(model)
    nodes, problems = [], []
    for proto, name in zip(model.graph.node, names):
        where = f"node {name!r} ({proto.op_type}, opset {opset})"
        version = _schema_version(proto.op_type, opset) if opset else None
        handler = OPS.get(proto.op_type)
        if proto.domain not in DEFAULT_DOMAINS:
            problems.append(f"{where}: ops of domain {proto.domain!r} are not supported")
        elif handler is None:
            problems.append(f"{where}: op {proto.op_type} is not supported by pycore")
        elif version is None:
            problems.append(f"{where}: ONNX defines no {proto.op_type} at this opset")
        else:
            problems += [f"{where}: {p}" for p in handler.problems(proto, version)]
        nodes.append(OnnxNode(proto, name, opset, version))
    if problems:
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        head = f"{len(problems)} unsupported construct(s):\n  " if len(problems) > 1 else ""
        raise ConversionError(head + "\n  ".join(problems[:MAX_LISTED]) + more)
    return nodes


def convert(source, shapes=None, name=None, values=None):
    """Converts an ONNX model (path, bytes or ModelProto) to a checked pycore Graph.

    `shapes` maps input names to static shapes for inputs whose dims are dynamic (key None: the
    only input). `values` maps input names to arrays that become constants: the inputs that decide
    a shape (a Pad's pads, a ReduceSum's axes), which pycore's static plan needs at conversion
    (ValueNeeded names them). Raises ConversionError, naming node, op and opset, for anything
    unsupported.
    """
    model = reader.load(source)
    if _opset(model) is None:
        raise ConversionError("the model imports no version of the default ONNX domain")
    model = functions.expand(model, _opset(model))
    graph = model.graph
    names = reader.node_names(graph)
    order = reader.toposort(graph, names)
    nodes = check_support(model, names)
    values = _shaped(graph, values or {})
    inputs = reader.inputs(graph, {**(shapes or {}), **{k: v.shape for k, v in values.items()}})
    fixed = {i.name: _value(i, values[i.name]) for i in inputs if i.name in values}
    inputs = [i for i in inputs if i.name not in fixed]

    taken = {t for n in graph.node for t in (*n.input, *n.output)}
    taken |= {i.name for i in graph.input} | {t.name for t in graph.initializer}
    ctx = ConversionContext(taken)
    ctx.read = {t for n in graph.node for t in n.input} | {o.name for o in graph.output}
    for t in graph.initializer:
        ctx.consts[t.name] = reader.to_array(t, f"initializer {t.name!r}")
    ctx.consts.update(fixed)
    ctx.graph_inputs = [i.name for i in inputs]
    ctx.shapes.update({i.name: i.shape for i in inputs})
    ctx.dtypes.update({i.name: i.dtype for i in inputs})
    for k in order:
        ctx.node = node = nodes[k]
        try:
            OPS[node.op].fn(ctx, node)
        except ConversionError:
            raise
        except (GraphError, ValueError, TypeError, IndexError, KeyError) as e:
            node.fail(f"cannot convert: {e}")
        for t in node.outputs:
            if t in ctx.read and ctx.name(t) not in ctx.consts and ctx.name(t) not in ctx.shapes:
                node.fail(f"output {t!r} was not produced (converter bug)")

    ctx.node = None
    outputs = [_output(ctx, o) for o in graph.output]
    used = {t for n in ctx.nodes for t in n.inputs if t in ctx.consts}
    weights = {t: ctx.consts[t] for t in sorted(used)}
    g = Graph(
        name=name or graph.name or "model",
        inputs=inputs,
        outputs=outputs,
        nodes=ctx.nodes,
        weights=weights,
    )
    try:
        g.check("converted graph")
    except GraphError as e:
        raise ConversionError(str(e)) from None
    return g


def _shaped(graph, values):
    """The values given at conversion as arrays, in their input's declared shape where it is static
    and holds as many numbers (the command line gives `--value size=10` for a scalar input)."""
    declared = {i.name: i.type.tensor_type.shape for i in graph.input}
    out = {}
    for name, v in values.items():
        v = np.asarray(v)
        dims = declared[name].dim if name in declared else None
        if dims is not None and all(d.HasField("dim_value") for d in dims):
            shape = tuple(d.dim_value for d in dims)
            if v.shape != shape and v.size == math.prod(shape):
                v = v.reshape(shape)
        out[name] = v
    return out


def _value(input, value):
    """A value given for `input` at conversion, in the input's dtype; refused where that changes it."""
    cast = value.astype(input.dtype)
    if value.dtype.kind not in "biuf" or not np.array_equal(cast, value):
        raise ConversionError(f"the value for input {input.name!r} is not {input.dtype}: {value.tolist()}")
    return cast


def _output(ctx, o):
    """The graph output's tensor, behind an Identity when it is a constant or an alias."""
    t = ctx.name(o.name)
    if t != o.name or t in ctx.consts:
        if t in ctx.consts and ctx.consts[t].dtype.name not in ops.DTYPES:
            raise ConversionError(f"graph output {o.name!r} is a constant of dtype {ctx.consts[t].dtype}")
        ctx.nodes.append(Node("Identity", f"{o.name}:output", [t], [o.name]))
        ctx.shapes[o.name] = ctx.shape(t)
    declared = [d.dim_value if d.HasField("dim_value") else None for d in o.type.tensor_type.shape.dim]
    got = list(ctx.shape(o.name))
    if o.type.tensor_type.HasField("shape") and None not in declared and declared != got:
        raise ConversionError(f"graph output {o.name!r}: computed shape {got}, the model declares {declared}")
    return o.name


def check_target(folder):
    """True if `folder` holds a pycore model that save() would replace, False if it is new or empty;
    any other folder with something in it is refused, so that a typo cannot write into one."""
    if not os.path.exists(folder):
        return False
    if not os.path.isdir(folder):
        raise PycoreError(f"{folder} is a file; give a folder to write the model into")
    if not os.listdir(folder):
        return False
    try:
        with open(os.path.join(folder, "model.json"), "rb") as f:
            if json.load(f).get("format") == FORMAT:
                return True
    except (OSError, ValueError, AttributeError):
        pass
    raise PycoreError(f"{folder} is not empty and holds no pycore model: choose a new or empty folder")


def save(graph, folder, labels=None, weights="fp32"):
    """Writes model.json and weights.safetensors into `folder` (new, empty, or holding a pycore model,
    which it replaces); `weights` "fp16" or "int8" stores Conv/Gemm/MatMul weights smaller
    (pycore.quantize), dequantised to float32 on load."""
    check_target(folder)
    if labels is not None:
        graph.check_labels(list(labels), f"labels for {folder}")
        graph.labels = list(labels)
    os.makedirs(folder, exist_ok=True)
    doc = graph.to_json()
    stored = quantize.quantize(doc, graph.weights, weights)
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    data = safetensors.write(stored, metadata={"source": "onnx", "weights": weights})
    with open(os.path.join(folder, "weights.safetensors"), "wb") as f:
        f.write(data)
    return folder
