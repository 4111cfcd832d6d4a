"""Convolution, pooling and normalisation planners (2-d; 1-d runs as 2-d with height 1, as on the CPU)."""

import math

import numpy as np

from .elementwise import epilogue
from .step import Step, flat, pack
from .tensor import product_step

GEMM_TILE = {"WG_M": 8, "WG_N": 8, "TK": 16}  # a 32 x 32 output tile per workgroup
WG64 = {"WG": 64}
WG256 = {"WG": 256}

# pool2d.wgsl's accumulator per op: initial value, step (acc, v), finish (acc, valid, padded)
POOL = {
    "MaxPool": {"init": "-3.402823e38", "step": "max(acc, v)", "finish": "acc"},
    "AveragePool": {
        "init": "0.0",
        "step": "acc + v",
        "finish": "acc / f32(select(valid, padded, p.include_pad == 1u))",
    },
}


def window_2d(a, x_shape):
    """(h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw) with 1-d windows lifted to height 1."""
    k, s, p = a["kernel_shape"], a["strides"], a["pads"]
    d = a.get("dilations") or [1] * len(k)
    if len(x_shape) == 3:
        return (1, x_shape[2], 1, k[0], 1, s[0], 0, p[0], 0, p[1], 1, d[0])
    return (*x_shape[2:], *k, *s, p[0], p[1], p[2], p[3], *d)


def conv(node, ctx):
    x, w, b, *rest = [*node.inputs, ""][: max(3, len(node.inputs))]
    a = node.attrs
    xs, out = ctx.shape(x), ctx.shape(node.outputs[0])
    if not b:  # the passes always add a bias; a graph run as written may lack one
        b = ctx.const(np.zeros(out[1], np.float32), f"{node.name}.zero_bias")
    h, wd, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw = window_2d(a, xs)
    n, c, m, g = xs[0], xs[1], out[1], a["group"]
    oh, ow = (1, out[2]) if len(out) == 3 else out[2:]
    residual = rest[0] if rest else ""
    reads = [x, w, b, residual]
    if (kh, kw, sh, sw, pt, pl, pb, pr, g) == (1, 1, 1, 1, 0, 0, 0, 0, 1):
        # pointwise: per image, W (m, c) @ X (c, pixels) is already NCHW; a plain matrix product
        hw = oh * ow
        strides = (c, 1, hw, 1, 1, 0)  # W row-major, X row-major, bias per row
        batch = ([n], [0], [c * hw])
        return [product_step([w, x, b, residual], node.outputs[0], (m, hw, c), strides, batch, a)]
    ep, fill = epilogue(a)
    if c == g:  # every output channel reads one input channel
        quads = n * m * oh * math.ceil(ow / 4)  # each invocation writes four outputs of a row
        params = pack(quads, c, h, wd, m, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, bool(residual), ep)
        shader = ("epilogue", "depthwise_conv2d")
        return [Step(shader, params, reads, node.outputs[0], flat(quads, 64), fill, WG64)]
    t = GEMM_TILE
    params = pack(c // g, h, wd, m // g, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, g, bool(residual), ep)
    groups = (
        math.ceil(oh * ow / (t["WG_N"] * 4)),
        math.ceil(m // g / (t["WG_M"] * 4)),
        n * g,
    )
    return [Step(("epilogue", "conv2d", "gemm"), params, reads, node.outputs[0], groups, fill, t)]


def pool(node, ctx):
    a = node.attrs
    x = node.inputs[0]
    xs, out = ctx.shape(x), ctx.shape(node.outputs[0])
    h, wd, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw = window_2d(a, xs)
    oh, ow = (1, out[2]) if len(out) == 3 else out[2:]
    total = math.prod(out)
    include = int(a.get("count_include_pad", 0))
    params = pack(total, h, wd, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, include)
    step = Step(("pool2d",), params, [x], node.outputs[0], flat(total, 64), POOL[node.op], WG64)
    return [step]


def per_channel(xs):
    return math.prod(xs), xs[1] if len(xs) > 1 else 1, math.prod(xs[2:])


def batch_norm(node, ctx):
    total, c, spatial = per_channel(ctx.shape(node.inputs[0]))
    params = pack(total, c, spatial, float(node.attrs["epsilon"]))
    return [Step(("batchnorm",), params, node.inputs[:5], node.outputs[0], flat(total, 256), overrides=WG256)]


def batch_norm_stats(node, ctx):
    n, c = ctx.shape(node.inputs[0])[:2]
    _, _, spatial = per_channel(ctx.shape(node.inputs[0]))
    params = pack(n, c, spatial)
    return [Step(("batchnorm_stats",), params, node.inputs[:1], node.outputs[0], (c, 1, 1), overrides=WG256)]


def lrn(node, ctx):
    a = node.attrs
    total, c, spatial = per_channel(ctx.shape(node.inputs[0]))
    params = pack(total, c, spatial, int(a["size"]), float(a["alpha"]), float(a["beta"]), float(a["bias"]))
    return [Step(("lrn",), params, node.inputs[:1], node.outputs[0], flat(total, 256), overrides=WG256)]


KERNELS = {
    "BatchNormStats": batch_norm_stats,
    "Conv": conv,
    "MaxPool": pool,
    "AveragePool": pool,
    "BatchNormalization": batch_norm,
    "LRN": lrn,
}
