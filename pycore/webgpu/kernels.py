"""The WebGPU path's op table, mirroring pycore/cpu: one planner per op type."""

from . import elementwise, nn, reduce, tensor

KERNELS = {**elementwise.KERNELS, **nn.KERNELS, **reduce.KERNELS, **tensor.KERNELS}

# Ops the Tensor library runs on the CPU path only, until their WGSL kernels land (comparisons,
# selection and casts, and the backward of convolution and pooling). A test holds this set to
# exactly the CPU ops without a GPU kernel, so it can only shrink.
PENDING = {
    "ArgMax", "AveragePoolGrad", "Cast", "ConvGradInput", "ConvGradWeight", "Equal", "Erf", "Expand",
    "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "MaxPoolGrad", "ReduceMin", "Where",
}  # fmt: skip
