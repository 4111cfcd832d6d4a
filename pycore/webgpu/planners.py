"""The WebGPU path's op table, mirroring pycore/cpu: one planner per op type."""

from . import elementwise, gradients, nn, reduce, tensor

PLANNERS = {**elementwise.PLANNERS, **nn.PLANNERS, **reduce.PLANNERS, **tensor.PLANNERS, **gradients.PLANNERS}
