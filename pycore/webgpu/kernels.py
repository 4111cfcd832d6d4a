"""The WebGPU path's op table, mirroring pycore/cpu: one planner per op type."""

from . import elementwise, gradients, nn, reduce, tensor

KERNELS = {**elementwise.KERNELS, **nn.KERNELS, **reduce.KERNELS, **tensor.KERNELS, **gradients.KERNELS}

# Ops the CPU path runs that have no WebGPU kernel yet. A test holds this set to exactly the CPU ops
# without a GPU kernel, so it can only shrink; it is empty now, and a new CPU op must either bring
# its WGSL kernel or be named here.
PENDING = set()
