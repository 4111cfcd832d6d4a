"""The WebGPU path's op table, mirroring pycore/cpu: one planner per op type."""

from . import elementwise, gradients, movement, nn, reduce

PLANNERS = {
    **elementwise.PLANNERS,
    **nn.PLANNERS,
    **reduce.PLANNERS,
    **movement.PLANNERS,
    **gradients.PLANNERS,
}
