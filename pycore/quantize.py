"""Smaller weight files: Conv/Gemm/MatMul weights stored as fp16 or as int8 per output channel.

Convention inside weights.safetensors (read back by `dequantize`, which `model.read_weights` calls):
- fp16: the tensor keeps its name and is stored as F16.
- int8: `<name>` holds int8 values q in [-127, 127] (symmetric, no zero point) and `<name>::scale`
  a float32 tensor of the same rank whose dims are 1 except on the output-channel axis (axis 0 for
  Conv weights and for Gemm with transB=1), so that weight = q * scale by plain broadcasting.
  One scale per output channel keeps a channel of small weights from losing all its precision to
  a neighbour's large ones.
Biases, BatchNorm parameters and any other tensor stay float32: they are tiny, and errors in them
shift every output of a channel at once.
"""

import numpy as np

from .errors import PycoreError
from .ops import OPS

FORMATS = ("fp32", "fp16", "int8")
SCALE = "::scale"  # torch and ONNX tensor names never contain "::"


class QuantizationError(PycoreError):
    pass


def quantizable(doc, weights):
    """{weight name: output-channel axis} for the weight inputs of the nodes whose op record names
    one (Conv, Gemm, MatMul)."""
    found = {}
    for node in doc["nodes"]:
        rule = OPS[node["op"]].weight if node["op"] in OPS else None
        if rule and len(node["inputs"]) > 1:
            name = node["inputs"][1]
            if name in weights and np.ndim(weights[name]) >= 2:
                found.setdefault(name, rule({**OPS[node["op"]].attrs, **node.get("attrs", {})}))
    return found


def int8(w, axis=0):
    """Symmetric per-channel int8: returns (q, scale) with w ~= q * scale, |error| <= scale / 2."""
    w = np.asarray(w, np.float32)
    axis %= w.ndim
    amax = np.abs(w).max(axis=tuple(i for i in range(w.ndim) if i != axis), keepdims=True)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def quantize(doc, weights, fmt):
    """Returns the weights dict to store for `fmt` ("fp32", "fp16" or "int8")."""
    if fmt not in FORMATS:
        raise QuantizationError(f"unknown weight format {fmt!r}; choose one of {FORMATS}")
    keep = _kept_floats(computes_in_half(doc))
    out = {k: _float32(np.asarray(v), keep) for k, v in weights.items()}
    if fmt == "fp32":
        return out
    for name, axis in quantizable(doc, weights).items():
        if fmt == "fp16":
            out[name] = out[name].astype(np.float16)
        else:
            out[name], out[name + SCALE] = int8(out[name], axis)
    return out


def computes_in_half(doc):
    """True when an input of the model (model.json as a dict) is float16: its float16 weights are
    then its own values, not fp16 storage of float32 ones."""
    return any(i.get("dtype") == "float16" for i in doc["inputs"])


def _kept_floats(half):
    return {np.dtype(np.float32), np.dtype(np.float16)} if half else {np.dtype(np.float32)}


def _float32(v, keep):
    """A float tensor as float32 unless its dtype is kept; integers and bools as they are."""
    return v.astype(np.float32) if v.dtype.kind == "f" and v.dtype not in keep else v


def stored_format(tensors):
    """Which of FORMATS stored `tensors` (as safetensors.read returns them) are in."""
    if any(k.endswith(SCALE) for k in tensors):
        return "int8"
    return "fp16" if any(v.dtype == np.float16 for v in tensors.values()) else "fp32"


def dequantize(tensors, source="weights.safetensors", half=False):
    """Float32 arrays from stored tensors: int8 with a `::scale` partner, fp16 and float64 made
    float32; integer and bool tensors (indices, masks) as they are. `half`: the model computes in
    float16, so its float16 tensors are its own values, not fp16 storage of float32 ones: kept."""
    keep = _kept_floats(half)
    out = {}
    for k, v in tensors.items():
        if k.endswith(SCALE):
            if k[: -len(SCALE)] not in tensors:
                raise QuantizationError(f"{source}: scale {k!r} has no int8 tensor beside it")
            continue
        scale = tensors.get(k + SCALE)
        if scale is None:
            out[k] = _float32(v, keep)
            continue
        fits = scale.ndim == v.ndim and all(s in (1, d) for s, d in zip(scale.shape, v.shape))
        if v.dtype != np.int8 or not fits:
            raise QuantizationError(
                f"{source}: {k!r} ({v.dtype}{list(v.shape)}) does not match its scale {list(scale.shape)}"
            )
        out[k] = v.astype(np.float32) * scale.astype(np.float32)
    return out
