"""Records of the network ops: convolution, pooling, matrix products, normalisation, softmax, and
the backward kernels of the windowed ops (their gradient rules emit ConvGradInput and friends)."""

import math

import numpy as np

from ..errors import GraphError, PycoreError
from . import broadcast, op, same, unbroadcast


def window(a, x, w_spatial, kind):
    """Resolves strides/pads/dilations for conv and pooling; returns output spatial dims."""
    k = list(w_spatial)
    nd = len(k)
    a["kernel_shape"] = k
    a["strides"] = list(a["strides"] or [1] * nd)
    a["dilations"] = list(a.get("dilations") or [1] * nd)
    spatial = x[2:]
    if len(spatial) != nd:
        raise ValueError(f"{nd}-d kernel on {len(spatial)}-d input")
    auto = a.pop("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * nd)
        for i, (n, s, d) in enumerate(zip(spatial, a["strides"], a["dilations"])):
            total = max(0, (math.ceil(n / s) - 1) * s + (k[i] - 1) * d + 1 - n)
            small, big = total // 2, total - total // 2
            pads[i], pads[i + nd] = (small, big) if auto == "SAME_UPPER" else (big, small)
        a["pads"] = pads
    elif auto == "VALID":
        a["pads"] = [0] * (2 * nd)
    elif auto != "NOTSET":
        raise GraphError(f"auto_pad {auto!r} is not supported")
    a["pads"] = list(a["pads"] or [0] * (2 * nd))
    out = []
    for i, n in enumerate(spatial):
        span = n + a["pads"][i] + a["pads"][i + nd] - (k[i] - 1) * a["dilations"][i] - 1
        if a.get("ceil_mode"):
            o = -(-span // a["strides"][i]) + 1
            if (o - 1) * a["strides"][i] >= n + a["pads"][i]:
                o -= 1
        else:
            o = span // a["strides"][i] + 1
        if o < 1:
            raise ValueError(f"{kind} window larger than the padded input")
        out.append(o)
    return out


CONV_ATTRS = dict(strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET", kernel_shape=None)


def _conv_grad(a, inputs, out, g):
    x, w, *b = inputs
    conv = {k: a[k] for k in ("strides", "pads", "dilations", "group", "kernel_shape")}
    return [
        g._op("ConvGradInput", w, shape=list(x.shape), **conv) if x.requires_grad else None,
        x._op("ConvGradWeight", g, shape=list(w.shape), **conv) if w.requires_grad else None,
        *([g.sum([0, *range(2, g.ndim)])] if b else []),
    ]


@op("Conv", CONV_ATTRS, grad=_conv_grad, floats=1, epilogue=3, weight=lambda a: 0)
def conv(a, x, w, b=None, residual=None):
    if x[1] != w[1] * a["group"] or w[0] % a["group"]:
        raise ValueError(f"{x[1]} input channels, weight {w}, group {a['group']}")
    return (x[0], w[0], *window(a, x, w[2:], "conv"))


def _pool(a, x):
    return (x[0], x[1], *window(a, x, a["kernel_shape"], "pool"))


def _pool_grad(grad_op):
    def grads(a, inputs, out, g):
        return [inputs[0]._op(grad_op, g, **a)]

    return grads


WINDOW_ATTRS = dict(
    kernel_shape=None, strides=None, pads=None, dilations=None, ceil_mode=0, auto_pad="NOTSET"
)
MAX_POOL_ATTRS = dict(WINDOW_ATTRS, storage_order=0)
AVERAGE_POOL_ATTRS = dict(WINDOW_ATTRS, count_include_pad=0)
op("MaxPool", MAX_POOL_ATTRS, grad=_pool_grad("MaxPoolGrad"), floats=1)(_pool)
op("AveragePool", AVERAGE_POOL_ATTRS, grad=_pool_grad("AveragePoolGrad"), floats=1)(_pool)


def _global_pool(a, x):
    return (x[0], x[1]) + (1,) * (len(x) - 2)


op("GlobalAveragePool", floats=1)(_global_pool)
op("GlobalMaxPool")(_global_pool)


def _gemm_grad(a, inputs, out, g):
    """Y = X W^T + C (as F.linear writes it: alpha = beta = 1, transA = 0)."""
    if a["alpha"] != 1 or a["beta"] != 1 or a["transA"]:
        raise PycoreError("the gradient of Gemm is written for alpha = beta = 1 and transA = 0")
    x, w, *c = inputs
    gx = g @ w if a["transB"] else g @ w.T
    gw = g.T @ x if a["transB"] else x.T @ g
    return [gx, gw, *([unbroadcast(g, c[0].shape)] if c else [])]


@op(
    "Gemm",
    dict(alpha=1.0, beta=1.0, transA=0, transB=0),
    grad=_gemm_grad,
    epilogue=3,
    weight=lambda a: 0 if a["transB"] else 1,
)
def _gemm(a, x, w, c=None, residual=None):
    m = x[1] if a["transA"] else x[0]
    k = x[0] if a["transA"] else x[1]
    kw, n = (w[1], w[0]) if a["transB"] else (w[0], w[1])
    if k != kw:
        raise ValueError(f"inner dimensions {k} and {kw} differ")
    if c is not None:
        broadcast(c, (m, n))
    return (m, n)


def _matmul_grad(a, inputs, out, g):
    x, w = inputs[:2]
    return [
        unbroadcast(g @ w.transpose(-1, -2), x.shape) if x.requires_grad else None,
        unbroadcast(x.transpose(-1, -2) @ g, w.shape) if w.requires_grad else None,
    ]


@op("MatMul", grad=_matmul_grad, epilogue=2, weight=lambda a: -1)
def _matmul(a, x, w, residual=None):
    if len(x) == 1 or len(w) == 1:
        raise ValueError("1-d MatMul operands are not supported")
    if x[-1] != w[-2]:
        raise ValueError(f"inner dimensions {x[-1]} and {w[-2]} differ")
    return (*broadcast(x[:-2], w[:-2]), x[-2], w[-1])


def _channels(x):
    """The shape that broadcasts a per-channel vector against x (N, C, ...)."""
    return [1, x.shape[1]] + [1] * (x.ndim - 2)


def _batch_norm_grad(a, inputs, out, g):
    """y = (x - mean) * k + bias with k = scale / sqrt(var + eps), per channel. In evaluation mean and
    var are fixed; in training they are BatchNormStats of x and get gradients of their own, which
    that op's rule carries on to x."""
    x, scale, bias, mean, var = inputs
    shape, axes = _channels(x), [0, *range(2, x.ndim)]
    inv = 1 / (var + a["epsilon"]).sqrt()
    k = scale * inv
    sum_g = g.sum(axes)
    # sum of g * (x - mean) per channel, which scale's and var's gradients share
    sum_gc = (g * (x - mean.reshape(shape))).sum(axes) if scale.requires_grad or var.requires_grad else None
    return [
        g * k.reshape(shape) if x.requires_grad else None,
        sum_gc * inv if scale.requires_grad else None,
        sum_g if bias.requires_grad else None,
        -k * sum_g if mean.requires_grad else None,
        sum_gc * scale * inv**3 * -0.5 if var.requires_grad else None,
    ]


op("BatchNormalization", dict(epsilon=1e-5, momentum=0.9), grad=_batch_norm_grad)(same)


def _batch_norm_stats_grad(a, inputs, out, g):
    """stats = [mean; var] over every dim but channels: dmean/dx = 1/n, dvar/dx = 2 (x - mean) / n,
    applied as one per-channel x * k + c."""
    x = inputs[0]
    shape, n = _channels(x), x.numel() // x.shape[1]
    mean, g_mean, g_var = out[0], g[0], g[1]
    k = g_var * (2 / n)
    return [x * k.reshape(shape) + (g_mean / n - mean * k).reshape(shape)]


@op("BatchNormStats", grad=_batch_norm_stats_grad, floats=1)
def _batch_norm_stats(a, x):
    """(2, C): the batch's per-channel mean and biased variance, for batch norm in training."""
    if len(x) < 2:
        raise ValueError("needs (N, C, ...)")
    return (2, x[1])


op("LRN", dict(size=None, alpha=1e-4, beta=0.75, bias=1.0))(same)


def _layer_norm_grad(a, inputs, out, g):
    """y = xhat * scale + bias, xhat = (x - mean) * inv over the trailing axes: the gradient of
    xhat's normalisation is inv * (h - mean(h) - xhat * mean(h * xhat)) for h = dL/dxhat."""
    x, scale, bias = [*inputs, None, None][:3]
    axes, lead = list(range(a["axis"], x.ndim)), list(range(a["axis"]))
    d = x - x.mean(axes, keepdim=True)
    inv = 1 / ((d * d).mean(axes, keepdim=True) + a["epsilon"]).sqrt()
    xhat = d * inv
    h = g * scale if scale is not None else g
    gx = inv * (h - h.mean(axes, keepdim=True) - xhat * (h * xhat).mean(axes, keepdim=True))
    return [
        gx if x.requires_grad else None,
        *([(g * xhat).sum(lead) if scale.requires_grad else None] if scale is not None else []),
        *([g.sum(lead) if bias.requires_grad else None] if bias is not None else []),
    ]


@op("LayerNormalization", dict(axis=-1, epsilon=1e-5), grad=_layer_norm_grad, floats=1)
def _layer_norm(a, x, scale=None, bias=None):
    """https://onnx.ai/onnx/operators/onnx__LayerNormalization.html: normalises over the axes from
    `axis` on; scale and bias (both optional here) have exactly the shape of those axes."""
    if not -len(x) <= a["axis"] < len(x):
        raise ValueError(f"axis {a['axis']} for rank {len(x)}")
    a["axis"] %= len(x)
    for name, t in (("scale", scale), ("bias", bias)):
        if t is not None and tuple(t) != tuple(x[a["axis"] :]):
            raise ValueError(f"{name} {list(t)} is not the normalised shape {list(x[a['axis'] :])}")
    return x


def _softmax_grad(a, inputs, out, g):
    return [out * (g - (g * out).sum(a["axis"], keepdim=True))]


@op("Softmax", dict(axis=-1), grad=_softmax_grad)
def _softmax(a, x):
    if not -len(x) <= a["axis"] < len(x):
        raise ValueError(f"axis {a['axis']} for rank {len(x)}")
    a["axis"] %= len(x)
    return x


RESIZE_MODES = ("nearest", "linear")
COORDINATES = ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric")
NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
RESIZE_ATTRS = dict(
    sizes=None,
    scales=None,
    mode="nearest",
    coordinate_transformation_mode="half_pixel",
    nearest_mode="round_prefer_floor",
)


@op("Resize", RESIZE_ATTRS)
def _resize(a, x):
    """https://onnx.ai/onnx/operators/onnx__Resize.html, nearest and linear: `sizes` is the output
    shape, `scales` the factor per axis that the coordinate transformation divides by (the given
    one, or sizes / input when the model gave sizes)."""
    for name, allowed in (("mode", RESIZE_MODES), ("coordinate_transformation_mode", COORDINATES)):
        if a[name] not in allowed:
            raise GraphError(f"Resize {name}={a[name]!r} is not supported (one of {', '.join(allowed)})")
    if a["mode"] == "nearest" and a["nearest_mode"] not in NEAREST:
        raise GraphError(
            f"Resize nearest_mode={a['nearest_mode']!r} is not supported (one of {', '.join(NEAREST)})"
        )
    a["sizes"], a["scales"] = [int(d) for d in a["sizes"]], [float(f) for f in a["scales"]]
    if len(a["sizes"]) != len(x) or len(a["scales"]) != len(x):
        raise ValueError(f"sizes {a['sizes']} and scales {a['scales']} for rank {len(x)}")
    if min(a["sizes"], default=0) < 0 or min(a["scales"], default=1) <= 0:
        raise ValueError(f"sizes {a['sizes']} and scales {a['scales']} must be positive")
    if any(n == 0 < m for n, m in zip(x, a["sizes"])):
        raise ValueError(f"an empty axis of {list(x)} cannot be resized to {a['sizes']}")
    return tuple(a["sizes"])


def resize_taps(a, axis, n, m):
    """Resize's two taps along `axis` for each of its m outputs from n inputs: (first index, second
    index, weight of the second), in float64. Both paths interpolate from these arrays (the WebGPU
    planner uploads them), so their results agree to the last rounding of the mix."""
    s, j = a["scales"][axis], np.arange(m, dtype=np.float64)
    mode = a["coordinate_transformation_mode"]
    if mode == "align_corners":  # the spec's length_resized, as onnxruntime: m, not s * n
        x = np.zeros(m) if m == 1 else j * (n - 1) / (m - 1)
    elif mode == "asymmetric":
        x = j / s
    elif mode == "pytorch_half_pixel":
        x = np.zeros(m) if m == 1 else (j + 0.5) / s - 0.5
    elif mode == "half_pixel":
        x = (j + 0.5) / s - 0.5
    else:  # half_pixel_symmetric: half_pixel about the centre, where m differs from s * n
        x = n / 2 * (1 - m / (s * n)) + (j + 0.5) / s - 0.5
    lo = np.floor(x)
    frac = x - lo
    if a["mode"] == "nearest":
        up = {
            "round_prefer_floor": frac > 0.5,
            "round_prefer_ceil": frac >= 0.5,
            "floor": np.zeros(m, bool),
            "ceil": frac > 0,
        }
        i = np.clip(lo + up[a["nearest_mode"]], 0, n - 1).astype(np.intp)  # np.take wants intp (wasm32)
        return i, i, np.zeros(m)
    return np.clip(lo, 0, n - 1).astype(np.intp), np.clip(lo + 1, 0, n - 1).astype(np.intp), frac


def resized_axes(a, shape):
    """The axes a Resize changes (an axis kept at its size with scale 1 maps onto itself)."""
    return [d for d, n in enumerate(shape) if not (a["sizes"][d] == n and a["scales"][d] == 1)]


# ---- backward kernels (no gradients of their own: pycore has no second derivatives) ----


@op("ConvGradInput", dict(shape=None, **CONV_ATTRS))
def _conv_grad_input(a, dy, w):
    """d(Conv(x, w))/dx applied to dy: the shape of x is an attribute (strides lose it)."""
    x = tuple(a["shape"])
    if conv(a, x, w) != tuple(dy):
        raise ValueError(f"gradient {dy} does not fit Conv of {x} with weight {w}")
    return x


@op("ConvGradWeight", dict(shape=None, **CONV_ATTRS))
def _conv_grad_weight(a, x, dy):
    w = tuple(a["shape"])
    if conv(a, x, w) != tuple(dy):
        raise ValueError(f"gradient {dy} does not fit Conv of {x} with weight {w}")
    return w


def _window_grad(a, x, dy):
    if _pool(a, x) != tuple(dy):
        raise ValueError(f"gradient {dy} does not fit pooling {x}")
    return x


op("MaxPoolGrad", MAX_POOL_ATTRS)(_window_grad)
op("AveragePoolGrad", AVERAGE_POOL_ATTRS)(_window_grad)
