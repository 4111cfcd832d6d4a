"""ConvTranspose as a plain convolution, so backends need no kernel of their own for it.

A transposed convolution with stride s is a stride-1 convolution over the input with s - 1 zeros
inserted between neighbours, padded by (k_eff - 1 - pad) on each side, with the kernel's in/out
channels swapped and its taps flipped. Zeros are inserted with Reshape -> Pad -> Reshape (the
trailing s - 1 zeros this leaves are taken off the end padding); negative paddings become a Slice.
"""

import numpy as np

from .nn import WINDOW, _spatial
from .registry import onnx_op


def _pads(node, spatial, k_eff, strides, out_pad):
    """Begin and end pads per spatial dim, from pads, output_shape or auto_pad (ONNX rules)."""
    nd = len(spatial)
    auto = node.attr("auto_pad", "NOTSET")
    out_shape = node.attr("output_shape")
    if out_shape is None and auto in ("SAME_UPPER", "SAME_LOWER"):
        out_shape = [n * s for n, s in zip(spatial, strides)]
    if out_shape is None:
        pads = node.attr("pads") or [0] * (2 * nd)
        return (pads[:nd], pads[nd:]) if auto != "VALID" else ([0] * nd, [0] * nd)
    out_shape = list(out_shape)[-nd:]
    begin, end = [], []
    for n, s, o, ke, want in zip(spatial, strides, out_pad, k_eff, out_shape):
        total = s * (n - 1) + o + ke - want
        small, big = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else big)
        end.append(big if auto == "SAME_UPPER" else small)
    return begin, end


def _insert_zeros(ctx, x, axis, s):
    """(.., n, ..) -> (.., n * s, ..) with each element followed by s - 1 zeros along `axis`."""
    shape = list(ctx.shape(x))
    y = ctx.reshape(x, [*shape[: axis + 1], 1, *shape[axis + 1 :]])
    rank = len(shape) + 1
    pads = [0] * (2 * rank)
    pads[rank + axis + 1] = s - 1
    y = ctx.emit("Pad", [y], pads=pads, mode="constant", value=0.0)
    return ctx.reshape(y, [*shape[:axis], shape[axis] * s, *shape[axis + 1 :]])


# https://onnx.ai/onnx/operators/onnx__ConvTranspose.html: versions 1..22, 1-d and 2-d, with
# constant weights.
@onnx_op("ConvTranspose", (1, 22), [*WINDOW, "group", "output_padding", "output_shape"])
def conv_transpose(ctx, node):
    x, b = node.input(0), node.input(2)
    nd = _spatial(ctx, node, x)
    w = ctx.const(node.input(1), "the weight")
    g = int(node.attr("group", 1))
    k = list(w.shape[2:])
    given = node.attr("kernel_shape")
    if given is not None and list(given) != k:
        node.fail(f"kernel_shape {list(given)} disagrees with the weight's shape {list(w.shape)}")
    strides = list(node.attr("strides") or [1] * nd)
    dil = list(node.attr("dilations") or [1] * nd)
    out_pad = list(node.attr("output_padding") or [0] * nd)
    spatial = ctx.shape(x)[2:]
    k_eff = [(kk - 1) * d + 1 for kk, d in zip(k, dil)]
    pb, pe = _pads(node, spatial, k_eff, strides, out_pad)

    y = x
    for i, s in enumerate(strides):
        if s > 1:
            y = _insert_zeros(ctx, y, 2 + i, s)
    begin = [ke - 1 - p for ke, p in zip(k_eff, pb)]
    end = [ke - 1 - p + o - (s - 1) for ke, p, o, s in zip(k_eff, pe, out_pad, strides)]
    if min(begin + end) < 0:  # more padding removed than the kernel adds: crop the input
        dims = ctx.shape(y)
        starts = [0, 0, *[max(-v, 0) for v in begin]]
        ends = [*dims[:2], *[n + min(v, 0) for n, v in zip(dims[2:], end)]]
        y = ctx.emit("Slice", [y], starts=starts, ends=ends)
        begin, end = [max(v, 0) for v in begin], [max(v, 0) for v in end]

    c, mg = w.shape[:2]
    flipped = w[(slice(None), slice(None), *[slice(None, None, -1)] * nd)]
    kernel = flipped.reshape(g, c // g, mg, *k).swapaxes(1, 2).reshape(g * mg, c // g, *k)
    ins = [y, ctx.constant(np.ascontiguousarray(kernel, np.float32), "kernel")]
    attrs = {"pads": begin + end, "dilations": dil, "group": g, "strides": [1] * nd}
    ctx.emit("Conv", ins + ([b] if b else []), node.output(0), **attrs)
