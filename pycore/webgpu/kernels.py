"""The WebGPU path's op table, mirroring pycore/cpu: one planner per op type."""

from . import elementwise, gradients, nn, reduce, tensor

KERNELS = {**elementwise.KERNELS, **nn.KERNELS, **reduce.KERNELS, **tensor.KERNELS, **gradients.KERNELS}
