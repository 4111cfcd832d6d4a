"""The table from ONNX op type to the small function that maps it onto pycore's IR.

Each function is registered with the ONNX op versions it understands (the `since_version` of the
op's schema, so "Conv 1..22" covers Conv-1, Conv-11 and Conv-22) and the attributes it reads.
Anything outside that is refused before conversion starts, naming the node, op and opset.
"""

from ..errors import PycoreError

OPS = {}
# Legacy hints that never change results: consumed_inputs (opset < 6 in-place hints), is_test and
# broadcast are read by the handlers that care.
IGNORED_ATTRS = {"consumed_inputs"}


class ConversionError(PycoreError):
    """An ONNX model pycore cannot convert; the message names the node, op and opset."""


class Handler:
    def __init__(self, fn, op, since, attrs):
        self.fn, self.op, self.since, self.attrs = fn, op, since, set(attrs)

    def problems(self, node, version):
        """Why `node` (whose op schema has `version`) cannot be converted, as a list of strings."""
        lo, hi = self.since
        out = []
        if not lo <= version <= hi:
            out.append(f"{self.op}-{version} is not supported (pycore handles {self.op} versions {lo}..{hi})")
        extra = sorted({a.name for a in node.attribute} - self.attrs - IGNORED_ATTRS)
        if extra:
            out.append(f"attribute(s) {extra} are not supported")
        return out


def onnx_op(op, since, attrs=()):
    """Registers `fn(ctx, node)` for `op`; `since` = (lowest, highest) schema version handled."""

    def register(fn):
        OPS[op] = Handler(fn, op, since, attrs)
        return fn

    return register


def supported():
    """[(op, lowest, highest)] for every ONNX op pycore converts, sorted by op."""
    return sorted((h.op, *h.since) for h in OPS.values())
