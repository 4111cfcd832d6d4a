"""pycore: deep-learning inference in Python, on numpy (CPU) or WGSL compute shaders (WebGPU)."""

from .errors import GraphError, PycoreError, ShapeError
from .graph import Graph
from .model import Model, load
from .safetensors import SafetensorsError

__version__ = "0.1.0"
__all__ = ["Graph", "GraphError", "Model", "PycoreError", "SafetensorsError", "ShapeError", "load"]
