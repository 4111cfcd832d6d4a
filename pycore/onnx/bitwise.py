"""Integer bit operations: IR ops of their own (composing them from arithmetic would be slower and
wrong at the edges), for integer tensors only."""

from .registry import onnx_op


def _integers(ctx, node, *ts):
    for t in ts:
        if ctx.dtype(t)[:3] not in ("int", "uin"):
            node.fail(f"{node.op} of {ctx.dtype(t)} is not supported (integers only)")


# https://onnx.ai/onnx/operators/onnx__BitwiseAnd.html, onnx__BitwiseOr.html,
# onnx__BitwiseXor.html and onnx__BitwiseNot.html: version 18
@onnx_op("BitwiseAnd", (18, 18))
@onnx_op("BitwiseOr", (18, 18))
@onnx_op("BitwiseXor", (18, 18))
@onnx_op("BitwiseNot", (18, 18))
def bitwise(ctx, node):
    ins = [t for t in node.inputs if t]
    _integers(ctx, node, *ins)
    ctx.emit(node.op, ins, node.output(0))


# https://onnx.ai/onnx/operators/onnx__BitShift.html: versions 11..28 (11 unsigned only; 28 adds
# the signed types, shifting right arithmetically)
@onnx_op("BitShift", (11, 28), ["direction"])
def bit_shift(ctx, node):
    x, y = node.input(0), node.input(1)
    _integers(ctx, node, x, y)
    ctx.emit("BitShift", [x, y], node.output(0), direction=node.attr("direction"))
