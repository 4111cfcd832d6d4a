"""WebAssembly SIMD CPU kernels: kernels/*.wat, assembled at build into the wheel's pycore/kernels/.

In Pyodide numpy's arrays already live in WebAssembly memory, so a kernel computes on them in place:
ctypes.CDLL loads a module through Pyodide's dynamic linker, which binds the module's imported
memory to Pyodide's own (build.py gives each module the dylink.0 section that asks for that), and a
pointer is `arr.ctypes.data`. Natively the CPU path stays on numpy; the tests run the same .wasm
files through wasmtime, and both call them through gemm_args, so the argument contract is one.
"""

import functools
import math
import sys
from pathlib import Path

import numpy as np

from ..errors import PycoreError

KERNELS = Path(__file__).resolve().parent.parent / "kernels"
GEMM = ("gemm_relaxed", "gemm_simd")  # fastest first; the loader takes the first that validates
LABELS = {"gemm_relaxed": "CPU: wasm SIMD (relaxed) kernels", "gemm_simd": "CPU: wasm SIMD kernels"}
CHOICES = ("auto", *GEMM, "numpy")
DEPTHWISE = "depthwise_simd"
IM2COL = "im2col"
POOL = "pool"
# the pool kernel's `mode` by (op, count_include_pad)
POOL_MODES = {("MaxPool", 0): 0, ("AveragePool", 0): 1, ("AveragePool", 1): 2}
DEPTHWISE_SHAPES = {(3, 1), (3, 2), (5, 1), (5, 2)}  # (k, stride): kernels/depthwise.py's SHAPES
BIAS_MODE = {None: 0, 0: 1, 1: 2}  # bias_axis -> the kernel's bias_mode: none, per row, per column


def _leading(x, name, rows, cols):
    """The row stride of a float32 matrix in elements; its rows must be contiguous."""
    if x.dtype != np.float32 or x.ndim != 2 or x.shape != (rows, cols):
        raise ValueError(f"{name}: expected float32 {(rows, cols)}, got {x.dtype} {x.shape}")
    if x.size == 0:
        return max(cols, 1)  # never read
    if cols > 1 and x.strides[1] != 4 or rows > 1 and (x.strides[0] % 4 or x.strides[0] < 4 * cols):
        raise ValueError(f"{name}: rows must be contiguous and not overlap (strides {x.strides})")
    return x.strides[0] // 4 if rows > 1 else max(cols, 1)


def gemm_args(address, a, b, c, bias=None, bias_axis=0, residual=None, lo=-math.inf, hi=math.inf):
    """The gemm kernel's arguments for c[...] = clip(a @ b + bias + residual, lo, hi).

    address(array) gives an array's byte address in the kernel's memory. bias is per row of c
    (bias_axis 0: a conv's output channels, c being [Cout, HW]) or per column (1: a Linear layer's).
    residual may be c itself. Every matrix is float32 with contiguous rows; views with a larger row
    stride (a block of a bigger matrix) are fine.
    """
    (m, k), n = a.shape, b.shape[-1]
    lda, ldb, ldc = _leading(a, "a", m, k), _leading(b, "b", k, n), _leading(c, "c", m, n)
    bias_ptr, mode = 0, 0
    if bias is not None:
        mode = BIAS_MODE[bias_axis]
        want = (m, n)[bias_axis]
        if bias.dtype != np.float32 or bias.shape != (want,) or want > 1 and bias.strides[0] != 4:
            raise ValueError(f"bias: expected contiguous float32 ({want},), got {bias.dtype} {bias.shape}")
        bias_ptr = address(bias)
    r_ptr, ldr = 0, 0
    if residual is not None:
        ldr, r_ptr = _leading(residual, "residual", m, n), address(residual)
    ptrs = [address(x) if x.size else 1 for x in (a, b, c)]  # an empty operand is never read
    return (
        ptrs[0],
        lda,
        ptrs[1],
        ldb,
        ptrs[2],
        ldc,
        m,
        n,
        k,
        bias_ptr,
        mode,
        r_ptr,
        ldr,
        float(lo),
        float(hi),
    )


def check(gemm, address):
    """Runs gemm on a small case with odd sizes and every epilogue against numpy: a kernel that
    loads but computes wrongly (a miscompile, a relaxed-SIMD surprise) is then never used."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 13), np.float32), rng.standard_normal((13, 11), np.float32)
    bias, res = rng.standard_normal(7, np.float32), rng.standard_normal((7, 11), np.float32)
    c = np.empty((7, 11), np.float32)
    gemm(*gemm_args(address, a, b, c, bias, 0, res, 0.0, 6.0))
    want = np.clip(a.astype(np.float64) @ b + bias[:, None] + res, 0, 6)
    return bool(np.abs(c - want).max() <= 1e-4)


def validates(data):
    """Whether this browser's WebAssembly accepts the module (relaxed SIMD is not everywhere)."""
    from js import Uint8Array, WebAssembly

    buffer = Uint8Array.new(len(data))
    buffer.assign(data)
    return bool(WebAssembly.validate(buffer))


def open_gemm(name):
    """The gemm export of kernels/<name>.wasm as a ctypes function (Pyodide only): ctypes.CDLL binds
    the module to Pyodide's memory, so it takes gemm_args(address, ...)."""
    return _open(name, "gemm", 13)


def _open(name, export, ints, floats=2):
    import ctypes

    fn = getattr(ctypes.CDLL(str(KERNELS / f"{name}.wasm")), export)
    fn.argtypes, fn.restype = [ctypes.c_uint32] * ints + [ctypes.c_float] * floats, None
    return fn


def _load(name, export, ints, floats, check):
    """In Pyodide: (the export, name) if the module loads and passes `check`, else (None, why)."""
    if sys.platform != "emscripten":
        return None, "wasm kernels run in Pyodide only"
    try:
        fn = _open(name, export, ints, floats)
    except (OSError, AttributeError) as e:
        return None, f"{name}: {e}"
    if not check(fn, address):
        return None, f"{name} gave a wrong result on the load check"
    return fn, name


def depthwise_args(address, x, w, bias, y, scratch, stride, lo=-math.inf, hi=math.inf, pads=(0, 0)):
    """The depthwise kernel's arguments for y[c] = clip(conv(x[c], w[c]) + bias[c], lo, hi): x the
    input [C, H, W] as it is, zero-padded by pads (top, left) and at the bottom and right as far as y
    [C, OH, OW] reaches; w [C, k, k], all C-contiguous float32; bias [C] or None. scratch: a
    float32 array of at least depthwise_plane(k, stride, (OH, OW)) elements that the kernel
    overwrites (the padded plane of one channel)."""
    (c, h, wd), (oh, ow), k = x.shape, y.shape[1:], w.shape[-1]
    for name, v, shape in [("x", x, x.shape), ("w", w, (c, k, k)), ("y", y, (c, oh, ow))]:
        if v.dtype != np.float32 or v.shape != shape or not v.flags.c_contiguous:
            raise ValueError(f"{name}: expected C-contiguous float32 {shape}, got {v.dtype} {v.shape}")
    if (k, stride) not in DEPTHWISE_SHAPES or min(pads) < 0:
        raise ValueError(f"depthwise: k {k}, stride {stride}, pads {tuple(pads)} is not a kernel form")
    if bias is not None and (
        bias.dtype != np.float32 or bias.shape != (c,) or c > 1 and bias.strides[0] != 4
    ):
        raise ValueError(f"bias: expected contiguous float32 ({c},), got {bias.dtype} {bias.shape}")
    plane = depthwise_plane(k, stride, (oh, ow))
    if scratch.dtype != np.float32 or scratch.size < plane or not scratch.flags.c_contiguous:
        raise ValueError(f"scratch: expected contiguous float32 of at least {plane}, got {scratch.shape}")
    ptrs = [address(v) if v.size else 1 for v in (x, w, y)]
    bias_ptr = 0 if bias is None else address(bias)
    sizes = (c, h, wd, oh, ow, k, stride, *(int(p) for p in pads))
    return (ptrs[0], ptrs[1], bias_ptr, ptrs[2], address(scratch), *sizes, float(lo), float(hi))


def depthwise_plane(k, stride, out_hw):
    """How many floats the depthwise kernel's scratch holds: one channel's padded input plane."""
    return math.prod((n - 1) * stride + k for n in out_hw)


def check_depthwise(depthwise, address):
    """The depthwise kernel on small odd cases of each form, with uneven pads, against numpy, as
    check does for gemm."""
    rng = np.random.default_rng(0)
    for k, stride in sorted(DEPTHWISE_SHAPES):
        x, w = rng.standard_normal((3, 12, 11), np.float32), rng.standard_normal((3, k, k), np.float32)
        bias = rng.standard_normal(3, np.float32)
        (pt, pl), (pb, pr) = (k // 2, k // 2 - 1), (k // 2 - 1, k // 2)
        padded = np.pad(x, ((0, 0), (pt, pb), (pl, pr)))
        oh, ow = (12 + pt + pb - k) // stride + 1, (11 + pl + pr - k) // stride + 1
        y = np.empty((3, oh, ow), np.float32)
        scratch = np.empty(depthwise_plane(k, stride, (oh, ow)), np.float32)
        depthwise(*depthwise_args(address, x, w, bias, y, scratch, stride, 0.0, 6.0, (pt, pl)))
        want = np.zeros((3, oh, ow))
        for i in range(k):
            for j in range(k):
                want += (
                    padded[:, i : i + stride * oh : stride, j : j + stride * ow : stride]
                    * w[:, i, j, None, None]
                )
        if not np.abs(y - np.clip(want + bias[:, None, None], 0, 6)).max() <= 1e-4:
            return False
    return True


def im2col_args(address, a2, x, cols):
    """The im2col kernel's arguments for cols = nn.im2col(a2, x[None])[0][0]: x one image [C, H, W],
    cols [C * KH * KW, OH * OW], both C-contiguous float32; a2 2-d conv attributes."""
    return _window_args(address, a2, x, "cols", cols, lambda c, kh, kw, oh, ow: (c * kh * kw, oh * ow))


def pool_mode(op, a):
    """The pool kernel's mode for a MaxPool or an AveragePool with these attributes."""
    return POOL_MODES[op, int(a.get("count_include_pad", 0)) if op == "AveragePool" else 0]


def pool_args(address, a2, x, y, mode):
    """The pool kernel's arguments for y = nn.max_pool(a2, x[None])[0] (mode 0) or nn.average_pool
    (1, 2: count_include_pad 0, 1; pool_mode): x one image [C, H, W], y [C, OH, OW], both
    C-contiguous float32; a2 2-d pool attributes (ceil_mode in OH, OW)."""
    args = _window_args(address, a2, x, "y", y, lambda c, kh, kw, oh, ow: (c, oh, ow))
    return (*args, a2["pads"][2], a2["pads"][3], mode)


def _window_args(address, a2, x, name, out, out_shape):
    """The arguments im2col and maxpool share: x, its sizes, the window's, the output's, out."""
    from .nn import output_size

    (c, h, w), (kh, kw) = x.shape, a2["kernel_shape"]
    (sh, sw), (dh, dw), (pt, pl) = a2["strides"], a2["dilations"], a2["pads"][:2]
    oh, ow = output_size(a2, (h, w))
    for label, v, shape in [("x", x, x.shape), (name, out, out_shape(c, kh, kw, oh, ow))]:
        if v.dtype != np.float32 or v.shape != shape or not v.flags.c_contiguous:
            raise ValueError(f"{label}: expected C-contiguous float32 {shape}, got {v.dtype} {v.shape}")
    ptrs = [address(v) if v.size else 1 for v in (x, out)]
    return (ptrs[0], c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, ptrs[1])


# small odd windows: strides, dilations, uneven pads, a window past the input (ceil_mode), a pad
# wider than half the window
WINDOWS = [(3, 1, 1, [1, 1, 1, 1], 0), (3, 2, 1, [0, 0, 1, 1], 1), (2, 3, 2, [2, 1, 0, 3], 0)]


def check_im2col(im2col, address):
    """The im2col kernel on small odd cases (strides, dilations, uneven pads) against nn.im2col."""
    from .nn import im2col as reference

    rng = np.random.default_rng(0)
    for k, s, d, pads, _ in WINDOWS:
        a2 = {"kernel_shape": [k, k], "strides": [s, s], "dilations": [d, d], "pads": pads}
        x = rng.standard_normal((2, 9, 8), np.float32)
        want = reference(a2, x[None])[0][0]
        cols = np.full(want.shape, np.nan, np.float32)
        im2col(*im2col_args(address, a2, x, cols))
        if not np.array_equal(cols, want):
            return False
    return True


def check_pool(pool, address):
    """The pool kernel on small odd cases of each mode against nn.max_pool and nn.average_pool,
    -inf and NaN inputs included."""
    from .nn import average_pool, max_pool

    rng = np.random.default_rng(0)
    for (op, include), mode in POOL_MODES.items():
        for k, s, d, pads, ceil in WINDOWS:
            a2 = {"kernel_shape": [k, k], "strides": [s, s], "dilations": [d, d], "pads": pads}
            a2 |= {"ceil_mode": ceil, "count_include_pad": include}
            x = rng.standard_normal((2, 9, 8), np.float32)
            x[0, 3, 2], x[1, 4, 4] = -np.inf, np.nan
            want = (max_pool if op == "MaxPool" else average_pool)(a2, x[None])[0]
            y = np.full(want.shape, 7.0, np.float32)
            pool(*pool_args(address, a2, x, y, mode))
            if not np.allclose(y, want, rtol=1e-5, atol=1e-5, equal_nan=True):  # means: roundoff
                return False
    return True


@functools.cache
def load_pool():
    """(pool, name) where the module loads and passes check_pool, else (None, why)."""
    return _load(POOL, "pool", 18, 0, check_pool)


@functools.cache
def load_im2col():
    """(im2col, name) where the module loads and passes check_im2col, else (None, why)."""
    return _load(IM2COL, "im2col", 15, 0, check_im2col)


@functools.cache
def load_depthwise():
    """(depthwise, name) where the module loads and passes check_depthwise, else (None, why)."""
    return _load(DEPTHWISE, "depthwise", 14, 2, check_depthwise)


@functools.cache
def load_gemm(names=GEMM):
    """In Pyodide: (gemm, name) from the first of `names` that validates, loads and passes check;
    (None, the reasons) where none does. Once per process: the modules stay loaded."""
    if sys.platform != "emscripten":
        return None, "wasm kernels run in Pyodide only"
    tried = []
    for name in names:
        try:
            if not validates((KERNELS / f"{name}.wasm").read_bytes()):
                tried.append(f"{name} is not supported by this browser")
                continue
            fn = open_gemm(name)
        except (OSError, AttributeError) as e:
            tried.append(f"{name}: {e}")
            continue
        if check(fn, address):
            return fn, name
        tried.append(f"{name} gave a wrong result on the load check")
    return None, "; ".join(tried)


def fused_kernels(choice="auto"):
    """(runners, note) for the CPU backend: runners maps "address" to address(array), the array's
    byte address in the kernels' memory, and "gemm" (and "depthwise", "im2col", "pool" where they
    load) to the kernel's export, called with gemm_args' (depthwise_args', im2col_args',
    pool_args') arguments; empty
    where numpy runs. The note, shown on the page, says which and why. choice is one of CHOICES:
    auto takes the fastest GEMM that loads, a module's name only that one, numpy none (the switch
    tests and benchmarks use to compare them).
    """
    if choice not in CHOICES:
        raise PycoreError(f"unknown CPU kernels {choice!r}: use one of {', '.join(CHOICES)}")
    if choice == "numpy":
        gemm, why = None, "numpy asked for"
    else:
        gemm, why = load_gemm(GEMM if choice == "auto" else (choice,))
    if gemm is None:
        return {}, f"CPU: numpy (no wasm SIMD: {why})"
    runners, missing = {"address": address, "gemm": gemm}, []
    for key, (fn, fn_why) in [
        ("depthwise", load_depthwise()),
        ("im2col", load_im2col()),
        ("pool", load_pool()),
    ]:
        if fn is None:
            missing.append(f"{key} on numpy: {fn_why}")
        else:
            runners[key] = fn
    return runners, f"{LABELS[why]} ({'; '.join(missing)})" if missing else LABELS[why]


def address(x):
    """x's byte address in Pyodide's memory, which the kernels share (ctypes.CDLL bound them to it)."""
    return x.ctypes.data
