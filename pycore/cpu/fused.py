"""Conv, Gemm and MatMul with their GEMM (or depthwise conv) and epilogue in one fused kernel call,
and the convolution's weight gradient on the same GEMM (training on the CPU path in Pyodide).

The runners come from wasm.fused_kernels (the wasm kernels in Pyodide; the unit tests run the same
modules through wasmtime): run_gemm(a, b, c, bias, bias_axis, residual, lo, hi) computes
c = clip(a @ b + bias + residual, lo, hi) on float32 matrices with contiguous rows, and
run_depthwise(x, w, bias, y, stride, lo, hi) a depthwise 3x3 or 5x5 conv, stride 1 or 2, on a padded
input. An activation their clip cannot express (GELU, hard-swish, sigmoid, ...) runs after them,
as its own numpy kernel on their result. Whatever they cannot take (another dtype, other groups,
alpha or beta, batched weights) runs the numpy kernel it replaces, unchanged, so a model never
depends on which ops the kernels cover.
"""

import math

import numpy as np

from .. import ops
from . import gradients, nn, wasm
from .elementwise import UNARY


def clip_bounds(attrs):
    """((lo, hi), after) for the host's fused activation: the bounds the kernel's clip applies, and
    where a clip cannot express the activation, the activation's own kernel to run on the result
    (the kernel adds bias and residual first, so this is the epilogue's activation(y + residual))."""
    act, own = ops.fused_activation(attrs)
    if act is None:
        return (-math.inf, math.inf), None
    if act == "Relu":
        return (0.0, math.inf), None
    if act == "Clip":
        return (float(own["min"]), float(own["max"])), None
    return (-math.inf, math.inf), lambda y: UNARY[act](own, y)


def _after(after, y):
    return y if after is None else after(y)


def _float32(*xs):
    return all(x is None or x.dtype == np.float32 for x in xs)


def _matrix(x, shape):
    """x broadcast to `shape` as a C-contiguous float32 array (a residual may broadcast, as in numpy)."""
    return None if x is None else np.ascontiguousarray(np.broadcast_to(x, shape))


def _depthwise_form(a2, x, w, residual):
    """Whether the depthwise kernel computes this conv: one 3x3 or 5x5 filter per channel, square
    strides of 1 or 2, no dilation, and no residual (its clip would have to come after it)."""
    (kh, kw), (sh, sw) = a2["kernel_shape"], a2["strides"]
    return (
        a2["group"] == w.shape[0] == x.shape[1]
        and w.shape[1] == 1
        and kh == kw
        and sh == sw
        and (kh, sh) in wasm.DEPTHWISE_SHAPES
        and a2["dilations"] == [1, 1]
        and residual is None
    )


def kernels(runners):
    """The Conv, Gemm, MatMul and ConvGradWeight entries of the CPU kernel table, on runners
    ("gemm", and where they loaded "depthwise" and "im2col")."""
    run_gemm, run_depthwise, run_im2col = runners["gemm"], runners.get("depthwise"), runners.get("im2col")

    def columns(a2, x4):
        """nn.im2col's (columns, (oh, ow)), by the im2col kernel where it loaded: one call per image
        in place of a padding copy and a numpy copy per kernel tap."""
        if run_im2col is None or x4.dtype != np.float32:
            return nn.im2col(a2, x4)
        (kh, kw), (n, c) = a2["kernel_shape"], x4.shape[:2]
        oh, ow = nn.output_size(a2, x4.shape[2:])
        cols = np.empty((n, c * kh * kw, oh * ow), np.float32)
        x4 = np.ascontiguousarray(x4)
        for i in range(n):
            run_im2col(a2, x4[i], cols[i])
        return cols, (oh, ow)

    def depthwise(a, a2, x4, w, b, clip, lifted):
        padded, (oh, ow) = nn._padded_input(a2, x4, 0.0)
        padded = np.ascontiguousarray(padded)
        n, m, k = x4.shape[0], w.shape[0], a2["kernel_shape"][0]
        y = np.empty((n, m, oh, ow), np.float32)
        filters = np.ascontiguousarray(w).reshape(m, k, k)
        bias = None if b is None else np.ascontiguousarray(b).reshape(m)
        for i in range(n):
            run_depthwise(padded[i], filters, bias, y[i], a2["strides"][0], *clip)
        return y[:, :, 0, :] if lifted else y

    def conv(a, x, w, b=None, residual=None):
        clip, after = clip_bounds(a)
        if not _float32(x, w, b, residual):
            return nn.conv(a, x, w, b, residual)
        if a["group"] != 1:
            a2, x4 = nn._as_2d(a, x)
            if run_depthwise is None or not _depthwise_form(a2, x4, w, residual):
                return nn.conv(a, x, w, b, residual)
            w4 = w.reshape(*w.shape[:2], *a2["kernel_shape"])
            return _after(after, depthwise(a, a2, x4, w4, b, clip, x.ndim == 3))
        lifted = x.ndim == 3
        a2, x4 = nn._as_2d(a, x)
        n, c, h, wd = x4.shape
        m = w.shape[0]
        if a2["kernel_shape"] == [1, 1] and a2["strides"] == [1, 1] and not any(a2["pads"]):
            cols, (oh, ow) = np.ascontiguousarray(x4).reshape(n, c, h * wd), (h, wd)
        else:
            cols, (oh, ow) = columns(a2, x4)
        shape = (n, m, ow) if lifted else (n, m, oh, ow)
        y = np.empty((n, m, oh * ow), np.float32)
        r = None if residual is None else _matrix(residual, shape).reshape(n, m, oh * ow)
        weights = np.ascontiguousarray(w).reshape(m, -1)
        bias = None if b is None else np.ascontiguousarray(b).reshape(m)
        for i in range(n):
            run_gemm(weights, cols[i], y[i], bias, 0, None if r is None else r[i], *clip)
        return _after(after, y.reshape(shape))

    def gemm(a, x, w, c=None, residual=None):
        clip, after = clip_bounds(a)
        n = w.shape[0] if a["transB"] else w.shape[1]
        if (
            a["alpha"] != 1.0
            or a["beta"] != 1.0
            or not _float32(x, w, c, residual)
            or c is not None
            and (c.size != n or c.shape[-1:] != (n,))  # only a bias per column
        ):
            return nn.gemm(a, x, w, c, residual)
        x = x.T if a["transA"] else x
        bias = None if c is None else np.ascontiguousarray(c).reshape(n)
        shape = (x.shape[0], n)
        if not a["transB"]:
            y = np.empty(shape, np.float32)
            run_gemm(np.ascontiguousarray(x), w, y, bias, 1, _matrix(residual, shape), *clip)
            return _after(after, y)
        # y.T = w @ x.T keeps w as stored, (N, K) rows; with one input row x.T is already a column
        yt = np.empty(shape[::-1], np.float32)
        rt = None if residual is None else np.ascontiguousarray(np.broadcast_to(residual, shape).T)
        run_gemm(w, np.ascontiguousarray(x.T), yt, bias, 0, rt, *clip)
        return _after(after, np.ascontiguousarray(yt.T))

    def conv_grad_weight(a, x, dy):
        if a["group"] != 1 or not _float32(x, dy):
            return gradients.conv_grad_weight(a, x, dy)
        lifted = x.ndim == 3
        a2, x4 = nn._as_2d(a, x)
        dy = dy[:, :, None, :] if lifted else dy
        cols, _ = nn.im2col(a2, x4, batch_inner=True)  # (C * KH * KW, N * OH * OW)
        # gw.T = cols @ dy.T: both operands with contiguous rows, the kernel's form
        dyt = np.ascontiguousarray(gradients._batch_inner(dy).T)
        gwt = np.empty((cols.shape[0], dyt.shape[1]), np.float32)
        run_gemm(cols, dyt, gwt, None, 0, None, -math.inf, math.inf)
        return np.ascontiguousarray(gwt.T).reshape(tuple(a["shape"]))

    def matmul(a, x, w, residual=None):
        clip, after = clip_bounds(a)
        if x.ndim < 2 or w.ndim != 2 or not _float32(x, w, residual):
            return nn.matmul(a, x, w, residual)
        shape = (*x.shape[:-1], w.shape[1])
        y = np.empty(shape, np.float32)
        r = None if residual is None else _matrix(residual, shape).reshape(-1, shape[-1])
        x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        run_gemm(x2, np.ascontiguousarray(w), y.reshape(-1, shape[-1]), None, 0, r, *clip)
        return _after(after, y)

    return {"Conv": conv, "Gemm": gemm, "MatMul": matmul, "ConvGradWeight": conv_grad_weight}
