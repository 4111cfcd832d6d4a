"""Kernels of the network ops (pycore/ops/nn.py): matrix products, softmax, and convolution, pooling
and normalisation (2-d; 1-d runs as 2-d with height 1)."""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..ops.nn import resize_taps, resized_axes
from .elementwise import epilogue


def gemm(a, x, w, c=None, residual=None):
    x = x.T if a["transA"] else x
    w = w.T if a["transB"] else w
    y = x @ w
    if a["alpha"] != 1.0:
        y *= np.float32(a["alpha"])
    if c is not None:
        y += c * np.float32(a["beta"]) if a["beta"] != 1.0 else c
    return epilogue(a, y, residual)


def matmul(a, x, w, residual=None):
    return epilogue(a, np.matmul(x, w), residual)


def softmax(a, x):
    """In place on one new array: three temporaries fewer, which is most of its cost on small inputs."""
    e = x - x.max(axis=a["axis"], keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=a["axis"], keepdims=True)
    return e


def _as_2d(a, x):
    """Lifts 1-d attributes and input to 2-d so one kernel serves both."""
    if x.ndim == 4:
        return a, x
    k = dict(a)
    k["kernel_shape"] = [1, *a["kernel_shape"]]
    k["strides"] = [1, *a["strides"]]
    k["dilations"] = [1, *a.get("dilations", [1])]
    k["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
    return k, x[:, :, None, :]


def _windows(x, a, pad_value=0.0):
    """Returns (N, C, OH, OW, KH, KW) strided windows over the padded input."""
    (kh, kw), (sh, sw), (dh, dw) = a["kernel_shape"], a["strides"], a["dilations"]
    x, (oh, ow) = _padded_input(a, x, pad_value)
    s = x.strides
    shape = (x.shape[0], x.shape[1], oh, ow, kh, kw)
    return as_strided(x, shape, (s[0], s[1], s[2] * sh, s[3] * sw, s[2] * dh, s[3] * dw))


def _out(n, k, s, d, p0, p1, ceil):
    span = n + p0 + p1 - (k - 1) * d - 1
    if not ceil:
        return span // s + 1
    o = -(-span // s) + 1
    return o - 1 if (o - 1) * s >= n + p0 else o


def conv(a, x, w, b=None, residual=None):
    lifted = x.ndim == 3
    a2, x = _as_2d(a, x)
    w = w.reshape(w.shape[0], w.shape[1], *a2["kernel_shape"])
    g = a["group"]
    m, cg, kh, kw = w.shape
    n, c, h, wd = x.shape
    if (kh, kw) == (1, 1) and a2["strides"] == [1, 1] and not any(a2["pads"]):
        if g == 1:
            y = np.matmul(w.reshape(m, c), x.reshape(n, c, h * wd)).reshape(n, m, h, wd)
            return _finish(a, y, b, residual, lifted)
    if g == 1:
        cols, (oh, ow) = im2col(a2, x)
        y = np.matmul(w.reshape(m, -1), cols).reshape(n, m, oh, ow)
        return _finish(a, y, b, residual, lifted)
    win = _windows(x, a2)
    oh, ow = win.shape[2:4]
    if cg == 1 and m == g:
        y = _depthwise(win, w)
    else:
        mg = m // g
        y = np.concatenate(
            [
                np.tensordot(
                    win[:, k * cg : (k + 1) * cg], w[k * mg : (k + 1) * mg], axes=([1, 4, 5], [1, 2, 3])
                )
                for k in range(g)
            ],
            axis=3,
        ).transpose(0, 3, 1, 2)
    return _finish(a, np.ascontiguousarray(y, dtype=x.dtype), b, residual, lifted)


def im2col(a2, x, batch_inner=False):
    """(N, C * KH * KW, OH * OW) columns of the padded input, one strided copy per kernel tap (a
    2-d slice copies far faster than numpy walking a 6-d window view), and (OH, OW). With
    batch_inner, (C * KH * KW, N * OH * OW): the backward passes then make one large GEMM of the
    whole batch where the forward makes N small ones."""
    padded, (oh, ow) = _padded_input(a2, x, 0.0)
    (kh, kw), (n, c) = a2["kernel_shape"], x.shape[:2]
    if batch_inner:
        cols = np.empty((c, kh * kw, n, oh, ow), x.dtype)
        padded = padded.transpose(1, 0, 2, 3)
        for k, (rows, columns) in enumerate(taps(a2, (oh, ow))):
            cols[:, k] = padded[:, :, rows, columns]
        return cols.reshape(c * kh * kw, n * oh * ow), (oh, ow)
    cols = np.empty((n, c, kh * kw, oh, ow), x.dtype)
    for k, (rows, columns) in enumerate(taps(a2, (oh, ow))):
        cols[:, :, k] = padded[:, :, rows, columns]
    return cols.reshape(n, c * kh * kw, oh * ow), (oh, ow)


def _depthwise(win, w):
    """Accumulates one kernel tap at a time, in channel blocks of ~128 KB of output so the block and
    its scratch buffer stay in cache across all taps; out= avoids a temporary per tap."""
    n, m, oh, ow, kh, kw = win.shape
    y = np.zeros((n, m, oh, ow), win.dtype)
    step = max(1, 32768 // (oh * ow))
    tmp = np.empty((n, min(step, m), oh, ow), win.dtype)
    for c0 in range(0, m, step):
        c1 = min(m, c0 + step)
        block, scratch = y[:, c0:c1], tmp[:, : c1 - c0]
        for i in range(kh):
            for j in range(kw):
                block += np.multiply(win[:, c0:c1, :, :, i, j], w[c0:c1, 0, i, j, None, None], out=scratch)
    return y


def _finish(a, y, b, residual, lifted):
    if b is not None:  # ONNX makes B optional; the passes add one, a graph run as written may not
        y += b.reshape(1, -1, 1, 1)
    if lifted:
        y = y[:, :, 0, :]
    return epilogue(a, y, residual)


def max_pool(a, x):
    lifted = x.ndim == 3
    a2, x = _as_2d(a, x)
    y = _tap_max(a2, _padded_input(a2, x, -np.inf))
    return y[:, :, 0, :] if lifted else y


def output_size(a2, hw):
    """(OH, OW) of a 2-d window op (attributes a2) over an input of height and width hw."""
    (kh, kw), (sh, sw), (dh, dw) = a2["kernel_shape"], a2["strides"], a2["dilations"]
    pt, pl, pb, pr = a2["pads"]
    ceil = a2.get("ceil_mode")
    return _out(hw[0], kh, sh, dh, pt, pb, ceil), _out(hw[1], kw, sw, dw, pl, pr, ceil)


def _padded_input(a2, x, value):
    """x with its padding (and any ceil_mode overhang) filled with `value`."""
    (kh, kw), (sh, sw), (dh, dw) = a2["kernel_shape"], a2["strides"], a2["dilations"]
    pt, pl, pb, pr = a2["pads"]
    oh, ow = output_size(a2, x.shape[2:])
    eb = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - (x.shape[2] + pt + pb))
    er = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - (x.shape[3] + pl + pr))
    if pt or pb or pl or pr or eb or er:
        # np.full and one slice assignment: np.pad's generality costs 8x as much at these sizes
        n, c, h, w = x.shape
        padded = np.full((n, c, pt + h + pb + eb, pl + w + pr + er), value, x.dtype)
        padded[:, :, pt : pt + h, pl : pl + w] = x
        x = padded
    return x, (oh, ow)


def taps(a2, out_hw):
    """(row slice, column slice) of every kernel tap in the padded input, row by row."""
    (kh, kw), (sh, sw), (dh, dw) = a2["kernel_shape"], a2["strides"], a2["dilations"]
    oh, ow = out_hw
    for i in range(kh):
        for j in range(kw):
            yield (
                slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
                slice(j * dw, j * dw + (ow - 1) * sw + 1, sw),
            )


def _tap_max(a2, padded):
    """The max over each window, separably: over the window's rows, then over its columns, one
    np.maximum per row or column of the window on strided views. kh + kw - 2 calls where one per
    tap makes kh * kw - 1 (MNIST's 2x2 pools: 2 calls, not 4), and several times faster than
    reducing a (..., kh, kw) window view, or a (..., kh, ..., kw) reshape of a non-overlapping one."""
    x, (oh, ow) = padded
    (kh, kw), (sh, sw), (dh, dw) = a2["kernel_shape"], a2["strides"], a2["dilations"]
    rows = _max_along(x, 2, kh, sh, dh, oh)  # rows first: each view keeps contiguous row runs
    return _max_along(rows, 3, kw, sw, dw, ow)


def _max_along(x, axis, k, stride, dilation, out):
    """The max over k taps, `dilation` apart, of x's `axis`: `out` positions `stride` apart."""

    def tap(i):
        index = [slice(None)] * x.ndim
        index[axis] = slice(i * dilation, i * dilation + (out - 1) * stride + 1, stride)
        return x[tuple(index)]

    y = tap(0).copy() if k == 1 else np.maximum(tap(0), tap(1))
    for i in range(2, k):
        np.maximum(y, tap(i), out=y)
    return y


def average_pool(a, x):
    lifted = x.ndim == 3
    a2, x = _as_2d(a, x)
    win = _windows(x, a2)
    total = win.sum(axis=(4, 5), dtype=np.promote_types(x.dtype, np.float32))  # float16 rounds once
    y = (total / pool_count(a, a2, x.shape, total.shape[2:])).astype(x.dtype, copy=False)
    return y[:, :, 0, :] if lifted else y


def pool_count(a, a2, shape, out_hw):
    """How many cells each average-pool window divides by: input cells, plus explicit padding
    where count_include_pad says so (the ceil_mode overhang never counts)."""
    ones = np.ones((1, 1, *shape[2:]), np.float32)
    pt, pl, pb, pr = a2["pads"]
    if a["count_include_pad"]:
        ones = np.pad(ones, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=1.0)
        a2 = {**a2, "pads": [0, 0, 0, 0]}
    count = _windows(ones, {**a2, "dilations": a2.get("dilations") or [1, 1]})
    # with the padding moved into `ones`, ceil_mode may keep a last window that starts in the end
    # padding, which the real output drops; the windows before it are the same
    return count.sum(axis=(4, 5))[:, :, : out_hw[0], : out_hw[1]]


def global_average_pool(a, x):
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=x.dtype)


def global_max_pool(a, x):
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


def batch_norm(a, x, scale, bias, mean, var):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    k = scale / np.sqrt(var + a["epsilon"])
    return (x * k.reshape(shape) + (bias - mean * k).reshape(shape)).astype(x.dtype, copy=False)


def batch_norm_stats(a, x):
    """(2, C): each channel's mean and biased variance, two passes (no E[x^2] - E[x]^2 cancellation)."""
    axes = (0, *range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = (x - mean).reshape(x.shape[0], x.shape[1], -1)
    var = np.einsum("ncp,ncp->c", centered, centered) / (x.size // x.shape[1])
    return np.stack([mean.reshape(-1), var.astype(x.dtype)])


def lrn(a, x):
    size = a["size"]
    sq = np.pad(x * x, ((0, 0), ((size - 1) // 2, size // 2)) + ((0, 0),) * (x.ndim - 2))
    s = sum(sq[:, i : i + x.shape[1]] for i in range(size))
    return x / (a["bias"] + a["alpha"] / size * s) ** a["beta"]


def layer_norm(a, x, scale=None, bias=None):
    """Two passes over each row (no E[x^2] - E[x]^2 cancellation), as batch_norm_stats."""
    axes = tuple(range(a["axis"], x.ndim))
    d = x - x.mean(axis=axes, keepdims=True)
    y = d / np.sqrt(np.mean(d * d, axis=axes, keepdims=True) + a["epsilon"])
    if scale is not None:
        y *= scale
    if bias is not None:
        y += bias
    return y.astype(x.dtype, copy=False)


def resize(a, x):
    """One axis at a time (nearest and linear are separable), from pycore.ops.nn.resize_taps."""
    for axis in resized_axes(a, x.shape):
        first, second, w = resize_taps(a, axis, x.shape[axis], a["sizes"][axis])
        lo = np.take(x, first, axis)
        if a["mode"] == "linear":
            w = w.reshape([-1 if d == axis else 1 for d in range(x.ndim)]).astype(x.dtype)
            lo = lo * (1 - w) + np.take(x, second, axis) * w
        x = lo
    return np.array(x)  # a new array even where no axis changed


def _in_float32(kernel):
    """float16 products accumulate in float32 and round once at the end, as half-precision hardware
    does (and ONNX's references): numpy sums float16 in float16, losing a bit per addition."""

    def run(a, x, *rest):
        if x.dtype != np.float16:
            return kernel(a, x, *rest)
        wide = [None if t is None else t.astype(np.float32) for t in (x, *rest)]
        return kernel(a, *wide).astype(np.float16)

    return run


KERNELS = {
    "Gemm": _in_float32(gemm),
    "Resize": resize,
    "LayerNormalization": layer_norm,
    "MatMul": _in_float32(matmul),
    "Softmax": softmax,
    "Conv": _in_float32(conv),
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "GlobalAveragePool": global_average_pool,
    "GlobalMaxPool": global_max_pool,
    "BatchNormalization": batch_norm,
    "BatchNormStats": batch_norm_stats,
    "LRN": lrn,
}
