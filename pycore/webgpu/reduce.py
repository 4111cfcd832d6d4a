"""Reductions over any set of axes (ReduceSum/Mean/Max) and the global pools, which reduce the
spatial axes: one table drives reduce.wgsl."""

import math

from .step import Arr8, Step, grid, merge_dims, pack, strides

WG64 = {"WG": 64}

# reduce.wgsl per op: initial value, combine (a, b), finish (acc, count)
SUM = {"init": "0.0", "step": "a + b", "finish": "acc"}
MEAN = {**SUM, "finish": "acc / count"}
MAX = {"init": "-3.402823e38", "step": "max(a, b)", "finish": "acc"}
REDUCE = {
    "ReduceSum": SUM,
    "ReduceMean": MEAN,
    "ReduceMax": MAX,
    "GlobalAveragePool": MEAN,
    "GlobalMaxPool": MAX,
}


def reduce_step(x, out, shape, axes, fill):
    st = strides(shape)
    kept = [i for i in range(len(shape)) if i not in axes]
    kdims, (kst,) = merge_dims([shape[i] for i in kept], [st[i] for i in kept])
    rdims, (rst,) = merge_dims([shape[i] for i in axes], [st[i] for i in axes])
    outputs, count = math.prod(kdims), math.prod(rdims)
    params = pack(outputs, count, len(kdims), len(rdims), Arr8(kdims), Arr8(kst), Arr8(rdims), Arr8(rst))
    return Step(("reduce",), params, [x], out, grid(outputs), fill, WG64)


def reduce(node, ctx):
    shape = ctx.shape(node.inputs[0])
    axes = node.attrs["axes"] if "axes" in node.attrs else range(2, len(shape))  # global pools
    return [reduce_step(node.inputs[0], node.outputs[0], shape, list(axes), REDUCE[node.op])]


KERNELS = {op: reduce for op in REDUCE}
