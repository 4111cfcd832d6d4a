"""pycore: a deep-learning tensor library in Python, on numpy (CPU) or WGSL compute shaders (WebGPU)."""

from . import nn, optim, torch_checkpoint
from .autograd import enable_grad, no_grad
from .compile import compile
from .errors import GraphError, PycoreError, ShapeError
from .export import export
from .graph import Graph
from .model import Model, load
from .safetensors import SafetensorsError
from .tensors import (
    Tensor,
    TensorError,
    arange,
    cat,
    full,
    full_like,
    manual_seed,
    matmul,
    ones,
    ones_like,
    open_webgpu,
    rand,
    randint,
    randn,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"
__all__ = [
    "Graph", "GraphError", "Model", "PycoreError", "SafetensorsError", "ShapeError", "Tensor", "TensorError",
    "arange", "cat", "compile", "enable_grad", "export", "full", "full_like", "load", "manual_seed",
    "matmul", "nn", "no_grad", "ones", "ones_like", "open_webgpu", "optim", "rand", "randint", "randn",
    "stack", "tensor", "torch_checkpoint", "where", "zeros", "zeros_like",
]  # fmt: skip
