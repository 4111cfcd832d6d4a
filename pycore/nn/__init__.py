"""pycore.nn: layers as Modules (PyTorch's names and state-dict keys) and the functional API."""

from . import functional
from .modules import (
    GELU,
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Hardswish,
    LayerNorm,
    Linear,
    MaxPool2d,
    Module,
    Parameter,
    ReLU,
    ReLU6,
    Sequential,
    Sigmoid,
    Tanh,
)

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten", "GELU", "Hardswish",
    "LayerNorm", "Linear", "MaxPool2d", "Module", "Parameter", "ReLU", "ReLU6", "Sequential", "Sigmoid",
    "Tanh", "functional",
]  # fmt: skip
