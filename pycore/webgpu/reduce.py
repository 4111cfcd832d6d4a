"""Reductions over any set of axes (ReduceSum/Mean/Max/Min/Prod) and the global pools, which reduce the
spatial axes: one table drives reduce.wgsl. ArgMax, which carries an index along, has its own."""

import math

from .step import Step, grid, merge_dims, strides

WG64 = {"WG": 64}

# reduce.wgsl per op: initial value, combine (a, b), finish (acc, count)
SUM = {"init": "0.0", "step": "a + b", "finish": "acc"}
MEAN = {**SUM, "finish": "acc / count"}
# max starts from -inf and min from +inf (built at run time: WGSL constants cannot be infinite), so
# a row of -inf (a fully masked attention row) keeps its max, and an empty reduction gives ONNX's
# identity
MAX = {"init": "inf_or_nan(0.0, 0xff800000u)", "step": "max(a, b)", "finish": "acc"}
MIN = {"init": "inf_or_nan(0.0, 0x7f800000u)", "step": "min(a, b)", "finish": "acc"}
PROD = {"init": "1.0", "step": "a * b", "finish": "acc"}
REDUCE = {
    "ReduceSum": SUM,
    "ReduceMean": MEAN,
    "ReduceMax": MAX,
    "ReduceMin": MIN,
    "ReduceProd": PROD,
    "GlobalAveragePool": MEAN,
    "GlobalMaxPool": MAX,
}


def reduce_step(x, out, shape, axes, fill):
    st = strides(shape)
    kept = [i for i in range(len(shape)) if i not in axes]
    kdims, (kst,) = merge_dims([shape[i] for i in kept], [st[i] for i in kept])
    rdims, (rst,) = merge_dims([shape[i] for i in axes], [st[i] for i in axes])
    outputs, count = math.prod(kdims), math.prod(rdims)
    params = {"outputs": outputs, "count": count, "kept_rank": len(kdims), "reduced_rank": len(rdims)}
    params |= {"kept_shape": kdims, "kept_strides": kst, "reduced_shape": rdims, "reduced_strides": rst}
    return Step(("reduce",), params, [x], out, grid(outputs), fill, WG64)


def reduce(node, ctx):
    shape = ctx.shape(node.inputs[0])
    axes = node.attrs["axes"] if "axes" in node.attrs else range(2, len(shape))  # global pools
    return [reduce_step(node.inputs[0], node.outputs[0], shape, list(axes), REDUCE[node.op])]


# arg_reduce.wgsl per (op, select_last_index): when (v, i) beats the best so far (bv, bi); the
# tie rule is part of the order, so any split of the axis among invocations gives the same index
ARG = {
    ("ArgMax", 0): "v > bv || (v == bv && i < bi)",
    ("ArgMax", 1): "v > bv || (v == bv && i > bi)",
}


def arg_reduce(node, ctx):
    shape, axis = ctx.shape(node.inputs[0]), node.attrs["axis"]
    outer, length, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    fill = {"op": ARG[node.op, int(node.attrs["select_last_index"])], "y_type": ctx.element(node.outputs[0])}
    params = {"outputs": outer * inner, "length": length, "inner": inner}
    return [Step(("arg_reduce",), params, node.inputs[:1], node.outputs[0], grid(outer * inner), fill, WG64)]


PLANNERS = {**{op: reduce for op in REDUCE}, "ArgMax": arg_reduce}
