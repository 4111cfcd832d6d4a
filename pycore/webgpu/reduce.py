"""Reductions over any set of axes (ReduceSum/Mean/Max/Min/Prod) and the global pools, which reduce the
spatial axes: one table per element type of the input drives reduce.wgsl. ArgMax, which carries an
index along, has its own."""

import math

from .step import MATH, Step, grid, merge_dims, no_kernel, strides

WG64 = {"WG": 64}

# reduce.wgsl per op: initial value, combine (a, b), finish (acc, count); the terms are combined
# in the output's element type (f32 for float16's, step.MATH)
SUM = {"init": "0.0", "step": "a + b", "finish": "acc"}
MEAN = {**SUM, "finish": "acc / count"}
# max starts from -inf and min from +inf (built at run time: WGSL constants cannot be infinite), so
# a row of -inf (a fully masked attention row) keeps its max, and an empty reduction gives ONNX's
# identity
MAX = {"init": "inf_or_nan(0.0, 0xff800000u)", "step": "max(a, b)", "finish": "acc"}
MIN = {"init": "inf_or_nan(0.0, 0x7f800000u)", "step": "min(a, b)", "finish": "acc"}
PROD = {"init": "1.0", "step": "a * b", "finish": "acc"}
FLOAT = {
    "ReduceSum": SUM,
    "ReduceMean": MEAN,
    "ReduceMax": MAX,
    "ReduceMin": MIN,
    "ReduceProd": PROD,
    "GlobalAveragePool": MEAN,
    "GlobalMaxPool": MAX,
}
# on i32 (int64 and int32): sums and products wrap as int32's do; an empty max or min gives int32's
# limit (the CPU path's for int32, and int64's is past what i32 holds). ReduceMean takes floats only
# (its op record), so integers have none.
INTEGER = {
    "ReduceSum": {**SUM, "init": "0"},
    "ReduceMax": {**MAX, "init": "-2147483648"},  # abstract: 2147483648i is no i32 literal
    "ReduceMin": {**MIN, "init": "2147483647"},
    "ReduceProd": {**PROD, "init": "1"},
}
# on bools (u32, 0 or 1): max is any, min is all; ReduceSum counts in its int64 output's i32.
# ReduceProd is left to the CPU path, whose numpy product of bools is int64, not the record's bool.
BOOLEAN = {
    "ReduceSum": INTEGER["ReduceSum"],
    "ReduceMax": {**MAX, "init": "0u"},
    "ReduceMin": {**MIN, "init": "1u"},
}
REDUCE = {"f32": FLOAT, "f16": FLOAT, "i32": INTEGER, "u32": BOOLEAN}


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
    x, out = node.inputs[0], node.outputs[0]
    shape, element = ctx.shape(x), ctx.element(x)
    if node.op not in REDUCE[element]:
        raise no_kernel(node.op, [e for e, table in REDUCE.items() if node.op in table], element)
    axes = node.attrs["axes"] if "axes" in node.attrs else range(2, len(shape))  # global pools
    y = ctx.element(out)
    fill = {**REDUCE[element][node.op], "x_type": element, "y_type": y, "y_math": MATH.get(y, y)}
    return [reduce_step(x, out, shape, list(axes), fill)]


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


PLANNERS = {**{op: reduce for op in FLOAT}, "ArgMax": arg_reduce}
