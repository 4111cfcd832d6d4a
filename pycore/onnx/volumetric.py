"""3-d convolution and pooling expressed with the 2-d ops, so backends need no 3-d kernels.

Conv3d: the kd depth taps of every output depth are stacked into channels, and output depths into
the batch: (N, C, D, H, W) -> (N * oD, C * kd, H, W), then one Conv2d whose weight is the 3-d weight
reshaped to (M, C/g * kd, kh, kw) (channel c * kd + t, so groups stay contiguous).
Pooling is separable: a 2-d pool over (H, W), then one over D with a (kd, 1) window. For
AveragePool that is exact too, because the count of valid cells in a box is the product of the
counts along each axis, with or without count_include_pad and ceil_mode.
"""

from .. import ops


def _resolve(node, shape, kernel, **extra):
    """Explicit pads, strides, dilations and the output spatial dims, by pycore's own rules."""
    a = {k: node.attr(k) for k in ("strides", "pads", "dilations") if node.attr(k) is not None}
    a.update(auto_pad=node.attr("auto_pad", "NOTSET"), **extra)
    a.setdefault("strides", None)
    a.setdefault("pads", None)
    out = ops.nn.window(a, shape, kernel, node.op)
    return a, out


def conv3d(ctx, node, x, w, b):
    n, c, d, h, wd = ctx.shape(x)
    m, cg, kd, kh, kw = ctx.shape(w)
    g = int(node.attr("group", 1))
    a, (od, oh, ow) = _resolve(node, ctx.shape(x), [kd, kh, kw])
    (sd, sh, sw), (dd, dh, dw), p = a["strides"], a["dilations"], a["pads"]
    if p[0] or p[3]:
        x = ctx.emit("Pad", [x], pads=[0, 0, p[0], 0, 0, 0, 0, p[3], 0, 0], mode="constant", value=0.0)
    taps = []
    for t in range(kd):
        start = t * dd
        tap = ctx.emit("Slice", [x], starts=[start], ends=[start + (od - 1) * sd + 1], axes=[2], steps=[sd])
        taps.append(ctx.reshape(tap, (n, c, 1, od, h, wd)))
    y = ctx.emit("Concat", taps, axis=2) if kd > 1 else taps[0]
    y = ctx.emit("Transpose", [y], perm=[0, 3, 1, 2, 4, 5])
    y = ctx.reshape(y, (n * od, c * kd, h, wd))
    w2 = ctx.reshape(w, (m, cg * kd, kh, kw))
    attrs = {"pads": [p[1], p[2], p[4], p[5]], "strides": [sh, sw], "dilations": [dh, dw], "group": g}
    y = ctx.emit("Conv", [y, w2, b] if b else [y, w2], **attrs)
    y = ctx.reshape(y, (n, od, m, oh, ow))
    ctx.emit("Transpose", [y], node.output(0), perm=[0, 2, 1, 3, 4])


def pool3d(ctx, node, x, extra):
    n, c, d, h, wd = ctx.shape(x)
    kd, kh, kw = node.attr("kernel_shape")
    a, (od, oh, ow) = _resolve(node, ctx.shape(x), [kd, kh, kw], ceil_mode=node.attr("ceil_mode", 0))
    (sd, sh, sw), (dd, dh, dw), p = a["strides"], a["dilations"], a["pads"]
    y = ctx.reshape(x, (n, c * d, h, wd))
    hw = {
        "kernel_shape": [kh, kw],
        "strides": [sh, sw],
        "pads": [p[1], p[2], p[4], p[5]],
        "dilations": [dh, dw],
    }
    y = ctx.emit(node.op, [y], **hw, ceil_mode=a["ceil_mode"], **extra)
    y = ctx.reshape(y, (n, c, d, oh * ow))
    depth = {"kernel_shape": [kd, 1], "strides": [sd, 1], "pads": [p[0], 0, p[3], 0], "dilations": [dd, 1]}
    y = ctx.emit(node.op, [y], **depth, ceil_mode=a["ceil_mode"], **extra)
    ctx.reshape(y, (n, c, od, oh, ow), node.output(0))
