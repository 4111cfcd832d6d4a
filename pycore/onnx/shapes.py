"""Constants, shapes and layout. Shapes are static in pycore, so Shape, Size, ConstantOfShape,
Cast and Gather on constants become constants, and the layout ops that only move dimensions
(Squeeze, Unsqueeze, Split, Tile, Expand) become Reshape, Slice and Concat."""

import math

import numpy as np
import onnx
from onnx import TensorProto

from .. import ops
from ..ops import broadcast
from .registry import onnx_op

LATEST = 25  # the newest version of the shape ops below; their semantics did not change since 13


def _ints(ctx, node, k, what):
    return [int(v) for v in ctx.const(node.input(k), what).reshape(-1)]


# https://onnx.ai/onnx/operators/onnx__Constant.html: versions 1..25 (dense values only)
@onnx_op("Constant", (1, LATEST), ["value", "value_float", "value_floats", "value_int", "value_ints"])
def constant(ctx, node):
    if "value" in node.attrs:
        v = ctx.read_tensor(node.attrs["value"], "value")
    elif "value_float" in node.attrs or "value_floats" in node.attrs:
        v = np.array(node.attrs.get("value_float", node.attrs.get("value_floats")), np.float32)
    elif "value_int" in node.attrs or "value_ints" in node.attrs:
        v = np.array(node.attrs.get("value_int", node.attrs.get("value_ints")), np.int64)
    else:
        node.fail("has no value")
    ctx.consts[node.output(0)] = v


# https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html: versions 9..25
@onnx_op("ConstantOfShape", (9, LATEST), ["value"])
def constant_of_shape(ctx, node):
    shape = _ints(ctx, node, 0, "shape")
    fill = ctx.read_tensor(node.attrs["value"], "value") if "value" in node.attrs else np.float32(0)
    ctx.consts[node.output(0)] = np.full(shape, fill.reshape(-1)[0] if fill.ndim else fill, fill.dtype)


# https://onnx.ai/onnx/operators/onnx__Shape.html: versions 1..25 (start/end from 15)
@onnx_op("Shape", (1, LATEST), ["start", "end"])
def shape(ctx, node):
    dims = ctx.shape(node.input(0))
    end = node.attr("end", len(dims))
    ctx.consts[node.output(0)] = np.array(dims[node.attr("start", 0) : end], np.int64)


# https://onnx.ai/onnx/operators/onnx__Range.html: versions 11..27, of constants (its length is
# its values' doing, and shapes are static): ceil((limit - start) / delta) values in start's dtype.
# Floats are computed in float64, at least the precision any stash_type (27) asks for.
@onnx_op("Range", (11, 27), ["stash_type"])
def range_(ctx, node):
    start, limit, delta = (ctx.const(node.input(k), what).reshape(()) for k, what in enumerate(RANGE))
    wide = np.float64 if start.dtype.kind == "f" else np.int64
    values = np.arange(*(v.astype(wide) for v in (start, limit, delta)))
    ctx.consts[node.output(0)] = values.astype(start.dtype)


RANGE = ("start", "limit", "delta")


# https://onnx.ai/onnx/operators/onnx__Size.html: versions 1..25
@onnx_op("Size", (1, LATEST))
def size(ctx, node):
    ctx.consts[node.output(0)] = np.array(math.prod(ctx.shape(node.input(0))), np.int64)


# https://onnx.ai/onnx/operators/onnx__Cast.html: versions 1..28. Constants convert at once, to
# any type numpy holds; a run-time tensor through the IR's Cast, to one of pycore's (ops.DTYPES).
@onnx_op("Cast", (1, 28), ["to", "saturate", "round_mode"])
def cast(ctx, node):
    to = node.attr("to")
    to = TensorProto.DataType.Value(to.upper()) if isinstance(to, str) else to
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(to))
    except (KeyError, TypeError, ValueError):
        node.fail(f"cast to {TensorProto.DataType.Name(to)} is not supported")
    _cast(ctx, node, dtype)


# https://onnx.ai/onnx/operators/onnx__CastLike.html: versions 15..25, Cast to the dtype of the
# second input.
@onnx_op("CastLike", (15, LATEST), ["saturate", "round_mode"])
def cast_like(ctx, node):
    like = ctx.maybe_const(node.input(1))
    _cast(ctx, node, like.dtype if like is not None else np.dtype(ctx.dtype(node.input(1))))


def _cast(ctx, node, to):
    x, out = node.input(0), node.output(0)
    value = ctx.maybe_const(x)
    if value is not None:
        ctx.consts[out] = value.astype(to)
    elif to.name not in ops.DTYPES:
        node.fail(f"cast of a run-time tensor to {to.name} (pycore's dtypes: {ops.DTYPE_LIST})")
    elif ctx.dtype(x) == to.name:
        ctx.set(out, x)
    else:
        ctx.emit("Cast", [x], out, to=to.name)


# https://onnx.ai/onnx/operators/onnx__Identity.html: versions 1..25 (tensors only)
@onnx_op("Identity", (1, LATEST))
def identity(ctx, node):
    ctx.set(node.output(0), node.input(0))


# https://onnx.ai/onnx/operators/onnx__Reshape.html: versions 1..25; the shape is an attribute
# before 5 and a constant input from 5; allowzero from 14.
@onnx_op("Reshape", (1, LATEST), ["shape", "allowzero"])
def reshape(ctx, node):
    target = node.attr("shape") if node.version < 5 else _ints(ctx, node, 1, "shape")
    zero = node.attr("allowzero", 0)
    ctx.emit("Reshape", [node.input(0)], node.output(0), shape=list(target), allowzero=zero)


# https://onnx.ai/onnx/operators/onnx__Flatten.html: versions 1..25
@onnx_op("Flatten", (1, LATEST), ["axis"])
def flatten(ctx, node):
    ctx.emit("Flatten", [node.input(0)], node.output(0), axis=node.attr("axis", 1))


def _axes(ctx, node, since):
    """Axes from the attribute (before `since`) or the optional constant input (from `since`)."""
    if node.version < since:
        return node.attr("axes")
    return _ints(ctx, node, 1, "axes") if node.input(1) else None


# https://onnx.ai/onnx/operators/onnx__Squeeze.html: versions 1..25, as a Reshape
@onnx_op("Squeeze", (1, LATEST), ["axes"])
def squeeze(ctx, node):
    dims = ctx.shape(node.input(0))
    axes = _axes(ctx, node, 13)
    axes = [k for k, d in enumerate(dims) if d == 1] if axes is None else [a % len(dims) for a in axes]
    if any(dims[a] != 1 for a in axes):
        node.fail(f"cannot squeeze axes {axes} of shape {list(dims)}")
    ctx.reshape(node.input(0), [d for k, d in enumerate(dims) if k not in axes], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Unsqueeze.html: versions 1..25, as a Reshape
@onnx_op("Unsqueeze", (1, LATEST), ["axes"])
def unsqueeze(ctx, node):
    dims = list(ctx.shape(node.input(0)))
    axes = _axes(ctx, node, 13) or []
    rank = len(dims) + len(axes)
    for a in sorted(a % rank for a in axes):
        dims.insert(a, 1)
    ctx.reshape(node.input(0), dims, node.output(0))


# https://onnx.ai/onnx/operators/onnx__Transpose.html: versions 1..25
@onnx_op("Transpose", (1, LATEST), ["perm"])
def transpose(ctx, node):
    ctx.emit("Transpose", [node.input(0)], node.output(0), perm=node.attr("perm"))


# https://onnx.ai/onnx/operators/onnx__Concat.html: versions 1..13 (axis defaults to 1 before 4)
@onnx_op("Concat", (1, 13), ["axis"])
def concat(ctx, node):
    ins = [t for t in node.inputs if t]
    if len(ins) == 1:
        return ctx.set(node.output(0), ins[0])
    ctx.emit("Concat", ins, node.output(0), axis=node.attr("axis", 1 if node.version < 4 else None))


def _slice(ctx, x, axis, start, end, out=None):
    return ctx.emit("Slice", [x], out, starts=[start], ends=[end], axes=[axis])


# https://onnx.ai/onnx/operators/onnx__Split.html: versions 1..18, one Slice per output. Sizes
# come from the `split` attribute (< 13), the second input (1 and 13+) or an even split.
@onnx_op("Split", (1, 18), ["axis", "split", "num_outputs"])
def split(ctx, node):
    x = node.input(0)
    dims = ctx.shape(x)
    axis = node.attr("axis", 0) % len(dims)
    sizes = node.attr("split") or (_ints(ctx, node, 1, "split") if node.input(1) else None)
    if not sizes:
        n = len(node.outputs)
        chunk = -(-dims[axis] // n)  # 18+ lets the last chunk be smaller
        sizes = [min(chunk, dims[axis] - k * chunk) for k in range(n)]
    if sum(sizes) != dims[axis] or len(sizes) != len(node.outputs):
        node.fail(f"split {list(sizes)} does not fit dimension {dims[axis]} into {len(node.outputs)} outputs")
    start = 0
    for out, n in zip(node.outputs, sizes):
        if out:
            _slice(ctx, x, axis, start, start + n, out)
        start += n


# https://onnx.ai/onnx/operators/onnx__Slice.html: versions 1..13 (attributes before 10,
# constant inputs from 10; positive steps only)
@onnx_op("Slice", (1, 13), ["starts", "ends", "axes"])
def slice_(ctx, node):
    if node.version < 10:
        starts, ends, axes, steps = node.attr("starts"), node.attr("ends"), node.attr("axes"), None
    else:
        starts, ends = _ints(ctx, node, 1, "starts"), _ints(ctx, node, 2, "ends")
        axes = _ints(ctx, node, 3, "axes") if node.input(3) else None
        steps = _ints(ctx, node, 4, "steps") if node.input(4) else None
    attrs = {"starts": list(starts), "ends": list(ends), "axes": axes and list(axes), "steps": steps}
    ctx.emit("Slice", [node.input(0)], node.output(0), **attrs)


# https://onnx.ai/onnx/operators/onnx__Gather.html: versions 1..13. Constant indices on a run-time
# tensor become Slices (runs of consecutive indices one Slice); run-time indices a selection (pick).
@onnx_op("Gather", (1, 13), ["axis"])
def gather(ctx, node):
    data, out = node.input(0), node.output(0)
    dims = ctx.shape(data)
    axis = node.attr("axis", 0) % len(dims)
    if not ctx.is_const(node.input(1)):
        return _gather_run_time(ctx, data, node.input(1), axis, out)
    idx = ctx.const(node.input(1), "indices").astype(np.int64)
    if ((idx < -dims[axis]) | (idx >= dims[axis])).any():
        node.fail(f"indices {idx.tolist()} out of range for dimension {dims[axis]}")
    idx = np.where(idx < 0, idx + dims[axis], idx)
    value = ctx.maybe_const(data)
    if value is not None:
        ctx.consts[out] = np.take(value, idx, axis=axis)
        return
    runs, flat = [], idx.reshape(-1).tolist()
    for i in flat:
        if runs and runs[-1][1] == i:
            runs[-1][1] += 1
        else:
            runs.append([i, i + 1])
    pieces = [_slice(ctx, data, axis, s, e) for s, e in runs]
    joined = ctx.emit("Concat", pieces, axis=axis) if len(pieces) > 1 else pieces[0]
    ctx.reshape(joined, (*dims[:axis], *idx.shape, *dims[axis + 1 :]), out)


def _gather_run_time(ctx, data, idx, axis, out):
    """data of shape (*pre, K, *post) and indices I: the values at (*pre, *I, K, *post) where K
    equals the index, summed over K."""
    dims, shape = ctx.shape(data), ctx.shape(idx)
    pre, k, post = dims[:axis], dims[axis], dims[axis + 1 :]
    hit = ctx.reshape(one_hot(ctx, idx, k), (*shape, k, *[1] * len(post)))
    picked = ctx.reshape(data, (*pre, *[1] * len(shape), k, *post))
    pick(ctx, hit, picked, len(pre) + len(shape), out)


# https://onnx.ai/onnx/operators/onnx__GatherElements.html: versions 11..13, as a selection: the
# output (of the indices' shape) at each position takes the data along `axis` where the index points
@onnx_op("GatherElements", (11, 13), ["axis"])
def gather_elements(ctx, node):
    data, idx = node.input(0), node.input(1)
    dims, shape = ctx.shape(data), ctx.shape(idx)
    if len(dims) != len(shape) or any(i > d for i, d in zip(shape, dims)):
        node.fail(f"indices of shape {list(shape)} for data of shape {list(dims)}")
    axis = node.attr("axis", 0) % len(dims)
    k, rest = dims[axis], [d for d in range(len(dims)) if d != axis]
    ends = [dims[d] if d == axis else shape[d] for d in range(len(dims))]
    if list(ends) != list(dims):
        data = ctx.emit("Slice", [data], starts=[0] * len(dims), ends=ends)
    moved = ctx.emit("Transpose", [data], perm=[*rest, axis]) if axis != len(dims) - 1 else data
    picked = ctx.reshape(moved, (*shape[:axis], 1, *shape[axis + 1 :], k))
    pick(ctx, one_hot(ctx, idx, k), picked, len(dims), node.output(0))


def one_hot(ctx, idx, k):
    """indices (negative ones counted from the end) against 0..k-1: bool of shape (*indices, k)."""
    dtype = ctx.dtype(idx)
    if np.dtype(dtype).kind == "i":
        wrapped = ctx.emit("Add", [idx, ctx.constant(k, "k", like=idx)])
        idx = ctx.emit("Where", [ctx.emit("Less", [idx, ctx.constant(0, "zero", like=idx)]), wrapped, idx])
    column = ctx.reshape(idx, (*ctx.shape(idx), 1))
    return ctx.emit("Equal", [column, ctx.constant(np.arange(k, dtype=dtype), "positions")])


def pick(ctx, hit, values, axis, out=None):
    """Where(hit, values, 0) reduced over `axis`, which holds one hit: a sum (exact: the others are
    zeros), or for bools a maximum. A hit known at conversion time is a float32 mask (WebGPU's)."""
    if ctx.is_const(hit):
        hit = ctx.constant(ctx.const(hit).astype(np.float32), "hit")
    chosen = ctx.emit("Where", [hit, values, ctx.constant(0, "zero", like=values)])
    reduce = "ReduceMax" if ctx.dtype(values) == "bool" else "ReduceSum"
    return ctx.emit(reduce, [chosen], out, axes=[axis], keepdims=0)


# https://onnx.ai/onnx/operators/onnx__Trilu.html: version 14, k a constant. The last two axes'
# triangle as Where against a constant 0/1 mask of that (rows, cols) shape: exact (x * mask would
# turn an infinity outside the triangle into NaN), and one ternary pass.
@onnx_op("Trilu", (14, 14), ["upper"])
def trilu(ctx, node):
    x = node.input(0)
    dims = ctx.shape(x)
    if len(dims) < 2:
        node.fail(f"the input must have rank 2 or more, got shape {list(dims)}")
    k = int(ctx.const(node.input(1), "k").reshape(-1)[0]) if node.input(1) else 0
    rows, cols = np.indices(dims[-2:])
    keep = cols - rows >= k if node.attr("upper", 1) else cols - rows <= k
    mask = ctx.constant(keep.astype(np.float32), "triangle")
    ctx.emit("Where", [mask, x, ctx.constant(0, "zero", like=x)], node.output(0))


def _tile(ctx, x, repeats, out):
    for axis, r in enumerate(repeats):
        if r != 1:
            x = ctx.emit("Concat", [x] * r, axis=axis)
    ctx.set(out, x)


# https://onnx.ai/onnx/operators/onnx__Tile.html: versions 6..13, as Concat of copies
@onnx_op("Tile", (6, 13))
def tile(ctx, node):
    repeats = _ints(ctx, node, 1, "repeats")
    if len(repeats) != len(ctx.shape(node.input(0))) or min(repeats, default=1) < 1:
        node.fail(f"repeats {repeats} for shape {list(ctx.shape(node.input(0)))}")
    _tile(ctx, node.input(0), repeats, node.output(0))


# https://onnx.ai/onnx/operators/onnx__Expand.html: versions 8..13, as Reshape + Tile
@onnx_op("Expand", (8, 13))
def expand(ctx, node):
    dims = ctx.shape(node.input(0))
    try:
        target = broadcast(dims, _ints(ctx, node, 1, "shape"))
    except ValueError as e:
        node.fail(str(e))
    dims = (1,) * (len(target) - len(dims)) + tuple(dims)
    x = ctx.reshape(node.input(0), dims)
    _tile(ctx, x, [t if d == 1 else 1 for d, t in zip(dims, target)], node.output(0))


# https://onnx.ai/onnx/operators/onnx__Pad.html: versions 1..25 (`paddings` attribute in 1,
# `pads` attribute in 2, constant inputs from 11, `axes` from 18). Negative pads crop, via Slice.
@onnx_op("Pad", (1, LATEST), ["mode", "pads", "paddings", "value"])
def pad(ctx, node):
    x, rank = node.input(0), len(ctx.shape(node.input(0)))
    if node.version < 11:
        pads, value = node.attr("pads", node.attr("paddings")), node.attr("value", 0.0)
    else:
        pads = _ints(ctx, node, 1, "pads")
        value = float(ctx.const(node.input(2), "constant_value").reshape(-1)[0]) if node.input(2) else 0.0
        if node.input(3):  # pads given for some axes only: spread them over all
            axes = [a % rank for a in _ints(ctx, node, 3, "axes")]
            full = [0] * (2 * rank)
            for k, a in enumerate(axes):
                full[a], full[a + rank] = pads[k], pads[k + len(axes)]
            pads = full
    if len(pads) != 2 * rank:
        node.fail(f"{len(pads)} pads for rank {rank}")
    if min(pads) < 0:
        dims = ctx.shape(x)
        ends = [dims[a] + min(pads[a + rank], 0) for a in range(rank)]
        x = ctx.emit("Slice", [x], starts=[max(-p, 0) for p in pads[:rank]], ends=ends)
        pads = [max(p, 0) for p in pads]
    mode = node.attr("mode", "constant")
    if not any(pads):
        return ctx.set(node.output(0), x)
    ctx.emit("Pad", [x], node.output(0), pads=list(pads), mode=mode, value=float(value))
