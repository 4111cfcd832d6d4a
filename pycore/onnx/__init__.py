"""ONNX import: an ONNX model (via the `onnx` package, build time only) to pycore's graph IR.

reader.py     load the file, external data, graph checks (cycles, dangling inputs), topo order
registry.py   op table: ONNX op -> the function mapping it, with versions and attributes handled
functions.py  ops ONNX defines as functions of other ops, inlined before conversion
context.py    conversion state; emitting IR nodes, folding them when their inputs are constant
bitwise.py, elementwise.py, nn.py, conv_transpose.py, einsum.py, reduce.py, resize.py, shapes.py
              one function per ONNX op
volumetric.py 3-d Conv and pooling rewritten onto the 2-d IR ops
convert.py    convert(): check everything up front, then map node by node; save()

from pycore.onnx import convert, save
save(convert("model.onnx"), "out/")       # or: python -m pycore convert model.onnx out/
"""

from . import bitwise, conv_transpose, einsum, elementwise, nn, reduce, resize, shapes  # noqa: F401  (registers the op functions)
from .context import ValueNeeded
from .convert import convert, save
from .registry import ConversionError, supported

__all__ = ["ConversionError", "ValueNeeded", "convert", "save", "supported"]
