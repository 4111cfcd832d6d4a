"""Planners of the network ops (pycore/ops/nn.py): matrix products, softmax, and convolution, pooling
and normalisation (2-d; 1-d runs as 2-d with height 1, as on the CPU)."""

import math

import numpy as np

from ..ops.nn import resize_taps, resized_axes
from .elementwise import epilogue
from .step import Step, View, broadcast_strides, flat, grid, merge_dims

GEMM_TILE = {"WG_M": 8, "WG_N": 8, "TK": 16}  # a 32 x 32 output tile per workgroup
WIDE = {"WG_M": 8, "WG_N": 8, "TK": 16}  # 32 x 32 output tiles (4 x 4 per thread)
ROW = {"WG_M": 1, "WG_N": 64, "TK": 8}  # 4 x 256 tiles for matrix-vector shapes
MATRIX_STRIDES = ("a_row", "a_col", "b_row", "b_col", "c_row", "c_col")
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


def product_step(reads, out, mnk, strides, batch, attrs, alpha=1.0, beta=1.0):
    """One dispatch of matmul.wgsl. reads: [A, B, bias, residual] ("" where absent); mnk: (M, N, K);
    strides: A over (m, k), B over (k, n), bias over (m, n) (0 where broadcast); batch: (dims,
    A strides, B strides), at most four dims after merging."""
    (m, n, k), (dims, a_b, b_b) = mnk, batch
    if len(dims) > 4:
        raise ValueError(f"{out}: matrix product with more than 4 batch dimensions")
    ep, fill = epilogue(attrs)
    ones = [1] * (4 - len(dims))  # the batch loop runs over four dims; the missing ones have size 1
    params = {"m": m, "n": n, "k": k, **dict(zip(MATRIX_STRIDES, strides)), "has_bias": bool(reads[2])}
    params |= {"has_residual": bool(reads[3]), "alpha": float(alpha), "beta": float(beta), "ep": ep}
    params |= {"batch": [*dims, *ones], "a_batch": [*a_b, *ones], "b_batch": [*b_b, *ones]}
    tile = ROW if m <= 4 else WIDE
    groups = (
        math.ceil(n / (tile["WG_N"] * 4)),
        math.ceil(m / (tile["WG_M"] * 4)),
        math.prod(dims),
    )
    return Step(("epilogue", "matmul", "gemm"), params, reads, out, groups, fill, tile)


def gemm(node, ctx):
    a = node.attrs
    x, w, bias, residual = [*node.inputs, "", ""][:4]
    xs, ws = ctx.shape(x), ctx.shape(w)
    m, n = ctx.shape(node.outputs[0])
    k = xs[0] if a["transA"] else xs[1]
    a_strides = (1, xs[1]) if a["transA"] else (xs[1], 1)
    b_strides = (1, ws[1]) if a["transB"] else (ws[1], 1)
    c_strides = broadcast_strides(ctx.shape(bias), (m, n)) if bias else (0, 0)
    step = product_step(
        [x, w, bias, residual], node.outputs[0], (m, n, k), (*a_strides, *b_strides, *c_strides),
        ([1], [0], [0]), a, a["alpha"], a["beta"],
    )  # fmt: skip
    return [step]


def matmul(node, ctx):
    x, w, residual = [*node.inputs, ""][:3]
    xs, ws, out = ctx.shape(x), ctx.shape(w), ctx.shape(node.outputs[0])
    m, k, n = xs[-2], xs[-1], ws[-1]
    lead = out[:-2]
    a_b = broadcast_strides(xs[:-2], lead) if lead else []
    b_b = broadcast_strides(ws[:-2], lead) if lead else []
    # broadcast_strides counts in batch elements; scale to floats
    a_b, b_b = [s * m * k for s in a_b], [s * k * n for s in b_b]
    batch = merge_dims(lead, a_b, b_b) if lead else ([1], ([0], [0]))
    batch = (batch[0], *batch[1])
    reads = [x, w, "", residual]
    return [product_step(reads, node.outputs[0], (m, n, k), (k, 1, n, 1, 0, 0), batch, node.attrs)]


WINDOW = ("h", "w", "kh", "kw", "stride_h", "stride_w", "pad_t", "pad_l", "pad_b", "pad_r", "dil_h", "dil_w")


def window_2d(a, x_shape):
    """The window's uniform members, by their WGSL names, with 1-d windows lifted to height 1."""
    k, s, p = a["kernel_shape"], a["strides"], a["pads"]
    d = a.get("dilations") or [1] * len(k)
    if len(x_shape) == 3:
        return dict(zip(WINDOW, (1, x_shape[2], 1, k[0], 1, s[0], 0, p[0], 0, p[1], 1, d[0])))
    return dict(zip(WINDOW, (*x_shape[2:], *k, *s, p[0], p[1], p[2], p[3], *d)))


def conv(node, ctx):
    x, w, b, *rest = [*node.inputs, ""][: max(3, len(node.inputs))]
    a = node.attrs
    xs, out = ctx.shape(x), ctx.shape(node.outputs[0])
    if not b:  # the passes always add a bias; a graph run as written may lack one
        b = ctx.const(np.zeros(out[1]), f"{node.name}.zero_bias", ctx.dtypes.get(x, "float32"))
    win = window_2d(a, xs)
    n, c, m, g = xs[0], xs[1], out[1], a["group"]
    oh, ow = (1, out[2]) if len(out) == 3 else out[2:]
    residual = rest[0] if rest else ""
    reads = [x, w, b, residual]
    pointwise = dict(kh=1, kw=1, stride_h=1, stride_w=1, pad_t=0, pad_l=0, pad_b=0, pad_r=0)
    if all(win[k] == v for k, v in pointwise.items()) and g == 1:
        # pointwise: per image, W (m, c) @ X (c, pixels) is already NCHW; a plain matrix product
        hw = oh * ow
        strides = (c, 1, hw, 1, 1, 0)  # W row-major, X row-major, bias per row
        batch = ([n], [0], [c * hw])
        return [product_step([w, x, b, residual], node.outputs[0], (m, hw, c), strides, batch, a)]
    ep, fill = epilogue(a)
    del win["pad_b"], win["pad_r"]  # the output size already says where the window stops
    common = {**win, "oh": oh, "ow": ow, "has_residual": bool(residual), "ep": ep}
    if c == g:  # every output channel reads one input channel
        quads = n * m * oh * math.ceil(ow / 4)  # each invocation writes four outputs of a row
        params = {"n": quads, "c": c, "m": m, **common}
        shader = ("epilogue", "depthwise_conv2d")
        return [Step(shader, params, reads, node.outputs[0], flat(quads, 64), fill, WG64)]
    t = GEMM_TILE
    params = {"c": c // g, "m": m // g, "groups": g, **common}
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
    oh, ow = (1, out[2]) if len(out) == 3 else out[2:]
    total = math.prod(out)
    include = int(a.get("count_include_pad", 0))
    params = {"n": total, **window_2d(a, xs), "oh": oh, "ow": ow, "include_pad": include}
    step = Step(("pool2d",), params, [x], node.outputs[0], flat(total, 64), POOL[node.op], WG64)
    return [step]


def per_channel(xs):
    return math.prod(xs), xs[1] if len(xs) > 1 else 1, math.prod(xs[2:])


def batch_norm(node, ctx):
    total, c, spatial = per_channel(ctx.shape(node.inputs[0]))
    params = {"n": total, "c": c, "spatial": spatial, "epsilon": float(node.attrs["epsilon"])}
    return [Step(("batchnorm",), params, node.inputs[:5], node.outputs[0], flat(total, 256), overrides=WG256)]


def batch_norm_stats(node, ctx):
    n, c = ctx.shape(node.inputs[0])[:2]
    _, _, spatial = per_channel(ctx.shape(node.inputs[0]))
    params = {"n": n, "c": c, "spatial": spatial}
    shader = ("workgroup_sum", "batchnorm_stats")
    return [Step(shader, params, node.inputs[:1], node.outputs[0], (c, 1, 1), overrides=WG256)]


def lrn(node, ctx):
    a = node.attrs
    total, c, spatial = per_channel(ctx.shape(node.inputs[0]))
    params = {"n": total, "c": c, "spatial": spatial, "size": int(a["size"])}
    params |= {k: float(a[k]) for k in ("alpha", "beta", "bias")}
    return [Step(("lrn",), params, node.inputs[:1], node.outputs[0], flat(total, 256), overrides=WG256)]


def softmax(node, ctx):
    shape, axis = ctx.shape(node.inputs[0]), node.attrs["axis"]
    outer, length, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    params = {"rows": outer * inner, "len": length, "inner": inner}
    shader = ("workgroup_sum", "softmax")
    return [Step(shader, params, node.inputs[:1], node.outputs[0], grid(outer * inner), overrides=WG64)]


def layer_norm(node, ctx):
    shape, axis = ctx.shape(node.inputs[0]), node.attrs["axis"]
    x, scale, bias = [*node.inputs, "", ""][:3]
    rows, length = math.prod(shape[:axis]), math.prod(shape[axis:])
    params = {"rows": rows, "len": length, "has_scale": bool(scale), "has_bias": bool(bias)}
    params["epsilon"] = float(node.attrs["epsilon"])
    wg = {"WG": min(256, max(32, 1 << (length - 1).bit_length()))}  # short rows: smaller workgroups
    shader = ("workgroup_sum", "layer_norm")
    return [Step(shader, params, [x, scale, bias], node.outputs[0], grid(rows), overrides=wg)]


def resize(node, ctx):
    """One resize_axis.wgsl step per resized axis, each reading its taps (the CPU path's own, from
    pycore.ops.nn.resize_taps) from a small constant: [first index; second index; weight]."""
    a, src, out = node.attrs, node.inputs[0], node.outputs[0]
    shape = list(ctx.shape(src))
    axes = resized_axes(a, shape)
    if not axes:
        return View(src)
    steps = []
    for k, axis in enumerate(axes):
        n, m = shape[axis], a["sizes"][axis]
        taps = ctx.const(np.stack(resize_taps(a, axis, n, m)), f"{node.name}.taps{axis}")
        shape[axis] = m
        dst = (
            out
            if k == len(axes) - 1
            else ctx.temp(shape, f"{out}.axis{axis}", ctx.dtypes.get(out, "float32"))
        )
        total = math.prod(shape)
        params = {"n": total, "in_len": n, "out_len": m, "inner": math.prod(shape[axis + 1 :])}
        params["linear"] = a["mode"] == "linear"
        if total:
            steps.append(Step(("resize_axis",), params, [src, taps], dst, flat(total, 256), overrides=WG256))
        src = dst
    return steps


PLANNERS = {
    "Gemm": gemm,
    "Resize": resize,
    "LayerNormalization": layer_norm,
    "MatMul": matmul,
    "Softmax": softmax,
    "BatchNormStats": batch_norm_stats,
    "Conv": conv,
    "MaxPool": pool,
    "AveragePool": pool,
    "BatchNormalization": batch_norm,
    "LRN": lrn,
}
