"""What a GPU kernel planner returns: dispatch steps with their uniform values, plus the helpers
that size dispatch grids and walk shapes.

A planner is `fn(node, ctx) -> [Step, ...]` or `View(source)` (a free reshape: the output aliases
the input's buffer). A step's `params` holds a value for each member of its shader's `struct
Params`, by name; uniforms.py packs them into the step's `uniform` bytes as the step is made.
Bindings follow one convention: 0 the uniform, then `reads` in order (read-only storage; "" binds a
dummy), then `writes` (read-write storage), then, for a step that `checks` an int64 result for
leaving int32's range, its word of the backend's overflow flags (int64_checked.wgsl).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import PycoreError
from . import uniforms

MAX_GROUPS = 65535  # WebGPU's default maxComputeWorkgroupsPerDimension
F32_MAX = float(np.finfo(np.float32).max)

# The WGSL element type that holds each dtype a model's tensors may have on the GPU, and its numpy
# twin for uploads and readback. WGSL has no 64-bit integers: int64 is held as i32 where its values
# fit (checked where they reach the GPU); a bool as 0u / 1u.
ELEMENT = {"float32": "f32", "int64": "i32", "int32": "i32", "bool": "u32"}
# float16 as f16, on a device with shader-f16 (elements() below); kernels compute it in f32 (MATH)
HALF = {"float16": "f16"}
HOST = {"f32": np.float32, "i32": np.int32, "u32": np.uint32, "f16": np.float16}
SIZE = {e: np.dtype(h).itemsize for e, h in HOST.items()}
MATH = {"f16": "f32"}  # the type an element is loaded into for arithmetic, where not itself
# dtypes that Cast may write but no kernel reads (graph outputs): held as the values they are,
# converted on readback
WRITTEN = {"float64": "f32", "float16": "f32", "int8": "i32", "uint8": "i32"}
HELD = {**ELEMENT, **WRITTEN}


KINDS = {"f32": "float32", "f16": "float16", "i32": "integer", "u32": "bool"}


def no_kernel(op, elements, element):
    """The refusal of an op that has kernels for `elements` only, given a tensor of `element`."""
    kinds = [KINDS[e] for e in elements]
    listed = " and ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds)
    return PycoreError(f"the WebGPU path runs {op} on {listed} tensors only, not {KINDS[element]}")


def elements(features):
    """(dtype -> element a kernel may read, dtype -> element it is held as) on a device with these
    features."""
    if "shader-f16" in features:
        return {**ELEMENT, **HALF}, {**HELD, **HALF}
    return ELEMENT, HELD


@dataclass
class Step:
    shader: tuple
    params: dict
    reads: list
    writes: str
    groups: tuple
    fill: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    checks: bool = False
    uniform: bytes = field(init=False, repr=False)

    def __post_init__(self):
        self.uniform = uniforms.pack(self.shader, self.params)


@dataclass
class View:
    source: str


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
