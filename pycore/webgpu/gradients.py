"""Backward kernels of the windowed ops (convolution and pooling), mirroring pycore/cpu/gradients.py.

Each gathers rather than scatters: one invocation (or workgroup, for the weight gradient) owns one
value of the result and sums every term that lands on it, so no two write the same word and WebGPU
needs no float atomics. 1-d windows run as 2-d with height 1 (window_2d), as on the CPU; the NCW
and NC1W layouts are the same bytes.
"""

import math

from .nn import window_2d
from .step import Step, flat, grid

WG64 = {"WG": 64}
WEIGHT_TAPS = 9  # kernel taps per workgroup of conv2d_grad_weight.wgsl: a 3x3 kernel takes one


def _conv_dims(a, x_shape, w_shape, dy_shape):
    """The uniform members both convolution gradients share, and the output's (oh, ow)."""
    win = window_2d(a, x_shape)
    del win["pad_b"], win["pad_r"]
    oh, ow = (1, dy_shape[2]) if len(dy_shape) == 3 else dy_shape[2:]
    c, m, g = x_shape[1], w_shape[0], a["group"]
    return {**win, "c": c, "m": m, "cg": c // g, "mg": m // g, "oh": oh, "ow": ow}, (oh, ow)


def conv_grad_input(node, ctx):
    dy, w = node.inputs[:2]
    x_shape = tuple(node.attrs["shape"])
    dims, _ = _conv_dims(node.attrs, x_shape, ctx.shape(w), ctx.shape(dy))
    n = math.prod(x_shape)
    params = {"n": n, **dims}
    return [Step(("conv2d_grad_input",), params, [dy, w], node.outputs[0], flat(n, 64), overrides=WG64)]


def conv_grad_weight(node, ctx):
    x, dy = node.inputs[:2]
    x_shape, dy_shape = ctx.shape(x), ctx.shape(dy)
    dims, (oh, ow) = _conv_dims(node.attrs, x_shape, tuple(node.attrs["shape"]), dy_shape)
    m, cg, *kernel = node.attrs["shape"]
    blocks = math.ceil(math.prod(kernel) / WEIGHT_TAPS)
    params = {"pairs": m * cg, "blocks": blocks, "terms": x_shape[0] * oh * ow, **dims}
    groups = grid(m * cg * blocks)
    return [Step(("conv2d_grad_weight",), params, [x, dy], node.outputs[0], groups, {"taps": WEIGHT_TAPS})]


def _pool_dims(node, ctx):
    """The input's size (n) and the window's uniform members."""
    x_shape, dy_shape = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
    oh, ow = (1, dy_shape[2]) if len(dy_shape) == 3 else dy_shape[2:]
    return {"n": math.prod(x_shape), **window_2d(node.attrs, x_shape), "oh": oh, "ow": ow}


def max_pool_grad(node, ctx):
    params = _pool_dims(node, ctx)
    del params["pad_b"], params["pad_r"]  # only the average's count needs where a window stops
    n = params["n"]
    reads = node.inputs[:2]
    return [Step(("max_pool2d_grad",), params, reads, node.outputs[0], flat(n, 64), overrides=WG64)]


def average_pool_grad(node, ctx):
    params = {**_pool_dims(node, ctx), "include_pad": int(node.attrs["count_include_pad"])}
    n = params["n"]
    # the forward values are not needed: a window's count depends on shapes only
    reads = node.inputs[1:2]
    return [Step(("average_pool2d_grad",), params, reads, node.outputs[0], flat(n, 64), overrides=WG64)]


PLANNERS = {
    "ConvGradInput": conv_grad_input,
    "ConvGradWeight": conv_grad_weight,
    "MaxPoolGrad": max_pool_grad,
    "AveragePoolGrad": average_pool_grad,
}
