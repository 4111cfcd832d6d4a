"""Reading an ONNX file and checking its graph before any op is looked at.

Everything here turns a broken input (truncated file, something that is not ONNX, a missing
external-data file, a cycle, a tensor nobody produces) into a ConversionError that says what is
wrong in words, because the CLI shows only the message, never a traceback.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from .. import ops
from ..graph import Input
from .registry import ConversionError

SIGNATURES = {
    b"PK\x03\x04": "a zip archive (a PyTorch checkpoint?)",
    b"\x89HDF": "an HDF5 file (a Keras model?)",
    b"\x80\x02": "a Python pickle",
}


def dtype_name(code):
    return TensorProto.DataType.Name(code) if code in TensorProto.DataType.values() else str(code)


def numpy_dtype(code):
    """numpy's name for ONNX element type `code` ("int64"), or None where numpy has none."""
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(code).name
    except (KeyError, TypeError, ValueError):
        return None


# the ONNX element types a constant may have: those of pycore's dtypes (ops.DTYPES)
ARRAY_DTYPES = {code for code in TensorProto.DataType.values() if numpy_dtype(code) in ops.DTYPES}


def load(source):
    """A ModelProto from a path, bytes or a ModelProto, with its external data read in."""
    if isinstance(source, onnx.ModelProto):
        return _check_model(source, "model", None)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _check_model(_parse(bytes(source), "model"), "model", None)
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise ConversionError(f"{path}: no such file")
    with open(path, "rb") as f:
        data = f.read()
    return _check_model(_parse(data, path), path, os.path.dirname(os.path.abspath(path)))


def _parse(data, where):
    if not data:
        raise ConversionError(f"{where}: the file is empty")
    for magic, what in SIGNATURES.items():
        if data.startswith(magic):
            raise ConversionError(f"{where}: this is {what}, not an ONNX model")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:  # protobuf raises DecodeError or RuntimeWarning depending on the build
        raise ConversionError(
            f"{where}: not a readable ONNX model ({len(data)} bytes that do not parse as an ONNX "
            "protobuf: the file is truncated, corrupted or of another format)"
        ) from None
    return model


def _check_model(model, where, folder):
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise ConversionError(f"{where}: not an ONNX model (it has no IR version or no graph)")
    if not model.opset_import:
        raise ConversionError(f"{where}: the model declares no opset (truncated file?)")
    _load_external(model, where, folder)
    return model


def _tensors(model):
    """Every TensorProto of the graph: initializers and tensors inside node attributes."""
    yield from model.graph.initializer
    for node in model.graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                yield a.t
            yield from a.tensors


def _load_external(model, where, folder):
    for t in _tensors(model):
        if t.data_location != TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        location = info.get("location", "")
        if folder is None:
            raise ConversionError(
                f"{where}: tensor {t.name!r} keeps its data in external file {location!r}; "
                "load the model from its file path so that file can be found"
            )
        path = os.path.normpath(os.path.join(folder, location))
        if not location or os.path.isabs(location) or not path.startswith(folder + os.sep):
            raise ConversionError(f"{where}: tensor {t.name!r} names an invalid external file {location!r}")
        if not os.path.isfile(path):
            raise ConversionError(
                f"{where}: tensor {t.name!r} keeps its data in external file {location!r}, "
                f"which is missing (looked for {path})"
            )
        end = int(info.get("offset", 0)) + int(info.get("length", 0))
        if end > os.path.getsize(path):
            raise ConversionError(
                f"{where}: external file {location!r} has {os.path.getsize(path)} bytes but tensor "
                f"{t.name!r} needs bytes up to {end} (truncated?)"
            )
    try:
        onnx.external_data_helper.load_external_data_for_model(model, folder or ".")
    except Exception as e:  # the checks above cover the usual causes; keep the message short
        raise ConversionError(f"{where}: cannot read external data ({e})") from None


def to_array(tensor, where):
    if tensor.data_type not in ARRAY_DTYPES:
        raise ConversionError(f"{where}: tensor dtype {dtype_name(tensor.data_type)} is not supported")
    try:
        return np.asarray(numpy_helper.to_array(tensor))
    except Exception as e:
        raise ConversionError(f"{where}: tensor {tensor.name!r} cannot be read ({e})") from None


def node_names(graph):
    """A unique display name per node: its own name, or Op_index when it has none or a taken one."""
    names, seen = [], set()
    for k, n in enumerate(graph.node):
        name = n.name if n.name and n.name not in seen else f"{n.op_type}_{k}"
        seen.add(name)
        names.append(name)
    return names


def toposort(graph, names):
    """Node indices in an order where every input is defined first; rejects dangling and cycles."""
    known = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    producer = {}
    for k, n in enumerate(graph.node):
        for t in n.output:
            if not t:
                continue
            if t in producer or t in known:
                first = names[producer[t]] if t in producer else "a graph input or initializer"
                raise ConversionError(f"tensor {t!r} is defined twice: by {first} and by node {names[k]!r}")
            producer[t] = k
    waiting, readers = [], {}
    for k, n in enumerate(graph.node):
        deps = set()
        for t in n.input:
            if not t or t in known:
                continue
            if t not in producer:
                raise ConversionError(
                    f"node {names[k]!r} ({n.op_type}) reads tensor {t!r}, which is not a graph input, "
                    "an initializer, nor the output of any node (dangling input)"
                )
            deps.add(producer[t])
        waiting.append(len(deps))
        for d in deps:
            readers.setdefault(d, []).append(k)
    order = [k for k, w in enumerate(waiting) if w == 0]
    for k in order:  # the list grows while we walk it (Kahn's algorithm)
        for r in readers.get(k, []):
            waiting[r] -= 1
            if waiting[r] == 0:
                order.append(r)
    if len(order) < len(graph.node):
        stuck = [names[k] for k, w in enumerate(waiting) if w > 0]
        shown = ", ".join(repr(s) for s in stuck[:5]) + (" ..." if len(stuck) > 5 else "")
        raise ConversionError(f"the graph has a cycle: nodes {shown} wait on each other's outputs")
    for o in graph.output:
        if o.name not in producer and o.name not in known:
            raise ConversionError(f"graph output {o.name!r} is produced by no node")
    return order


def inputs(graph, overrides):
    """The graph's real inputs (initializers excluded) as pycore Inputs: all dims static, and a
    dtype of pycore's (ops.DTYPES)."""
    inits = {t.name for t in graph.initializer}
    real = [i for i in graph.input if i.name not in inits]
    overrides = dict(overrides or {})
    if None in overrides and len(real) == 1:  # a bare --shape applies to the only input
        overrides[real[0].name] = overrides.pop(None)
    unknown = sorted(set(overrides) - {i.name for i in real}, key=str)
    if unknown:
        raise ConversionError(f"no graph input named {unknown[0]!r} (inputs: {[i.name for i in real]})")
    out = []
    for i in real:
        tt = i.type.tensor_type
        dtype = numpy_dtype(tt.elem_type) if i.type.HasField("tensor_type") else None
        if dtype not in ops.DTYPES:
            what = dtype_name(tt.elem_type) if i.type.HasField("tensor_type") else "not a tensor"
            raise ConversionError(
                f"graph input {i.name!r} has dtype {what}; pycore's inputs are {ops.DTYPE_LIST}"
            )
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim]
        given = overrides.get(i.name)
        if given is not None:
            if tt.HasField("shape") and len(given) != len(dims):
                raise ConversionError(f"input {i.name!r} has rank {len(dims)}, --shape gives {list(given)}")
            for k, (d, g) in enumerate(zip(dims, given)):
                if isinstance(d, int) and d != g:
                    raise ConversionError(f"input {i.name!r} dimension {k} is fixed at {d} by the model")
            dims = list(given)
        elif not tt.HasField("shape") or any(not isinstance(d, int) for d in dims):
            raise ConversionError(
                f"input {i.name!r} has shape {dims} with dynamic dimensions; give a static one, "
                f"e.g. --shape {i.name}=" + ",".join(str(d) if isinstance(d, int) else "1" for d in dims)
            )
        out.append(Input(i.name, tuple(int(d) for d in dims), dtype))
    return out
