"""Writes gemm_simd.wat and gemm_relaxed.wat: float32 GEMM for WebAssembly SIMD128.

    python3 kernels/gemm.py          rewrite both files
    python3 kernels/gemm.py --check  exit 1 if a committed file differs from what this writes

C = clip(A @ B + bias + R, lo, hi), all row-major float32 in the module's imported memory:

    gemm(a, lda, b, ldb, c, ldc, m, n, k, bias, bias_mode, r, ldr, lo, hi)

Pointers are byte addresses, leading dimensions count elements. bias_mode 0 has no bias, 1 adds
bias[i] to row i (a conv's output channel when C is [Cout, HW]), 2 adds bias[j] to column j (a
Linear layer's). r = 0 has no residual; r may be c itself (every load of a tile comes before its
stores). lo/hi clip after the additions: -inf/inf is none, 0/inf ReLU, 0/6 ReLU6.

Register blocking: a tile keeps ROWS x 8 outputs in v128 locals while it walks K: per step one
splat-load of A per row, two loads of B, ROWS*2 multiply-adds. Edges need no padding and read
nothing outside the arrays: columns go 8 at a time, then 4, then one by one (scalar), and the last
m % ROWS rows get a tile of their own height. N = 1 with a contiguous B is a GEMV: four rows of A at
a time dotted with B along K. The plain file multiplies then adds; the relaxed one uses
f32x4.relaxed_madd (one rounding, or two: hardware picks) with 6-row tiles, since FMA frees the
registers the separate products held. The loader picks it only where WebAssembly.validate accepts it.

A generator instead of hand-written text because every tile shape is one pattern unrolled; the
output is committed and checked at build, so the .wat files stay the source a reader can diff.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = {"gemm_simd.wat": (4, False), "gemm_relaxed.wat": (6, True)}
PTR = ("$a", "$lda", "$b", "$ldb", "$c", "$ldc")
EPILOGUE = ("$bias", "$bmode", "$r", "$ldr", "$lo", "$hi")
TYPES = {"$lo": "f32", "$hi": "f32"}


def get(x):
    return f"(local.get {x})"


def put(x, value):
    return f"(local.set {x} {value})"


def plus(x, by):
    return put(x, f"(i32.add {get(x)} {by})")


def params(*names):
    return " ".join(f"(param {n} {TYPES.get(n, 'i32')})" for n in names)


def declare(names, kind):
    return " ".join(f"(local {n} {kind})" for n in names)


def madd(relaxed, x, y, acc):
    return f"(f32x4.relaxed_madd {x} {y} {acc})" if relaxed else f"(f32x4.add {acc} (f32x4.mul {x} {y}))"


def k_loop(body, count="$k"):
    """Runs body `count` times, none at 0: a do-while behind a guard."""
    tee = f"(local.tee {count} (i32.sub {get(count)} (i32.const 1)))"
    return [
        f"(if {get(count)} (then (loop $step",
        *(f"  {line}" for line in body),
        f"  (br_if $step {tee}))))",
    ]


def rows_of_a(rows):
    """$a and a pointer per further row of A, each lda bytes past the one before: (names, setup)."""
    pa = ["$a"] + [f"$pa{i}" for i in range(1, rows)]
    setup = [declare(pa[1:], "i32")] if rows > 1 else []
    return pa, setup + [plus(q, get("$lda")).replace(get(q), get(p), 1) for p, q in zip(pa, pa[1:])]


def next_row(i, rows, pointer, stride):
    return [plus(pointer, get(stride))] if i + 1 < rows else []


def tile(rows, vecs, relaxed):
    """C[rows, 4*vecs] over all of K (vecs = 0: one column, scalar), then the epilogue."""
    out = [f"(func $tile_{rows}x{4 * vecs or 1} {params(*PTR, '$k', *EPILOGUE)}"]
    if vecs == 0:
        return out + [f"  {line}" for line in scalar_tile(rows)] + [")"]
    acc = [[f"$acc{i}_{v}" for v in range(vecs)] for i in range(rows)]
    bs = [f"$b{v}" for v in range(vecs)]
    pa, setup = rows_of_a(rows)
    lines = [declare([x for row in acc for x in row], "v128"), declare(["$s", *bs], "v128"), *setup]
    step = [put(bs[v], f"(v128.load offset={16 * v} {get('$b')})") for v in range(vecs)]
    for i in range(rows):
        step.append(put("$s", f"(v128.load32_splat {get(pa[i])})"))
        step += [put(x, madd(relaxed, get("$s"), get(b), get(x))) for x, b in zip(acc[i], bs)]
    lines += k_loop(step + [plus("$b", get("$ldb"))] + [plus(p, "(i32.const 4)") for p in pa])
    add = lambda x, value: put(x, f"(f32x4.add {get(x)} {value})")
    per_row = []
    for i in range(rows):
        per_row.append(put("$s", f"(v128.load32_splat offset={4 * i} {get('$bias')})"))
        per_row += [add(x, get("$s")) for x in acc[i]]
    per_col = [put(b, f"(v128.load offset={16 * v} {get('$bias')})") for v, b in enumerate(bs)]
    per_col += [add(x, get(b)) for row in acc for x, b in zip(row, bs)]
    residual = []
    for i in range(rows):
        residual += [add(x, f"(v128.load offset={16 * v} {get('$r')})") for v, x in enumerate(acc[i])]
        residual += next_row(i, rows, "$r", "$ldr")
    lines += epilogue(per_row, per_col, residual)
    lines += [put("$s", f"(f32x4.splat {get('$lo')})"), put("$b0", f"(f32x4.splat {get('$hi')})")]
    for i in range(rows):
        for v, x in enumerate(acc[i]):
            clipped = f"(f32x4.min (f32x4.max {get(x)} {get('$s')}) {get('$b0')})"
            lines.append(f"(v128.store offset={16 * v} {get('$c')} {clipped})")
        lines += next_row(i, rows, "$c", "$ldc")
    return out + [f"  {line}" for line in lines] + [")"]


def epilogue(per_row, per_col, residual):
    """Stores come after every load, so the residual may be C itself."""
    return [
        f"(if (i32.eq {get('$bmode')} (i32.const 1)) (then",
        *(f"  {line}" for line in per_row),
        f")) (if (i32.eq {get('$bmode')} (i32.const 2)) (then",
        *(f"  {line}" for line in per_col),
        f")) (if {get('$r')} (then",
        *(f"  {line}" for line in residual),
        "))",
    ]


def scalar_epilogue(sums):
    """Bias, residual, clip and store of one column of sums (f32 locals), as the two scalar forms end."""
    add = lambda x, value: put(x, f"(f32.add {get(x)} {value})")
    per_row = [add(x, f"(f32.load offset={4 * i} {get('$bias')})") for i, x in enumerate(sums)]
    per_col = [put("$t", f"(f32.load {get('$bias')})"), *(add(x, get("$t")) for x in sums)]
    residual = []
    for i, x in enumerate(sums):
        residual += [add(x, f"(f32.load {get('$r')})"), *next_row(i, len(sums), "$r", "$ldr")]
    lines = epilogue(per_row, per_col, residual)
    for i, x in enumerate(sums):
        lines.append(f"(f32.store {get('$c')} (f32.min (f32.max {get(x)} {get('$lo')}) {get('$hi')}))")
        lines += next_row(i, len(sums), "$c", "$ldc")
    return lines


def scalar_tile(rows):
    sums = [f"$acc{i}" for i in range(rows)]
    pa, setup = rows_of_a(rows)
    lines = [declare([*sums, "$t"], "f32"), *setup]
    step = [put("$t", f"(f32.load {get('$b')})")]
    step += [
        put(x, f"(f32.add {get(x)} (f32.mul (f32.load {get(p)}) {get('$t')}))") for x, p in zip(sums, pa)
    ]
    lines += k_loop(step + [plus("$b", get("$ldb"))] + [plus(p, "(i32.const 4)") for p in pa])
    return lines + scalar_epilogue(sums)


def gemv(rows, relaxed):
    """y[rows] = A[rows, K] . x[K]: vectors along K, summed across lanes at the end, then K % 4."""
    acc, sums = [f"$acc{i}" for i in range(rows)], [f"$s{i}" for i in range(rows)]
    pa, setup = rows_of_a(rows)
    lines = [declare([*acc, "$v"], "v128"), declare([*sums, "$t"], "f32"), "(local $k4 i32)", *setup]
    lines.append(put("$k4", f"(i32.shr_u {get('$k')} (i32.const 2))"))
    step = [put("$v", f"(v128.load {get('$b')})")]
    step += [put(x, madd(relaxed, f"(v128.load {get(p)})", get("$v"), get(x))) for x, p in zip(acc, pa)]
    lines += k_loop(step + [plus(p, "(i32.const 16)") for p in ["$b", *pa]], "$k4")
    for x, total in zip(acc, sums):
        lane = [f"(f32x4.extract_lane {n} {get(x)})" for n in range(4)]
        lines.append(put(total, f"(f32.add (f32.add {lane[0]} {lane[1]}) (f32.add {lane[2]} {lane[3]}))"))
    lines.append(put("$k", f"(i32.and {get('$k')} (i32.const 3))"))
    step = [put("$t", f"(f32.load {get('$b')})")]
    step += [
        put(x, f"(f32.add {get(x)} (f32.mul (f32.load {get(p)}) {get('$t')}))") for x, p in zip(sums, pa)
    ]
    lines += k_loop(step + [plus(p, "(i32.const 4)") for p in ["$b", *pa]])
    lines += scalar_epilogue(sums)
    head = f"(func $gemv_{rows} {params('$a', '$lda', '$b', '$c', '$ldc', '$k', *EPILOGUE)}"
    return [head] + [f"  {line}" for line in lines] + [")"]


def moved(base, offset, mode=None):
    """base + offset; with a mode, only when bias_mode is that mode; for $r, only when $r is not 0."""
    at = f"(i32.add {get(base)} {offset})"
    if mode is None:
        return f"(select {at} (i32.const 0) {get(base)})"
    return (
        f"(i32.add {get(base)} (select {offset} (i32.const 0) (i32.eq {get('$bmode')} (i32.const {mode}))))"
    )


def row_sweep(rows):
    """A band of `rows` rows of C across all columns: 8 at a time, then 4, then one by one."""
    j = get("$j")
    call = lambda width: (
        f"(call $tile_{rows}x{width} {get('$a')} {get('$lda')} (i32.add {get('$b')} {j}) {get('$ldb')} "
        f"(i32.add {get('$c')} {j}) {get('$ldc')} {get('$k')} {moved('$bias', j, 2)} {get('$bmode')} "
        f"{moved('$r', j)} {get('$ldr')} {get('$lo')} {get('$hi')}) {plus('$j', f'(i32.const {4 * width})')}"
    )
    fits = lambda width: f"(i32.le_u (i32.add {j} (i32.const {4 * width})) {get('$n')})"
    sweep = lambda width: [
        f"(block $done{width} (loop $next{width} (br_if $done{width} (i32.eqz {fits(width)}))",
        f"  {call(width)}",
        f"  (br $next{width})))",
    ]
    lines = [
        "(local $j i32)  ;; byte offset of the column",
        put("$n", f"(i32.shl {get('$n')} (i32.const 2))"),
    ]
    lines += sweep(8) + [f"(if {fits(4)} (then", f"  {call(4)}))"] + sweep(1)
    head = f"(func $rows_{rows} {params(*PTR, '$n', '$k', *EPILOGUE)}"
    return [head] + [f"  {line}" for line in lines] + [")"]


def bands(fn, top, args):
    """Calls fn(t) on bands of t rows from row $i on: t = top while that many are left, then the rest."""
    i, ldr = get("$i"), get("$ldr")
    call = lambda t: (
        f"(call {fn(t)} (i32.add {get('$a')} (i32.mul {i} {get('$lda')})) {get('$lda')} {args} {get('$k')} "
        f"{moved('$bias', f'(i32.shl {i} (i32.const 2))', 1)} {get('$bmode')} "
        f"{moved('$r', f'(i32.mul {i} {ldr})')} {ldr} {get('$lo')} {get('$hi')})"
    )
    left = f"(i32.sub {get('$m')} {i})"
    lines = [
        f"(block $done (loop $next (br_if $done (i32.lt_u {left} (i32.const {top})))",
        f"  {call(top)}",
        f"  {plus('$i', f'(i32.const {top})')}",
        "  (br $next)))",
    ]
    return lines + [f"(if (i32.eq {left} (i32.const {t})) (then {call(t)}))" for t in range(1, top)]


def driver(max_rows):
    c_at = f"(i32.add {get('$c')} (i32.mul {get('$i')} {get('$ldc')})) {get('$ldc')}"
    is_gemv = f"(i32.and (i32.eq {get('$n')} (i32.const 1)) (i32.eq {get('$ldb')} (i32.const 4)))"
    lines = ["(local $i i32)", *(put(s, f"(i32.shl {get(s)} (i32.const 2))") for s in PTR[1::2] + ("$ldr",))]
    lines += [
        f"(if {is_gemv} (then",
        *(f"  {x}" for x in bands(lambda t: f"$gemv_{t}", 4, f"{get('$b')} {c_at}")),
    ]
    lines += ["  (return)))"]
    lines += bands(lambda t: f"$rows_{t}", max_rows, f"{get('$b')} {get('$ldb')} {c_at} {get('$n')}")
    head = f'(func (export "gemm") {params(*PTR, "$m", "$n", "$k", *EPILOGUE)}'
    return [head] + [f"  {line}" for line in lines] + [")"]


def module(max_rows, relaxed):
    kind = "relaxed-SIMD (f32x4.relaxed_madd)" if relaxed else "plain SIMD128"
    out = [
        f";; float32 GEMM, {kind}, {max_rows}x8 register tiles. Written by kernels/gemm.py: edit that,",
        ";; then run it. C = clip(A @ B + bias + R, lo, hi); the generator's docstring has the contract.",
        "(module",
        '  (import "env" "memory" (memory 0))',
    ]
    funcs = [driver(max_rows)]
    funcs += [row_sweep(r) for r in range(1, max_rows + 1)]
    funcs += [tile(r, v, relaxed) for r in range(1, max_rows + 1) for v in (2, 1, 0)]
    funcs += [gemv(r, relaxed) for r in (1, 2, 3, 4)]
    for f in funcs:
        out += [f"  {line}" for line in f]
    return "\n".join(out) + "\n)\n"


def main():
    check = sys.argv[1:] == ["--check"]
    stale = []
    for name, (rows, relaxed) in VARIANTS.items():
        text, path = module(rows, relaxed), HERE / name
        if not check:
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            stale.append(name)
    if stale:
        sys.exit(f"{', '.join(stale)} differ from what kernels/gemm.py writes: run python3 kernels/gemm.py")


if __name__ == "__main__":
    main()
