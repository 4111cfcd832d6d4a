"""A deliberately naive reference for the ops of the CPU path, written apart from pycore/cpu.

Everything here is a loop over output positions (and, inside, over kernel taps) with the index
arithmetic spelled out: no padding copies, no stride tricks, no im2col, no tensordot. It is slow on
purpose and meant for small shapes; a mistake in pycore's vectorised kernels cannot repeat here.
Arithmetic is float64; results come back as float32. Semantics: https://onnx.ai/onnx/operators/.
"""

import itertools
import math

import numpy as np

ALL = slice(None)


def _f64(x):
    return np.asarray(x, dtype=np.float64)


# --- windows (Conv, MaxPool, AveragePool) -------------------------------------------------------


def out_size(n, k, s, d, pad_begin, pad_end, ceil_mode=False):
    """Number of window positions along one axis."""
    reach = (k - 1) * d + 1
    room = n + pad_begin + pad_end - reach
    if room < 0:
        raise ValueError("window larger than the padded input")
    if not ceil_mode:
        return room // s + 1
    count = room // s + 1 + (1 if room % s else 0)
    # a last window that would start inside the end padding is dropped (PyTorch, onnxruntime)
    while count > 1 and (count - 1) * s >= n + pad_begin:
        count -= 1
    return count


def same_pads(spatial, kernel, strides, dilations, mode):
    """auto_pad SAME_UPPER / SAME_LOWER as explicit [begin..., end...] pads.

    The output keeps ceil(n / s) positions; an odd total pad puts its extra cell at the end for
    SAME_UPPER (TensorFlow's SAME) and at the beginning for SAME_LOWER.
    """
    begins, ends = [], []
    for n, k, s, d in zip(spatial, kernel, strides, dilations):
        want = -(-n // s)
        total = 0
        while (n + total - ((k - 1) * d + 1)) // s + 1 < want:
            total += 1
        half, extra = divmod(total, 2)
        begins.append(half if mode == "SAME_UPPER" else half + extra)
        ends.append(half + extra if mode == "SAME_UPPER" else half)
    return begins + ends


def _defaults(nd, strides, pads, dilations):
    return (
        list(strides or [1] * nd),
        list(pads or [0] * (2 * nd)),
        list(dilations or [1] * nd),
    )


def _source(opos, tap, strides, pads, dilations):
    """Input coordinate read by kernel tap `tap` of the window at output position `opos`."""
    return tuple(o * s - p + t * d for o, s, p, t, d in zip(opos, strides, pads, tap, dilations))


def _inside(src, spatial):
    return all(0 <= i < n for i, n in zip(src, spatial))


def conv(x, w, b=None, strides=None, pads=None, dilations=None, group=1):
    """ONNX Conv (any number of spatial dims): y[n, m, o] = sum over c, taps of x * w, + b."""
    x, w = _f64(x), _f64(w)
    n, c, *spatial = x.shape
    m, cg, *kernel = w.shape
    nd = len(kernel)
    assert c == cg * group and m % group == 0
    strides, pads, dilations = _defaults(nd, strides, pads, dilations)
    outs = [
        out_size(spatial[i], kernel[i], strides[i], dilations[i], pads[i], pads[i + nd]) for i in range(nd)
    ]
    mg = m // group
    y = np.zeros((n, m, *outs))
    for opos in itertools.product(*[range(o) for o in outs]):
        for tap in itertools.product(*[range(k) for k in kernel]):
            src = _source(opos, tap, strides, pads, dilations)
            if not _inside(src, spatial):
                continue  # zero padding contributes nothing
            xv = x[(ALL, ALL, *src)]  # (n, c)
            wv = w[(ALL, ALL, *tap)]  # (m, cg)
            for g in range(group):  # output channels of group g read input channels of group g
                ins, outs_g = slice(g * cg, (g + 1) * cg), slice(g * mg, (g + 1) * mg)
                y[(ALL, outs_g, *opos)] += xv[:, ins] @ wv[outs_g].T
    if b is not None:
        y += _f64(b).reshape(1, m, *[1] * nd)
    return y.astype(np.float32)


def max_pool(x, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=0):
    """ONNX MaxPool: the largest input value each window covers; padding never wins."""
    x = _f64(x)
    n, c, *spatial = x.shape
    nd = len(kernel_shape)
    strides, pads, dilations = _defaults(nd, strides, pads, dilations)
    outs = [
        out_size(spatial[i], kernel_shape[i], strides[i], dilations[i], pads[i], pads[i + nd], ceil_mode)
        for i in range(nd)
    ]
    y = np.full((n, c, *outs), -np.inf)
    for opos in itertools.product(*[range(o) for o in outs]):
        for tap in itertools.product(*[range(k) for k in kernel_shape]):
            src = _source(opos, tap, strides, pads, dilations)
            if _inside(src, spatial):
                y[(ALL, ALL, *opos)] = np.maximum(y[(ALL, ALL, *opos)], x[(ALL, ALL, *src)])
    return y.astype(np.float32)


def average_pool(x, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=0, count_include_pad=0):
    """ONNX AveragePool. The divisor counts the taps inside the input, plus (count_include_pad)
    those inside the explicit padding; taps past the padding (ceil_mode overhang) never count."""
    x = _f64(x)
    n, c, *spatial = x.shape
    nd = len(kernel_shape)
    strides, pads, dilations = _defaults(nd, strides, pads, dilations)
    outs = [
        out_size(spatial[i], kernel_shape[i], strides[i], dilations[i], pads[i], pads[i + nd], ceil_mode)
        for i in range(nd)
    ]
    y = np.zeros((n, c, *outs))
    for opos in itertools.product(*[range(o) for o in outs]):
        total, count = np.zeros((n, c)), 0
        for tap in itertools.product(*[range(k) for k in kernel_shape]):
            src = _source(opos, tap, strides, pads, dilations)
            if _inside(src, spatial):
                total += x[(ALL, ALL, *src)]
                count += 1
            elif count_include_pad and all(-pads[i] <= src[i] < spatial[i] + pads[i + nd] for i in range(nd)):
                count += 1
        y[(ALL, ALL, *opos)] = total / count
    return y.astype(np.float32)


def global_average_pool(x):
    x = _f64(x)
    n, c = x.shape[:2]
    y = np.zeros((n, c) + (1,) * (x.ndim - 2))
    for i in range(n):
        for j in range(c):
            vals = x[i, j].ravel()
            y[(i, j) + (0,) * (x.ndim - 2)] = sum(vals) / len(vals)
    return y.astype(np.float32)


def global_max_pool(x):
    x = _f64(x)
    n, c = x.shape[:2]
    y = np.zeros((n, c) + (1,) * (x.ndim - 2))
    for i in range(n):
        for j in range(c):
            y[(i, j) + (0,) * (x.ndim - 2)] = max(x[i, j].ravel())
    return y.astype(np.float32)


# --- matrix products ---------------------------------------------------------------------------


def gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    """ONNX Gemm: alpha * A' @ B' + beta * C, with C broadcast to (M, N)."""
    a, b = _f64(a), _f64(b)
    a_at = (lambda i, t: a[t, i]) if transA else (lambda i, t: a[i, t])
    b_at = (lambda t, j: b[j, t]) if transB else (lambda t, j: b[t, j])
    m, k = a.shape[::-1] if transA else a.shape
    n = b.shape[0] if transB else b.shape[1]
    y = np.zeros((m, n))
    cc = None if c is None else np.broadcast_to(_f64(c), (m, n))
    for i in range(m):
        for j in range(n):
            y[i, j] = alpha * sum(a_at(i, t) * b_at(t, j) for t in range(k))
            if cc is not None:
                y[i, j] += beta * cc[i, j]
    return y.astype(np.float32)


def _broadcast_shape(*shapes):
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for dims in zip(*padded):
        big = max(dims)
        assert all(d in (1, big) for d in dims), shapes
        out.append(big)
    return tuple(out)


def _pick(shape, index):
    """The element of a tensor of `shape` that broadcasting maps output `index` onto."""
    index = index[len(index) - len(shape) :]
    return tuple(0 if d == 1 else i for d, i in zip(shape, index))


def matmul(a, b):
    """ONNX MatMul for rank >= 2 operands whose batch dimensions broadcast."""
    a, b = _f64(a), _f64(b)
    batch = _broadcast_shape(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    y = np.zeros((*batch, m, n))
    for idx in itertools.product(*[range(d) for d in batch]):
        am = a[_pick(a.shape[:-2], idx)]
        bm = b[_pick(b.shape[:-2], idx)]
        for i in range(m):
            for j in range(n):
                y[(*idx, i, j)] = sum(am[i, t] * bm[t, j] for t in range(k))
    return y.astype(np.float32)


# --- normalisation and softmax -----------------------------------------------------------------


def softmax(x, axis=-1):
    x = _f64(x)
    axis %= x.ndim
    y = np.zeros_like(x)
    rest = [range(d) if i != axis else [ALL] for i, d in enumerate(x.shape)]
    for idx in itertools.product(*rest):
        row = x[idx]
        top = max(row)
        e = [math.exp(v - top) for v in row]
        s = sum(e)
        y[idx] = [v / s for v in e]
    return y.astype(np.float32)


def lrn(x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """ONNX LRN: each channel divided by a power of the sum of squares of its neighbours."""
    x = _f64(x)
    channels = x.shape[1]
    lo, hi = (size - 1) // 2, math.ceil((size - 1) / 2)
    y = np.zeros_like(x)
    for ch in range(channels):
        sq = np.zeros_like(x[:, ch])
        for other in range(max(0, ch - lo), min(channels - 1, ch + hi) + 1):
            sq += x[:, other] ** 2
        y[:, ch] = x[:, ch] / (bias + alpha / size * sq) ** beta
    return y.astype(np.float32)


def batch_norm(x, scale, bias, mean, var, epsilon=1e-5):
    x = _f64(x)
    y = np.zeros_like(x)
    for ch in range(x.shape[1]):
        y[:, ch] = (x[:, ch] - mean[ch]) / math.sqrt(var[ch] + epsilon) * scale[ch] + bias[ch]
    return y.astype(np.float32)


def layer_norm(x, axis, scale=None, bias=None, epsilon=1e-5):
    """Each row of the trailing axes from `axis` on, one value at a time."""
    x = _f64(x)
    rows = x.reshape(math.prod(x.shape[:axis]), -1)
    flat_scale = None if scale is None else _f64(scale).reshape(-1)
    flat_bias = None if bias is None else _f64(bias).reshape(-1)
    y = np.zeros_like(rows)
    for r, row in enumerate(rows):
        mean = sum(row) / len(row)
        inv = 1 / math.sqrt(sum((v - mean) ** 2 for v in row) / len(row) + epsilon)
        for i, v in enumerate(row):
            y[r, i] = (v - mean) * inv
            y[r, i] *= 1.0 if flat_scale is None else flat_scale[i]
            y[r, i] += 0.0 if flat_bias is None else flat_bias[i]
    return y.reshape(x.shape).astype(np.float32)


# --- layout ------------------------------------------------------------------------------------


def pad(x, pads, mode="constant", value=0.0):
    """ONNX Pad by mapping every output coordinate back to the input (or to `value`)."""
    x = np.asarray(x)
    r = x.ndim
    shape = [x.shape[i] + pads[i] + pads[i + r] for i in range(r)]
    y = np.zeros(shape, x.dtype)
    for idx in itertools.product(*[range(d) for d in shape]):
        src = []
        for i, o in enumerate(idx):
            j, n = o - pads[i], x.shape[i]
            if mode == "edge":
                j = min(max(j, 0), n - 1)
            elif mode == "reflect":  # mirror without repeating the edge cell
                while j < 0 or j >= n:
                    j = -j if j < 0 else 2 * (n - 1) - j
            src.append(j)
        inside = all(0 <= j < n for j, n in zip(src, x.shape))
        y[idx] = x[tuple(src)] if inside else value
    return y


def concat(xs, axis):
    xs = [np.asarray(x) for x in xs]
    axis %= xs[0].ndim
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    y = np.zeros(shape, xs[0].dtype)
    start = 0
    for x in xs:
        for idx in np.ndindex(*x.shape):
            dst = list(idx)
            dst[axis] += start
            y[tuple(dst)] = x[idx]
        start += x.shape[axis]
    return y


def transpose(x, perm=None):
    x = np.asarray(x)
    perm = list(perm) if perm is not None else list(range(x.ndim))[::-1]
    y = np.zeros([x.shape[p] for p in perm], x.dtype)
    for idx in np.ndindex(*y.shape):
        src = [0] * x.ndim
        for out_axis, in_axis in enumerate(perm):
            src[in_axis] = idx[out_axis]
        y[idx] = x[tuple(src)]
    return y


def _row_major(x):
    """The elements of x in C order, as a Python list."""
    return [x[idx] for idx in np.ndindex(*x.shape)]


def _fill(values, shape, dtype):
    y = np.zeros(shape, dtype)
    for v, idx in zip(values, np.ndindex(*shape), strict=True):
        y[idx] = v
    return y


def reshape(x, shape):
    """ONNX Reshape: 0 copies the input's dimension, one -1 takes what is left."""
    x = np.asarray(x)
    shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        shape[shape.index(-1)] = x.size // known
    return _fill(_row_major(x), shape, x.dtype)


def flatten(x, axis=1):
    x = np.asarray(x)
    if axis < 0:
        axis += x.ndim
    shape = (math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))
    return _fill(_row_major(x), shape, x.dtype)


# --- elementwise -------------------------------------------------------------------------------

BINARY = {
    "Add": lambda p, q: p + q,
    "Sub": lambda p, q: p - q,
    "Mul": lambda p, q: p * q,
    "Div": lambda p, q: p / q,
    "Pow": lambda p, q: p**q,
    "Max": max,
    "Min": min,
    "Mod": lambda p, q: p % q,  # Python's % takes the divisor's sign: ONNX Mod with fmod=0
    "FMod": math.fmod,  # ONNX Mod with fmod=1
}


def binary(op, a, b):
    """Numpy-style (multidirectional) broadcasting, one output element at a time."""
    a, b = _f64(a), _f64(b)
    shape = _broadcast_shape(a.shape, b.shape)
    y = np.zeros(shape)
    f = BINARY[op]
    for idx in np.ndindex(*shape):
        y[idx] = f(float(a[_pick(a.shape, idx)]), float(b[_pick(b.shape, idx)]))
    return y.astype(np.float32)


def sum_(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = binary("Add", out, x)
    return out


def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _softplus(v):
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def _gelu(v, a):
    if a.get("approximate", "none") == "tanh":
        return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))
    return v * 0.5 * math.erfc(-v / math.sqrt(2))


UNARY = {
    "Relu": lambda v, a: v if v > 0 else 0.0,
    "Sigmoid": lambda v, a: _sigmoid(v),
    "Tanh": lambda v, a: math.tanh(v),
    "Exp": lambda v, a: math.exp(v),
    "Sqrt": lambda v, a: math.sqrt(v),
    "Neg": lambda v, a: -v,
    "Abs": lambda v, a: abs(v),
    "LeakyRelu": lambda v, a: v if v >= 0 else a.get("alpha", 0.01) * v,
    "Clip": lambda v, a: min(max(v, a.get("min", -math.inf)), a.get("max", math.inf)),
    "Identity": lambda v, a: v,
    "Dropout": lambda v, a: v,  # inference: a no-op
    "Erf": lambda v, a: math.erf(v),
    "Sin": lambda v, a: math.sin(v),
    "Cos": lambda v, a: math.cos(v),
    "Tan": lambda v, a: math.tan(v),
    "Asin": lambda v, a: math.asin(v),
    "Acos": lambda v, a: math.acos(v),
    "Atan": lambda v, a: math.atan(v),
    "Sinh": lambda v, a: math.sinh(v),
    "Cosh": lambda v, a: math.cosh(v),
    "Asinh": lambda v, a: math.asinh(v),
    "Acosh": lambda v, a: math.acosh(v),
    "Atanh": lambda v, a: math.atanh(v),
    "Floor": lambda v, a: math.floor(v),
    "Ceil": lambda v, a: math.ceil(v),
    "Round": lambda v, a: round(v),
    "Sign": lambda v, a: math.copysign(1.0, v) if v else 0.0,
    "Gelu": _gelu,
    "HardSigmoid": lambda v, a: min(max(a.get("alpha", 0.2) * v + a.get("beta", 0.5), 0.0), 1.0),
    "HardSwish": lambda v, a: v * min(max(v / 6 + 0.5, 0.0), 1.0),
    "Softplus": lambda v, a: _softplus(v),
    "Softsign": lambda v, a: v / (1 + abs(v)),
    "Mish": lambda v, a: v * math.tanh(_softplus(v)),
}


def unary(op, x, **attrs):
    x = _f64(x)
    y = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        y[idx] = UNARY[op](float(x[idx]), attrs)
    return y.astype(np.float32)


def epilogue(y, activation=None, residual=None, **act):
    """The fused tail of Conv/Gemm/MatMul: activation(y + residual), with the activation's
    attributes as the host carries them (act_alpha, act_min, ...)."""
    if residual is not None:
        y = binary("Add", y, residual)
    if activation is None:
        return np.asarray(y, np.float32)
    return unary(activation, y, **{k[len("act_") :]: v for k, v in act.items()})
