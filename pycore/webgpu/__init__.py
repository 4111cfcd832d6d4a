"""The WebGPU path: WGSL kernels from shaders/, one backend over two bindings (browser, wgpu-py)."""

from .backend import WebGPUBackend
from .device import DeviceLost, GPUUnavailable
from .planners import PLANNERS

__all__ = ["PLANNERS", "DeviceLost", "GPUUnavailable", "WebGPUBackend"]
