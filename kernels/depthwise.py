"""Writes depthwise_simd.wat: float32 depthwise kxk convolution for WebAssembly SIMD128.

    python3 kernels/depthwise.py          rewrite the file
    python3 kernels/depthwise.py --check  exit 1 if the committed file differs from what this writes

y[c] = clip(conv(x[c], w[c]) + bias[c], lo, hi), one filter per channel, zero padding, all
row-major float32 in the module's imported memory:

    depthwise(x, w, bias, y, zeros, channels, h, wd, oh, ow, k, stride, pt, pl, lo, hi)

x is the input as it is, [channels, h, wd], padded by pt rows on top and pl columns on the left (and
as many at the bottom and right as oh and ow reach); w is [channels, k, k]; bias is [channels], or 0
for none; y is [channels, oh, ow]; zeros is a row of at least wd zeros. Pointers are byte addresses.
k is 3 or 5 and stride 1 or 2 (EfficientNet-Lite's depthwise convs); anything else writes nothing,
so the caller checks (pycore/cpu/fused.py runs numpy there).

The kernel pads, not the caller, as a copy into a zero-bordered buffer cost up to half the conv's
time. Rows: a tap row above or below the image reads the zero row, so every output row runs the
same code. Columns: the outputs whose taps all lie inside the image run four at a time as one
vector, per tap one load of four inputs and one multiply-add (stride 2 gathers inputs 0, 2, 4, 6 from
two loads, at 0 and 3, and a shuffle); the others (the left and right borders, and what is left of
the interior after groups of four) are scalar, skipping the tap columns outside the image. Each
(k, stride) is its own function with the k*k taps unrolled and a channel's weights splatted in v128
locals. Nothing outside x, w, bias, zeros and y is read. As in gemm.py, a generator because every
variant is one pattern unrolled.
"""

import sys
from pathlib import Path

from gemm import get, params, plus, put  # the WAT emitters both generators use (run from kernels/)

HERE = Path(__file__).resolve().parent
NAME = "depthwise_simd.wat"
SHAPES = [(3, 1), (3, 2), (5, 1), (5, 2)]
ARGS = ("$x", "$w", "$bias", "$y", "$zeros", "$channels", "$h", "$wd", "$oh", "$ow")
PADS = ("$pt", "$pl")
CLIP = ("$lo", "$hi")


def loop(label, count, body):
    """Runs body while count (a local) is above 0, counting it down."""
    return [
        f"(block $end_{label} (loop ${label}",
        f"  (br_if $end_{label} (i32.le_s {get(count)} (i32.const 0)))",
        *(f"  {line}" for line in body),
        f"  {put(count, f'(i32.sub {get(count)} (i32.const 1))')}",
        f"  (br ${label})))",
    ]


def gather(stride, row, offset):
    """Four inputs of a vector of outputs: consecutive ones, or every second one for stride 2."""
    if stride == 1:
        return f"(v128.load offset={offset} {get(row)})"
    lanes = "0 1 2 3 8 9 10 11 20 21 22 23 28 29 30 31"  # x0 x2 from the first load, x4 x6 from the second
    first, second = f"(v128.load offset={offset} {get(row)})", f"(v128.load offset={offset + 12} {get(row)})"
    return f"(i8x16.shuffle {lanes} {first} {second})"


def interior(k, stride, taps, weights, rows, starts):
    """The row's vectors of four outputs whose taps all lie in the image, from starts (pointers)."""
    body = [put("$acc", get("$b"))]
    for (i, j), wv in zip(taps, weights):
        body.append(
            put("$acc", f"(f32x4.add {get('$acc')} (f32x4.mul {gather(stride, starts[i], 4 * j)} {get(wv)}))")
        )
    clipped = f"(f32x4.min (f32x4.max {get('$acc')} {get('$lov')}) {get('$hiv')})"
    body += [f"(v128.store {get('$out')} {clipped})", plus("$out", "(i32.const 16)")]
    body += [plus(p, f"(i32.const {16 * stride})") for p in starts]
    return [
        *(put(p, f"(i32.add {get(r)} {get('$start')})") for r, p in zip(rows, starts)),
        put("$n", get("$vectors")),
        *loop("vec", "$n", body),
        plus("$ox", f"(i32.shl {get('$vectors')} (i32.const 2))"),
    ]


def checked(k, stride, rows):
    """One output ($ox) with each tap column checked against the image: those outside add nothing."""
    body = [
        put("$s", get("$bs")),
        put("$ix", f"(i32.sub (i32.mul {get('$ox')} (i32.const {stride})) {get('$pl')})"),
    ]
    for j in range(k):
        column = f"(i32.shl {get('$ix')} (i32.const 2))"
        terms = [
            put(
                "$s",
                f"(f32.add {get('$s')} (f32.mul (f32.load (i32.add {get(r)} {column})) "
                f"(f32.load offset={4 * (i * k + j)} {get('$w')})))",
            )
            for i, r in enumerate(rows)
        ]
        body.append(f"(if (i32.lt_u {get('$ix')} {get('$wd')}) (then {' '.join(terms)}))")
        body.append(plus("$ix", "(i32.const 1)"))
    body += [f"(f32.store {get('$out')} (f32.min (f32.max {get('$s')} {get('$lo')}) {get('$hi')}))"]
    return body + [plus("$out", "(i32.const 4)")]


def row_pointers(k, rows):
    """Each tap row's start: the image row, or the zero row where it lies in the padding."""
    lines = []
    for i, r in enumerate(rows):
        iy = f"(i32.add {get('$iy')} (i32.const {i}))"
        inside = f"(i32.lt_u {iy} {get('$h')})"
        lines.append(
            put(
                r,
                f"(select (i32.add {get('$x')} (i32.mul {iy} {get('$rowbytes')})) {get('$zeros')} {inside})",
            )
        )
    return lines


def setup(k, stride):
    """Per call: the clip vectors, and the interior columns [first, last): first outputs whose taps
    start inside the image, up to the last whose taps end inside it; vectors of four from first."""
    last = f"(i32.sub (i32.add {get('$wd')} {get('$pl')}) (i32.const {k}))"  # last tap start, x coordinate
    return [
        put("$lov", f"(f32x4.splat {get('$lo')})"),
        put("$hiv", f"(f32x4.splat {get('$hi')})"),
        put("$rowbytes", f"(i32.shl {get('$wd')} (i32.const 2))"),
        put("$first", f"(i32.div_u (i32.add {get('$pl')} (i32.const {stride - 1})) (i32.const {stride}))"),
        put("$first", f"(select {get('$first')} {get('$ow')} (i32.lt_u {get('$first')} {get('$ow')}))"),
        put(
            "$last",
            f"(select (i32.add (i32.div_u {last} (i32.const {stride})) (i32.const 1)) (i32.const 0) "
            f"(i32.ge_s {last} (i32.const 0)))",
        ),
        put("$last", f"(select {get('$last')} {get('$ow')} (i32.lt_u {get('$last')} {get('$ow')}))"),
        put(
            "$vectors",
            f"(select (i32.shr_u (i32.sub {get('$last')} {get('$first')}) (i32.const 2)) (i32.const 0) "
            f"(i32.gt_s {get('$last')} {get('$first')}))",
        ),
        put(
            "$start",
            f"(i32.shl (i32.sub (i32.mul {get('$first')} (i32.const {stride})) {get('$pl')}) (i32.const 2))",
        ),
        put("$c", get("$channels")),
        put("$out", get("$y")),  # y's rows follow one another across channels: one running pointer
    ]


def kernel(k, stride):
    rows, starts = [f"$r{i}" for i in range(k)], [f"$p{i}" for i in range(k)]
    taps = [(i, j) for i in range(k) for j in range(k)]
    weights = [f"$w{i}_{j}" for i, j in taps]
    ints = [
        "$c",
        "$i",
        "$n",
        "$iy",
        "$ox",
        "$ix",
        "$out",
        "$rowbytes",
        "$first",
        "$last",
        "$vectors",
        "$start",
    ]
    lines = [
        " ".join(f"(local {x} v128)" for x in [*weights, "$acc", "$b", "$lov", "$hiv"]),
        " ".join(f"(local {x} i32)" for x in [*ints, *rows, *starts]),
        "(local $s f32) (local $bs f32)",
        *setup(k, stride),
    ]
    channel = [put(x, f"(v128.load32_splat offset={4 * n} {get('$w')})") for n, x in enumerate(weights)]
    channel += [
        put("$bs", f"(if (result f32) {get('$bias')} (then (f32.load {get('$bias')})) (else (f32.const 0)))"),
        put("$b", f"(f32x4.splat {get('$bs')})"),
        put("$iy", f"(i32.sub (i32.const 0) {get('$pt')})"),
        put("$i", get("$oh")),
    ]
    columns = [
        f"(if (i32.eq {get('$ox')} {get('$first')}) (then",
        *(f"  {line}" for line in interior(k, stride, taps, weights, rows, starts)),
        "))",
        f"(br_if $end_cols (i32.ge_s {get('$ox')} {get('$ow')}))",
        *checked(k, stride, rows),
        plus("$ox", "(i32.const 1)"),
        "(br $cols)",
    ]
    row = [*row_pointers(k, rows), put("$ox", "(i32.const 0)"), "(block $end_cols (loop $cols"]
    row += [f"  {line}" for line in columns] + ["))", plus("$iy", f"(i32.const {stride})")]
    channel += loop("rows", "$i", row)
    channel += [
        put("$x", f"(i32.add {get('$x')} (i32.mul {get('$h')} {get('$rowbytes')}))"),
        plus("$w", f"(i32.const {4 * k * k})"),
        put("$bias", f"(select (i32.add {get('$bias')} (i32.const 4)) (i32.const 0) {get('$bias')})"),
    ]
    lines += loop("channels", "$c", channel)
    head = f"(func $dw{k}s{stride} {params(*ARGS, *PADS, *CLIP)}"
    return [head] + [f"  {line}" for line in lines] + [")"]


def module():
    args = " ".join(get(x) for x in (*ARGS, *PADS, *CLIP))
    pick = [
        f"(if (i32.and (i32.eq {get('$k')} (i32.const {k})) (i32.eq {get('$stride')} (i32.const {s}))) "
        f"(then (call $dw{k}s{s} {args}) (return)))"
        for k, s in SHAPES
    ]
    driver = [
        f'(func (export "depthwise") {params(*ARGS, "$k", "$stride", *PADS, *CLIP)}',
        *(f"  {x}" for x in pick),
        ")",
    ]
    out = [
        ";; float32 depthwise kxk convolution, plain SIMD128. Written by kernels/depthwise.py: edit that,",
        ";; then run it. y = clip(depthwise(x zero-padded, w) + bias, lo, hi); see its docstring.",
        "(module",
        '  (import "env" "memory" (memory 0))',
    ]
    for f in [driver, *(kernel(k, s) for k, s in SHAPES)]:
        out += [f"  {line}" for line in f]
    return "\n".join(out) + "\n)\n"


def main():
    text, path = module(), HERE / NAME
    if sys.argv[1:] != ["--check"]:
        path.write_text(text)
    elif not path.exists() or path.read_text() != text:
        sys.exit(f"{NAME} differs from what kernels/depthwise.py writes: run python3 kernels/depthwise.py")


if __name__ == "__main__":
    main()
