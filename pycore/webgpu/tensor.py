"""Matrix products and layout planners: reshapes are views, transposes and concats strided copies."""

import math

from .elementwise import epilogue
from .step import Step, View, broadcast_strides, flat, grid, merge_dims, strides

WIDE = {"WG_M": 8, "WG_N": 8, "TK": 16}  # 32 x 32 output tiles (4 x 4 per thread)
ROW = {"WG_M": 1, "WG_N": 64, "TK": 8}  # 4 x 256 tiles for matrix-vector shapes
WG64 = {"WG": 64}
WG256 = {"WG": 256}
PAD_MODES = {"constant": 0, "reflect": 1, "edge": 2}
MATRIX_STRIDES = ("a_row", "a_col", "b_row", "b_col", "c_row", "c_col")


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


def softmax(node, ctx):
    shape, axis = ctx.shape(node.inputs[0]), node.attrs["axis"]
    outer, length, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    params = {"rows": outer * inner, "len": length, "inner": inner}
    return [Step(("softmax",), params, node.inputs[:1], node.outputs[0], grid(outer * inner), overrides=WG64)]


def copy_step(src, dst, shape, src_strides, dst_strides, src_offset=0, dst_offset=0):
    dims, (ss, ds) = merge_dims(shape, src_strides, dst_strides)
    n = math.prod(shape)
    params = {"n": n, "rank": len(dims), "src_offset": src_offset, "dst_offset": dst_offset}
    params |= {"shape": dims, "src_strides": ss, "dst_strides": ds}
    return Step(("copy",), params, [src], dst, flat(n, 256), overrides=WG256)


def transpose(node, ctx):
    shape, perm = ctx.shape(node.inputs[0]), node.attrs["perm"]
    moved = [p for p in perm if shape[p] != 1]
    if moved == sorted(moved):  # only size-1 axes move: the bytes are already in order
        return View(node.inputs[0])
    out = ctx.shape(node.outputs[0])
    src = strides(shape)
    return [copy_step(node.inputs[0], node.outputs[0], out, [src[p] for p in perm], strides(out))]


def concat(node, ctx):
    out, axis = ctx.shape(node.outputs[0]), node.attrs["axis"]
    dst, steps, at = strides(out), [], 0
    for x in node.inputs:
        shape = ctx.shape(x)
        if math.prod(shape):
            steps.append(copy_step(x, node.outputs[0], shape, strides(shape), dst, 0, at * dst[axis]))
        at += shape[axis]
    return steps


def slice_(node, ctx):
    a, shape, out = node.attrs, ctx.shape(node.inputs[0]), ctx.shape(node.outputs[0])
    st = strides(shape)
    offset = sum(b * s for b, s in zip(a["starts"], st))
    src = [s * k for s, k in zip(st, a["steps"])]
    if not math.prod(out):
        return []
    return [copy_step(node.inputs[0], node.outputs[0], out, src, strides(out), offset)]


def pad(node, ctx):
    a, shape = node.attrs, ctx.shape(node.inputs[0])
    out, rank = ctx.shape(node.outputs[0]), len(shape)
    if any(p < 0 for p in a["pads"]):
        raise ValueError(f"{node.name}: negative pads are not supported")
    n = math.prod(out)
    params = {"n": n, "rank": rank, "mode": PAD_MODES[a["mode"]], "value": float(a["value"])}
    params |= {"in_shape": shape, "out_shape": out, "pad_begin": a["pads"][:rank]}
    return [Step(("pad",), params, node.inputs[:1], node.outputs[0], flat(n, 256), overrides=WG256)]


def expand(node, ctx):
    """A broadcasting copy: the input is read with stride 0 along its broadcast dimensions."""
    x, out = node.inputs[0], node.outputs[0]
    shape = ctx.shape(out)
    return [copy_step(x, out, shape, broadcast_strides(ctx.shape(x), shape), strides(shape))]


PLANNERS = {
    "Gemm": gemm,
    "MatMul": matmul,
    "Softmax": softmax,
    "Flatten": lambda node, ctx: View(node.inputs[0]),
    "Reshape": lambda node, ctx: View(node.inputs[0]),
    "Transpose": transpose,
    "Concat": concat,
    "Expand": expand,
    "Pad": pad,
    "Slice": slice_,
}
