"""Planners of the ops that move data without arithmetic (pycore/ops/movement.py): reshapes are views;
transposes, slices, concats and broadcasts are strided copies; Pad has a shader of its own."""

import math

from .step import Step, View, broadcast_strides, flat, merge_dims, strides

WG256 = {"WG": 256}
PAD_MODES = {"constant": 0, "reflect": 1, "edge": 2}


def copy_step(src, dst, shape, src_strides, dst_strides, ctx, src_offset=0, dst_offset=0):
    dims, (ss, ds) = merge_dims(shape, src_strides, dst_strides)
    n = math.prod(shape)
    params = {"n": n, "rank": len(dims), "src_offset": src_offset, "dst_offset": dst_offset}
    params |= {"shape": dims, "src_strides": ss, "dst_strides": ds}
    return Step(("copy",), params, [src], dst, flat(n, 256), {"type": ctx.element(src)}, WG256)


def transpose(node, ctx):
    shape, perm = ctx.shape(node.inputs[0]), node.attrs["perm"]
    moved = [p for p in perm if shape[p] != 1]
    if moved == sorted(moved):  # only size-1 axes move: the bytes are already in order
        return View(node.inputs[0])
    out = ctx.shape(node.outputs[0])
    src = strides(shape)
    return [copy_step(node.inputs[0], node.outputs[0], out, [src[p] for p in perm], strides(out), ctx)]


def concat(node, ctx):
    out, axis = ctx.shape(node.outputs[0]), node.attrs["axis"]
    dst, steps, at = strides(out), [], 0
    for x in node.inputs:
        shape = ctx.shape(x)
        if math.prod(shape):
            steps.append(copy_step(x, node.outputs[0], shape, strides(shape), dst, ctx, 0, at * dst[axis]))
        at += shape[axis]
    return steps


def slice_(node, ctx):
    a, shape, out = node.attrs, ctx.shape(node.inputs[0]), ctx.shape(node.outputs[0])
    st = strides(shape)
    offset = sum(b * s for b, s in zip(a["starts"], st))
    src = [s * k for s, k in zip(st, a["steps"])]
    if not math.prod(out):
        return []
    return [copy_step(node.inputs[0], node.outputs[0], out, src, strides(out), ctx, offset)]


def pad(node, ctx):
    a, shape = node.attrs, ctx.shape(node.inputs[0])
    out, rank = ctx.shape(node.outputs[0]), len(shape)
    if any(p < 0 for p in a["pads"]):
        raise ValueError(f"{node.name}: negative pads are not supported")
    n = math.prod(out)
    params = {"n": n, "rank": rank, "mode": PAD_MODES[a["mode"]], "value": float(a["value"])}
    params |= {"in_shape": shape, "out_shape": out, "pad_begin": a["pads"][:rank]}
    return [Step(("pad",), params, node.inputs[:1], node.outputs[0], flat(n, 256), overrides=WG256)]


def expand(node, ctx):
    """A broadcasting copy: the input is read with stride 0 along its broadcast dimensions."""
    x, out = node.inputs[0], node.outputs[0]
    shape = ctx.shape(out)
    return [copy_step(x, out, shape, broadcast_strides(ctx.shape(x), shape), strides(shape), ctx)]


PLANNERS = {
    "Flatten": lambda node, ctx: View(node.inputs[0]),
    "Reshape": lambda node, ctx: View(node.inputs[0]),
    "Transpose": transpose,
    "Concat": concat,
    "Expand": expand,
    "Pad": pad,
    "Slice": slice_,
}
