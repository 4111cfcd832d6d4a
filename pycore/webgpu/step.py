"""What a GPU kernel planner returns: dispatch steps with their uniform bytes, plus the helpers
that pack WGSL uniform structs and size dispatch grids.

A planner is `fn(node, ctx) -> [Step, ...]` or `View(source)` (a free reshape: the output aliases
the input's buffer). Bindings follow one convention: 0 the uniform, then `reads` in order (read-only
storage; "" binds a dummy), then `writes` (read-write storage).
"""

import math
import struct
from dataclasses import dataclass, field

import numpy as np

MAX_GROUPS = 65535  # WebGPU's default maxComputeWorkgroupsPerDimension
F32_MAX = float(np.finfo(np.float32).max)


@dataclass
class Step:
    shader: tuple
    params: bytes
    reads: list
    writes: str
    groups: tuple
    fill: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)


@dataclass
class View:
    source: str


class Vec4(tuple):
    """vec4<u32> (padded with 1: these are shapes)."""


class Arr8(tuple):
    """array<vec4<u32>, 2>: up to eight shape or stride values (padded with 0)."""


class Epi(tuple):
    """epilogue.wgsl's Epilogue struct (alpha, lo, hi: f32); a struct member of a uniform aligns to
    16 bytes and takes 16."""


def pack(*fields):
    """Bytes of a WGSL struct whose members are u32 (int), f32 (float), Vec4, Arr8 or Epi, in order.
    Vectors and arrays align to 16 bytes and the struct size rounds up to 16, as WGSL lays them out."""
    out = bytearray()
    for f in fields:
        if isinstance(f, Epi):
            out += bytes(-len(out) % 16) + struct.pack("<fff", *f) + bytes(4)
        elif isinstance(f, (Vec4, Arr8)):
            n = 4 if isinstance(f, Vec4) else 8
            if len(f) > n:
                raise ValueError(f"{len(f)} values do not fit a {n}-slot uniform field")
            out += bytes(-len(out) % 16)
            out += struct.pack(f"<{n}I", *f, *([1 if n == 4 else 0] * (n - len(f))))
        elif isinstance(f, float):
            out += struct.pack("<f", f)
        else:
            out += struct.pack("<I", int(f))
    return bytes(out + bytes(-len(out) % 16))


def grid(groups):
    """Workgroup counts for `groups` workgroups laid out flat; past 65535 they spill into y."""
    groups = max(1, int(groups))
    x = min(groups, MAX_GROUPS)
    return (x, math.ceil(groups / x), 1)


def flat(n, wg):
    return grid(math.ceil(n / wg))


def strides(shape):
    out, s = [], 1
    for d in reversed(shape):
        out.append(s)
        s *= d
    return out[::-1]


def broadcast_strides(shape, out_shape):
    """Strides of a contiguous `shape` read at every index of `out_shape` (0 where broadcast)."""
    shape = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    return [0 if d == 1 else s for d, s in zip(shape, strides(shape))]


def merge_dims(shape, *stride_lists):
    """Drops size-1 dimensions and merges neighbours that every operand walks contiguously, so the
    common cases (equal shapes, per-channel bias) index with rank 1 or 2."""
    dims = [(d, [s[i] for s in stride_lists]) for i, d in enumerate(shape) if d != 1]
    merged = []
    for d, ss in dims:
        if merged and all(p == s * d for p, s in zip(merged[-1][1], ss)):
            merged[-1] = (merged[-1][0] * d, ss)
        else:
            merged.append((d, ss))
    if not merged:
        merged = [(1, [0] * len(stride_lists))]
    return [d for d, _ in merged], [[ss[k] for _, ss in merged] for k in range(len(stride_lists))]
