"""Einsum onto the IR's ReduceSum, Transpose, Reshape and MatMul: the matrix-product forms models
write (batched matmul, transposes, contractions over shared indices, sums over an index).

Each letter of an operand is, against the other operand and the output: batch (in both operands
and the output), kept (in one operand and the output), contracted (in both operands only) or
summed (in one operand only, summed away first). A's axes are then permuted to (batch, kept,
contracted) and B's to (batch, contracted, kept), both viewed as 3-d, multiplied (a MatMul, or a
broadcasting Mul where nothing is contracted), and the result viewed and permuted into the
output's order. Refused, naming the equation: more than two
operands, a letter twice in one operand or in the output (a diagonal), and a letter whose sizes
differ between the operands (broadcasting).
"""

import math
import string

from .registry import onnx_op


def _parse(node, equation, ranks):
    """([operand letters], output letters), with each `...` spelled out as letters of its own."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        node.fail(f"equation {equation!r} names {len(terms)} operands, the node has {len(ranks)}")
    used = set(eq) - set(",->.")
    spare = [c for c in string.ascii_letters if c not in used]
    dots = max((r - len(t) + 3 for t, r in zip(terms, ranks) if "..." in t), default=0)
    ellipsis = "".join(spare[:dots])
    terms = [t.replace("...", ellipsis[dots - (r - len(t) + 3) :]) for t, r in zip(terms, ranks)]
    if not arrow:  # implicit output: the ellipsis, then the letters seen once, in alphabetical order
        once = sorted(c for c in set("".join(terms)) if "".join(terms).count(c) == 1 and c not in ellipsis)
        rhs = ellipsis + "".join(once)
    rhs = rhs.replace("...", ellipsis)
    for t, r in zip(terms, ranks):
        if len(t) != r or (t and not t.isalpha()):
            node.fail(f"equation {equation!r}: term {t!r} does not fit an operand of rank {r}")
    for t in [*terms, rhs]:
        if len(set(t)) != len(t):
            node.fail(f"equation {equation!r}: a letter repeated in {t!r} (a diagonal) is not supported")
    missing = sorted(set(rhs) - set("".join(terms)))
    if missing:
        node.fail(f"equation {equation!r}: output letters {missing} are in no operand")
    return terms, rhs


def _sum_away(ctx, t, letters, keep):
    """Sums the axes of `t` whose letters are not in `keep`; returns (tensor, letters left)."""
    axes = [i for i, c in enumerate(letters) if c not in keep]
    if not axes:
        return t, letters
    t = ctx.emit("ReduceSum", [t], axes=axes, keepdims=0)
    return t, "".join(c for c in letters if c in keep)


def _permute(ctx, t, letters, order, out=None):
    perm = [letters.index(c) for c in order]
    if perm == sorted(perm):
        ctx.set(out, t)
        return t
    return ctx.emit("Transpose", [t], out, perm=perm)


# https://onnx.ai/onnx/operators/onnx__Einsum.html: versions 12..28 (28 only adds types)
@onnx_op("Einsum", (12, 28), ["equation"])
def einsum(ctx, node):
    xs = [t for t in node.inputs if t]
    equation = node.attr("equation")
    if len(xs) > 2:
        node.fail(f"equation {equation!r}: Einsum of {len(xs)} operands is not supported (one or two)")
    terms, out = _parse(node, equation, [len(ctx.shape(t)) for t in xs])
    sizes = {}
    for t, letters in zip(xs, terms):
        for c, d in zip(letters, ctx.shape(t)):
            if sizes.setdefault(c, d) != d:
                node.fail(f"equation {equation!r}: {c!r} is {sizes[c]} in one operand and {d} in the other")
    if len(xs) == 1:
        t, letters = _sum_away(ctx, xs[0], terms[0], out)
        return _permute(ctx, t, letters, out, node.output(0))
    (a, la), (b, lb) = (_sum_away(ctx, t, ls, out + other) for t, ls, other in zip(xs, terms, terms[::-1]))
    batch = [c for c in out if c in la and c in lb]
    kept_a = [c for c in la if c in out and c not in lb]
    kept_b = [c for c in lb if c in out and c not in la]
    inner = [c for c in la if c in lb and c not in out]
    lead = [math.prod(sizes[c] for c in batch)] if batch else []

    def size(letters):
        return math.prod(sizes[c] for c in letters)

    a = ctx.reshape(_permute(ctx, a, la, batch + kept_a + inner), (*lead, size(kept_a), size(inner)))
    b = ctx.reshape(_permute(ctx, b, lb, batch + inner + kept_b), (*lead, size(inner), size(kept_b)))
    # nothing contracted: a broadcasting product (an outer product per batch), not a K = 1 MatMul
    y = ctx.emit("MatMul" if inner else "Mul", [a, b])
    y = ctx.reshape(y, [sizes[c] for c in batch + kept_a + kept_b])
    _permute(ctx, y, "".join(batch + kept_a + kept_b), out, node.output(0))
