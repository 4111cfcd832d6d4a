"""Backward kernels of the windowed ops (convolution and pooling), mirroring pycore/cpu/gradients.py.

Each gathers rather than scatters: one invocation (or workgroup, for the weight gradient) owns one
value of the result and sums every term that lands on it, so no two write the same word and WebGPU
needs no float atomics. 1-d windows run as 2-d with height 1 (window_2d), as on the CPU; the NCW
and NC1W layouts are the same bytes.
"""

import math

from .nn import window_2d
from .step import Step, flat, grid, pack

WG64 = {"WG": 64}
WEIGHT_TAPS = 9  # kernel taps per workgroup of conv2d_grad_weight.wgsl: a 3x3 kernel takes one


def _conv_dims(a, x_shape, w_shape, dy_shape):
    """The uniform fields both convolution gradients share after their leading counts."""
    h, wd, kh, kw, sh, sw, pt, pl, _, _, dh, dw = window_2d(a, x_shape)
    oh, ow = (1, dy_shape[2]) if len(dy_shape) == 3 else dy_shape[2:]
    c, m, g = x_shape[1], w_shape[0], a["group"]
    return (c, h, wd, m, c // g, m // g, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw), (oh, ow)


def conv_grad_input(node, ctx):
    dy, w = node.inputs[:2]
    x_shape = tuple(node.attrs["shape"])
    dims, _ = _conv_dims(node.attrs, x_shape, ctx.shape(w), ctx.shape(dy))
    n = math.prod(x_shape)
    params = pack(n, *dims)
    return [Step(("conv2d_grad_input",), params, [dy, w], node.outputs[0], flat(n, 64), overrides=WG64)]


def conv_grad_weight(node, ctx):
    x, dy = node.inputs[:2]
    x_shape, dy_shape = ctx.shape(x), ctx.shape(dy)
    dims, (oh, ow) = _conv_dims(node.attrs, x_shape, tuple(node.attrs["shape"]), dy_shape)
    m, cg, *kernel = node.attrs["shape"]
    blocks = math.ceil(math.prod(kernel) / WEIGHT_TAPS)
    params = pack(m * cg, blocks, x_shape[0] * oh * ow, *dims)
    groups = grid(m * cg * blocks)
    return [Step(("conv2d_grad_weight",), params, [x, dy], node.outputs[0], groups, {"taps": WEIGHT_TAPS})]


def _pool_dims(node, ctx):
    x_shape, dy_shape = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
    h, wd, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw = window_2d(node.attrs, x_shape)
    oh, ow = (1, dy_shape[2]) if len(dy_shape) == 3 else dy_shape[2:]
    return math.prod(x_shape), (h, wd, oh, ow, kh, kw, sh, sw, pt, pl), (pb, pr), (dh, dw)


def max_pool_grad(node, ctx):
    n, dims, _, dil = _pool_dims(node, ctx)
    params = pack(n, *dims, *dil)
    reads = node.inputs[:2]
    return [Step(("max_pool2d_grad",), params, reads, node.outputs[0], flat(n, 64), overrides=WG64)]


def average_pool_grad(node, ctx):
    n, dims, ends, dil = _pool_dims(node, ctx)
    params = pack(n, *dims, *ends, *dil, int(node.attrs["count_include_pad"]))
    # the forward values are not needed: a window's count depends on shapes only
    reads = node.inputs[1:2]
    return [Step(("average_pool2d_grad",), params, reads, node.outputs[0], flat(n, 64), overrides=WG64)]


KERNELS = {
    "ConvGradInput": conv_grad_input,
    "ConvGradWeight": conv_grad_weight,
    "MaxPoolGrad": max_pool_grad,
    "AveragePoolGrad": average_pool_grad,
}
