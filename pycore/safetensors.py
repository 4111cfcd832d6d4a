"""Safetensors read and write in plain Python + numpy.

Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a JSON
header mapping tensor names to {dtype, shape, data_offsets}, then the raw little-endian data.
Every claim the header makes is checked before a byte is interpreted, because a lying header is the
way a corrupted or truncated download shows up.
"""

import json
import math
import struct

import numpy as np

from .errors import PycoreError

DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(PycoreError, ValueError):
    """A weights file that is not valid safetensors; the message names the file."""


def _header(data, name):
    """(header, data section) of safetensors bytes: the JSON object, checked to be one, and a view."""
    buf = memoryview(data).cast("B")

    def fail(why):
        raise SafetensorsError(f"{name}: {why}")

    if len(buf) < 8:
        fail(f"file is {len(buf)} bytes, too short to hold a header (truncated?)")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER or 8 + n > len(buf):
        fail(f"header claims {n} bytes but the file has {len(buf) - 8} after the length (truncated?)")
    try:
        header = json.loads(bytes(buf[8 : 8 + n]))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"header is not valid JSON ({e})")
    if not isinstance(header, dict):
        fail("header is not a JSON object")
    return header, buf[8 + n :]


def read(data, name="weights.safetensors"):
    """Parses safetensors bytes into {name: ndarray}. Arrays are read-only views of `data`."""
    header, body = _header(data, name)

    def fail(why):
        raise SafetensorsError(f"{name}: {why}")

    tensors, spans = {}, []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
            fail(f"tensor {key!r} needs dtype, shape and data_offsets")
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            fail(f"tensor {key!r} has unsupported dtype {info['dtype']!r}")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            fail(f"tensor {key!r} has an invalid shape {shape!r}")
        offs = info["data_offsets"]
        if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) for o in offs)):
            fail(f"tensor {key!r} has invalid data_offsets {offs!r}")
        start, end = offs
        if not 0 <= start <= end <= len(body):
            fail(
                f"tensor {key!r} claims bytes {start}..{end} but the data section has "
                f"{len(body)} bytes (truncated?)"
            )
        size = math.prod(shape) * np.dtype(dtype).itemsize  # exact: an int64 product can wrap
        if end - start != size:
            fail(
                f"tensor {key!r} is {info['dtype']}{shape} = {size} bytes but data_offsets span {end - start}"
            )
        spans.append((start, end, key))
        arr = np.frombuffer(body[start:end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[key] = arr.reshape(shape)
    spans.sort()
    for (_, e1, k1), (s2, _, k2) in zip(spans, spans[1:]):
        if s2 < e1:
            fail(f"tensors {k1!r} and {k2!r} overlap")
    return tensors


def metadata(data, name="weights.safetensors"):
    """The strings `write` put in the header under __metadata__ ({} when there are none)."""
    meta = _header(data, name)[0].get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise SafetensorsError(f"{name}: __metadata__ must map names to strings")
    return meta


def write(tensors, metadata=None):
    """Serialises {name: ndarray} to safetensors bytes (sorted names, 8-byte aligned data)."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for key in sorted(tensors):
        arr = np.asarray(tensors[key], order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
        code = CODES.get(arr.dtype.newbyteorder("="))  # any byte order in, little-endian out
        if code is None:
            raise SafetensorsError(f"tensor {key!r}: dtype {arr.dtype} cannot be stored")
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[key] = {
            "dtype": code,
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)
