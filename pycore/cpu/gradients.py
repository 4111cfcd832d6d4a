"""Backward kernels of the windowed ops (convolution and pooling), which no composition of other
ops expresses cheaply. Each scatters one kernel tap at a time into the padded input's gradient."""

import numpy as np

from .nn import _as_2d, _padded_input, _tap_max, _windows, im2col, pool_count, taps


def _unpad(a2, gx, shape, lifted):
    pt, pl = a2["pads"][0], a2["pads"][1]
    gx = gx[:, :, pt : pt + shape[2], pl : pl + shape[3]]
    return np.ascontiguousarray(gx[:, :, 0, :] if lifted else gx)


def _padded(a2, shape, out_hw, dtype):
    """A zero gradient for the input with its padding (and ceil_mode overhang) around it."""
    (kh, kw), (sh, sw), (dh, dw) = a2["kernel_shape"], a2["strides"], a2["dilations"]
    rows = max(shape[2] + a2["pads"][0] + a2["pads"][2], (out_hw[0] - 1) * sh + (kh - 1) * dh + 1)
    cols = max(shape[3] + a2["pads"][1] + a2["pads"][3], (out_hw[1] - 1) * sw + (kw - 1) * dw + 1)
    return np.zeros((shape[0], shape[1], rows, cols), dtype)


def _batch_inner(dy):
    """(N, M, OH, OW) as the (M, N * OH * OW) matrix of a whole-batch GEMM."""
    return dy.transpose(1, 0, 2, 3).reshape(dy.shape[1], -1)


def conv_grad_input(a, dy, w):
    lifted = dy.ndim == 3
    shape = tuple(a["shape"])
    a2, dy = _as_2d(a, dy)
    shape = shape if not lifted else (shape[0], shape[1], 1, shape[2])
    w = w.reshape(w.shape[0], w.shape[1], *a2["kernel_shape"])
    g, (m, cg) = a["group"], w.shape[:2]
    gx = _padded(a2, shape, dy.shape[2:], dy.dtype)
    if g == 1:  # one GEMM of the batch to columns, then each tap's column added back where it was read
        n, (oh, ow) = shape[0], dy.shape[2:]
        dcols = w.reshape(m, -1).T @ _batch_inner(dy)
        dcols = dcols.reshape(cg, -1, n, oh, ow)
        by_channel = gx.transpose(1, 0, 2, 3)
        for k, (rows, cols) in enumerate(taps(a2, (oh, ow))):
            by_channel[:, :, rows, cols] += dcols[:, k]
        return _unpad(a2, gx, shape, lifted)
    dyg = dy.reshape(dy.shape[0], g, m // g, *dy.shape[2:])
    wg = w.reshape(g, m // g, cg, *w.shape[2:])
    kw = a2["kernel_shape"][1]
    for k, (rows, cols) in enumerate(taps(a2, dy.shape[2:])):
        # (n, g, m/g, oh, ow) x (g, m/g, cg) -> (n, g, cg, oh, ow)
        tap = np.einsum("ngmhw,gmc->ngchw", dyg, wg[..., k // kw, k % kw], optimize=True)
        gx[:, :, rows, cols] += tap.reshape(shape[0], g * cg, *dy.shape[2:])
    return _unpad(a2, gx, shape, lifted)


def conv_grad_weight(a, x, dy):
    lifted = x.ndim == 3
    a2, x = _as_2d(a, x)
    dy = dy[:, :, None, :] if lifted else dy
    g = a["group"]
    if g == 1:
        cols, _ = im2col(a2, x, batch_inner=True)
        gw = _batch_inner(dy) @ cols.T
        return np.ascontiguousarray(gw.reshape(tuple(a["shape"])), dtype=x.dtype)
    win = _windows(x, a2)  # (n, c, oh, ow, kh, kw)
    n, c = x.shape[:2]
    m = dy.shape[1]
    wing = win.reshape(n, g, c // g, *win.shape[2:])
    dyg = dy.reshape(n, g, m // g, *dy.shape[2:])
    gw = np.einsum("ngmhw,ngchwij->gmcij", dyg, wing, optimize=True)
    return np.ascontiguousarray(gw.reshape(tuple(a["shape"])), dtype=x.dtype)


def max_pool_grad(a, x, dy):
    """Each window's gradient goes to the first of its maxima (in row-major tap order, as in PyTorch)."""
    lifted = x.ndim == 3
    a2, x = _as_2d(a, x)
    dy = dy[:, :, None, :] if lifted else dy
    padded, out_hw = _padded_input(a2, x, -np.inf)
    y = _tap_max(a2, (padded, out_hw))
    gx = np.zeros(padded.shape, dy.dtype)
    free = np.ones(y.shape, bool)  # windows whose maximum no earlier tap has taken
    for rows, cols in taps(a2, out_hw):
        hit = np.equal(padded[:, :, rows, cols], y)
        hit &= free
        free ^= hit
        gx[:, :, rows, cols] += dy * hit  # a product, not np.where: numpy's where is slow on masks
    return _unpad(a2, gx, x.shape, lifted)


def average_pool_grad(a, x, dy):
    lifted = x.ndim == 3
    a2, x = _as_2d(a, x)
    dy = dy[:, :, None, :] if lifted else dy
    share = dy / pool_count(a, a2, x.shape, dy.shape[2:]).astype(dy.dtype)
    gx = _padded(a2, x.shape, dy.shape[2:], dy.dtype)
    for rows, cols in taps(a2, dy.shape[2:]):
        gx[:, :, rows, cols] += share
    return _unpad(a2, gx, x.shape, lifted)


KERNELS = {
    "ConvGradInput": conv_grad_input,
    "ConvGradWeight": conv_grad_weight,
    "MaxPoolGrad": max_pool_grad,
    "AveragePoolGrad": average_pool_grad,
}
