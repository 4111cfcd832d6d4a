"""Writes depthwise_simd.wat: float32 depthwise kxk convolution for WebAssembly SIMD128.

    python3 kernels/depthwise.py          rewrite the file
    python3 kernels/depthwise.py --check  exit 1 if the committed file differs from what this writes

y[c] = clip(conv(x[c], w[c]) + bias[c], lo, hi), one filter per channel, zero padding, all
row-major float32 in the module's imported memory:

    depthwise(x, w, bias, y, scratch, channels, h, wd, oh, ow, k, stride, pt, pl, lo, hi)

x is the input as it is, [channels, h, wd], padded by pt rows on top and pl columns on the left (and
as many at the bottom and right as oh and ow reach); w is [channels, k, k]; bias is [channels], or 0
for none; y is [channels, oh, ow]; scratch holds hp * wp floats, hp = (oh - 1) * stride + k and wp
likewise across, the padded plane of one channel. Pointers are byte addresses. k is 3 or 5 and
stride 1 or 2 (EfficientNet-Lite's depthwise convs); anything else writes nothing, so the caller
checks (pycore/cpu/fused.py runs numpy there).

The kernel pads, not the caller: numpy's copy of the whole input into a zero-bordered buffer cost
up to half the conv's time. Here the scratch plane is zeroed once per call and each channel's
image copied into its middle with v128 loads and stores just before its taps read it, so it is
still in cache; the border stays zero across channels, as every channel writes the same middle.
Without pads, and with the input no smaller than the padded plane, the taps read x itself.

Taps: each (k, stride) is its own function with the k*k taps unrolled: a channel's weights sit
splatted in v128 locals, and four outputs of a row are one vector: per tap one load of four inputs,
one multiply-add. Stride 2 gathers inputs 0, 2, 4, 6 from two loads (at 0 and 3, so it reads
nothing past input 6) and a shuffle. The last ow % 4 outputs of a row are scalar. Nothing outside
x, w, bias, y and the scratch is read or written. As in gemm.py, a generator because every variant
is one pattern unrolled.
"""

import sys
from pathlib import Path

from gemm import get, params, plus, put  # the WAT emitters both generators use (run from kernels/)

HERE = Path(__file__).resolve().parent
NAME = "depthwise_simd.wat"
SHAPES = [(3, 1), (3, 2), (5, 1), (5, 2)]
ARGS = ("$x", "$w", "$bias", "$y", "$scratch", "$channels", "$h", "$wd", "$oh", "$ow")
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


def copy(count, src, dst, label):
    """count floats from src to dst (both advanced): sixteen at a time as four vectors (fewer loop
    steps per byte: the copy is most of what padding costs), then four, then one by one."""

    def step(n):
        moves = [
            f"(v128.store offset={16 * i} {get(dst)} (v128.load offset={16 * i} {get(src)}))"
            for i in range(n)
        ]
        return moves + [plus(src, f"(i32.const {16 * n})"), plus(dst, f"(i32.const {16 * n})")]

    one = [
        f"(f32.store {get(dst)} (f32.load {get(src)}))",
        plus(src, "(i32.const 4)"),
        plus(dst, "(i32.const 4)"),
    ]
    return [
        put("$n", f"(i32.shr_s {count} (i32.const 4))"),
        *loop(f"{label}16", "$n", step(4)),
        put("$n", f"(i32.shr_u (i32.and {count} (i32.const 15)) (i32.const 2))"),
        *loop(f"{label}4", "$n", step(1)),
        put("$n", f"(i32.and {count} (i32.const 3))"),
        *loop(label, "$n", one),
    ]


def setup(k, stride):
    """Per call: the clip vectors, the plane's size, and where the taps read: x itself, or the
    scratch plane, zeroed here, with the part of each image that fits in it ($cr rows, $cc columns)."""
    size = f"(i32.mul {get('$hp')} {get('$wp')})"
    zero = [
        f"(v128.store {get('$dst')} (v128.const i32x4 0 0 0 0))",
        plus("$dst", "(i32.const 16)"),
    ]
    unpadded = f"(i32.eqz (i32.or {get('$pt')} {get('$pl')}))"
    fits = f"(i32.and (i32.le_s {get('$hp')} {get('$h')}) (i32.le_s {get('$wp')} {get('$wd')}))"
    fits = f"(i32.and {unpadded} {fits})"
    return [
        put("$lov", f"(f32x4.splat {get('$lo')})"),
        put("$hiv", f"(f32x4.splat {get('$hi')})"),
        put(
            "$hp",
            f"(i32.add (i32.mul (i32.sub {get('$oh')} (i32.const 1)) (i32.const {stride})) (i32.const {k}))",
        ),
        put(
            "$wp",
            f"(i32.add (i32.mul (i32.sub {get('$ow')} (i32.const 1)) (i32.const {stride})) (i32.const {k}))",
        ),
        put("$direct", fits),
        put("$rowbytes", f"(i32.shl (select {get('$wd')} {get('$wp')} {get('$direct')}) (i32.const 2))"),
        put("$cr", f"(i32.sub {get('$hp')} {get('$pt')})"),
        put("$cr", f"(select {get('$h')} {get('$cr')} (i32.lt_s {get('$h')} {get('$cr')}))"),
        put("$cc", f"(i32.sub {get('$wp')} {get('$pl')})"),
        put("$cc", f"(select {get('$wd')} {get('$cc')} (i32.lt_s {get('$wd')} {get('$cc')}))"),
        put("$cr", f"(select {get('$cr')} (i32.const 0) (i32.gt_s {get('$cr')} (i32.const 0)))"),
        put("$cc", f"(select {get('$cc')} (i32.const 0) (i32.gt_s {get('$cc')} (i32.const 0)))"),
        f"(if (i32.eqz {get('$direct')}) (then",
        f"  {put('$dst', get('$scratch'))}",
        f"  {put('$n', f'(i32.shr_u {size} (i32.const 2))')}",
        *(f"  {line}" for line in loop("zero4", "$n", zero)),
        f"  {put('$n', f'(i32.and {size} (i32.const 3))')}",
        *(
            f"  {line}"
            for line in loop(
                "zero", "$n", [f"(f32.store {get('$dst')} (f32.const 0))", plus("$dst", "(i32.const 4)")]
            )
        ),
        "))",
        put("$c", get("$channels")),
        put("$out", get("$y")),  # y's rows follow one another across channels: one running pointer
    ]


def fill():
    """The channel's image into the middle of the scratch plane: $cr rows of $cc floats."""
    middle = f"(i32.shl (i32.add (i32.mul {get('$pt')} {get('$wp')}) {get('$pl')}) (i32.const 2))"
    row = [
        put("$src", get("$srow")),
        put("$dst", get("$drow")),
        *copy(get("$cc"), "$src", "$dst", "copy"),
        plus("$srow", f"(i32.shl {get('$wd')} (i32.const 2))"),
        plus("$drow", get("$rowbytes")),
    ]
    return [
        put("$srow", get("$x")),
        put("$drow", f"(i32.add {get('$scratch')} {middle})"),
        put("$i", get("$cr")),
        *loop("fill", "$i", row),
    ]


def kernel(k, stride):
    rows = [f"$r{i}" for i in range(k)]
    taps = [(i, j) for i in range(k) for j in range(k)]
    weights = [f"$w{i}_{j}" for i, j in taps]
    ints = ["$c", "$i", "$j", "$n", "$row", "$out", "$hp", "$wp", "$direct", "$rowbytes", "$cr", "$cc"]
    lines = [
        " ".join(f"(local {x} v128)" for x in [*weights, "$acc", "$b", "$lov", "$hiv"]),
        " ".join(f"(local {x} i32)" for x in [*ints, "$src", "$dst", "$srow", "$drow", *rows]),
        "(local $s f32) (local $bs f32)",
        *setup(k, stride),
    ]
    channel = [f"(if (i32.eqz {get('$direct')}) (then", *(f"  {line}" for line in fill()), "))"]
    channel += [put(x, f"(v128.load32_splat offset={4 * n} {get('$w')})") for n, x in enumerate(weights)]
    channel += [
        put("$bs", f"(if (result f32) {get('$bias')} (then (f32.load {get('$bias')})) (else (f32.const 0)))"),
        put("$b", f"(f32x4.splat {get('$bs')})"),
        put("$row", f"(select {get('$x')} {get('$scratch')} {get('$direct')})"),
        put("$i", get("$oh")),
    ]
    vector = [put("$acc", get("$b"))]
    for (i, j), wv in zip(taps, weights):
        vector.append(
            put("$acc", f"(f32x4.add {get('$acc')} (f32x4.mul {gather(stride, rows[i], 4 * j)} {get(wv)}))")
        )
    clipped = f"(f32x4.min (f32x4.max {get('$acc')} {get('$lov')}) {get('$hiv')})"
    vector += [f"(v128.store {get('$out')} {clipped})", plus("$out", "(i32.const 16)")]
    vector += [plus(r, f"(i32.const {16 * stride})") for r in rows]
    scalar = [put("$s", get("$bs"))]
    for (i, j), n in zip(taps, range(k * k)):
        tap = f"(f32.mul (f32.load offset={4 * j} {get(rows[i])}) (f32.load offset={4 * n} {get('$w')}))"
        scalar.append(put("$s", f"(f32.add {get('$s')} {tap})"))
    scalar += [f"(f32.store {get('$out')} (f32.min (f32.max {get('$s')} {get('$lo')}) {get('$hi')}))"]
    scalar += [plus("$out", "(i32.const 4)")] + [plus(r, f"(i32.const {4 * stride})") for r in rows]
    row = [put(rows[0], get("$row"))] + [
        put(r, f"(i32.add {get(p)} {get('$rowbytes')})") for p, r in zip(rows, rows[1:])
    ]
    row += [put("$j", f"(i32.shr_u {get('$ow')} (i32.const 2))"), *loop("vec", "$j", vector)]
    row += [put("$j", f"(i32.and {get('$ow')} (i32.const 3))"), *loop("one", "$j", scalar)]
    row += [plus("$row", f"(i32.mul {get('$rowbytes')} (i32.const {stride}))")]
    channel += loop("rows", "$i", row)
    channel += [
        put("$x", f"(i32.add {get('$x')} (i32.shl (i32.mul {get('$h')} {get('$wd')}) (i32.const 2)))"),
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
