"""Conv, Gemm and MatMul with their GEMM (or depthwise conv) and epilogue in one fused kernel call,
and the convolution's weight gradient on the same GEMM (training on the CPU path in Pyodide).

The runners come from wasm.fused_kernels (the wasm kernels in Pyodide; the unit tests run the same
modules through wasmtime): address(array) and the exports, called with wasm's gemm_args (c =
clip(a @ b + bias + residual, lo, hi) on float32 matrices with contiguous rows), depthwise_args
(a depthwise 3x3 or 5x5 conv, stride 1 or 2, that pads the input itself in a scratch plane) and
im2col_args. A grouped conv is one GEMM per group, and a large GEMM calls in cache-sized blocks
(_conv_gemms). An activation their clip cannot
express (GELU, hard-swish, sigmoid, ...) runs after them, as its own numpy kernel on their result.
Whatever they cannot take (another dtype, alpha or beta, batched weights) runs the numpy kernel it
replaces, unchanged, so a model never depends on which ops the kernels cover.

kernels(runners) are the kernel table's entries, resolving everything at each call (tensors
computed at once); Planner prepares a loaded model's nodes once, each run then only sets the
pointers of its inputs and calls the kernel.
"""

import functools
import math

import numpy as np

from .. import ops
from . import gradients, nn, wasm
from .elementwise import UNARY


def clip_bounds(attrs):
    """((lo, hi), after) for the host's fused activation: the bounds the kernel's clip applies, and
    where a clip cannot express the activation, the activation's own kernel to run on the result
    (the kernel adds bias and residual first, so this is the epilogue's activation(y + residual))."""
    act, own = ops.fused_activation(attrs)
    if act is None:
        return (-math.inf, math.inf), None
    if act == "Relu":
        return (0.0, math.inf), None
    if act == "Clip":
        return (float(own["min"]), float(own["max"])), None
    return (-math.inf, math.inf), lambda y: UNARY[act](own, y)


def _after(after, y):
    return y if after is None else after(y)


def _float32(*xs):
    return all(x is None or x.dtype == np.float32 for x in xs)


def _matrix(x, shape):
    """x broadcast to `shape` as a C-contiguous float32 array (a residual may broadcast, as in numpy)."""
    return None if x is None else np.ascontiguousarray(np.broadcast_to(x, shape))


def _depthwise_form(a2, channels, w, residual):
    """Whether the depthwise kernel computes this conv: one 3x3 or 5x5 filter per channel, square
    strides of 1 or 2, no dilation, and no residual (its clip would have to come after it)."""
    (kh, kw), (sh, sw) = a2["kernel_shape"], a2["strides"]
    return (
        a2["group"] == w.shape[0] == channels
        and w.shape[1] == 1
        and kh == kw
        and sh == sw
        and (kh, sh) in wasm.DEPTHWISE_SHAPES
        and a2["dilations"] == [1, 1]
        and not residual
    )


def _conv_gemms(groups, weights, cols, y, bias, residual, lo, hi):
    """The GEMM calls' operands (a, b, c, bias, residual, lo, hi) of a conv on one image: one GEMM
    per group, group g's outputs being its rows of the weights [M, K] times its channels' rows of the
    columns [G * K, HW], which are consecutive, since the columns (im2col's, or the image itself) are
    ordered by channel; each GEMM in cache-sized blocks (_blocks)."""
    m, k = weights.shape[0] // groups, cols.shape[0] // groups
    for g in range(groups):
        rows = slice(g * m, (g + 1) * m)
        b, r = None if bias is None else bias[rows], None if residual is None else residual[rows]
        yield from _blocks(weights[rows], cols[g * k : (g + 1) * k], y[rows], b, r, lo, hi)


# The kernel walks bands of A's rows, each across all of B's columns, so a B larger than the cache
# (VGG's first im2col columns: 115 MB) streams from memory once per band: 3-5 GFLOP/s where a
# cached B gives 13-19 (Chromium, this 2-core Xeon; tools/bench/wasm_gemm.py). In panels of at most
# PANEL bytes of B (K_BLOCK rows by as many columns as fit) every band finds the panel in cache.
PANEL, K_BLOCK = 256 * 1024, 256


def _blocks(a, b, c, bias, residual, lo, hi):
    """c = clip(a @ b + bias + residual, lo, hi) as GEMM calls on panels of b: a deep K is summed
    block by block into c (the kernel's residual may be c itself), the bias and residual added by
    the first block, the clip applied by the last. bias is per row of c."""
    k, n = b.shape
    if k * n * 4 <= PANEL:
        yield a, b, c, bias, residual, lo, hi
        return
    kc = min(k, K_BLOCK)
    nc = max(8, PANEL // (4 * kc) // 8 * 8)
    for j in range(0, n, nc):
        cj = c[:, j : j + nc]
        for k0 in range(0, k, kc):
            first, last = k0 == 0, k0 + kc >= k
            r = (None if residual is None else residual[:, j : j + nc]) if first else cj
            bounds = (lo, hi) if last else (-math.inf, math.inf)
            yield a[:, k0 : k0 + kc], b[k0 : k0 + kc, j : j + nc], cj, bias if first else None, r, *bounds


def _array_calls(runners):
    """run_gemm(a, b, c, bias, bias_axis, residual, lo, hi), run_depthwise(x, w, bias, y, scratch,
    stride, lo, hi, pads), run_im2col(a2, x, cols) and run_pool(a2, x, y, mode): the kernels called
    on arrays, their arguments packed at each call (wasm's gemm_args, depthwise_args, im2col_args,
    pool_args); None for a kernel that did not load."""
    address = runners["address"]

    def on_arrays(name, pack):
        fn = runners.get(name)
        return None if fn is None else lambda *arrays: fn(*pack(address, *arrays))

    return (
        on_arrays("gemm", wasm.gemm_args),
        on_arrays("depthwise", wasm.depthwise_args),
        on_arrays("im2col", wasm.im2col_args),
        on_arrays("pool", wasm.pool_args),
    )


def kernels(runners):
    """The Conv, Gemm, MatMul, ConvGradWeight, MaxPool and AveragePool entries of the CPU kernel
    table, on runners (wasm.fused_kernels': "address", "gemm", and where they loaded "depthwise",
    "im2col" and "pool"). They resolve everything at each call: tensors computed at once use them, and a
    loaded model where its plan (Planner) could not prepare a node."""
    run_gemm, run_depthwise, run_im2col, run_pool = _array_calls(runners)

    def columns(a2, x4):
        """nn.im2col's (columns, (oh, ow)), by the im2col kernel where it loaded: one call per image
        in place of a padding copy and a numpy copy per kernel tap."""
        if run_im2col is None or x4.dtype != np.float32:
            return nn.im2col(a2, x4)
        (kh, kw), (n, c) = a2["kernel_shape"], x4.shape[:2]
        oh, ow = nn.output_size(a2, x4.shape[2:])
        cols = np.empty((n, c * kh * kw, oh * ow), np.float32)
        x4 = np.ascontiguousarray(x4)
        for i in range(n):
            run_im2col(a2, x4[i], cols[i])
        return cols, (oh, ow)

    def depthwise(a, a2, x4, w, b, clip, lifted):
        oh, ow = nn.output_size(a2, x4.shape[2:])
        x4 = np.ascontiguousarray(x4)
        n, m, k = x4.shape[0], w.shape[0], a2["kernel_shape"][0]
        y = np.empty((n, m, oh, ow), np.float32)
        filters = np.ascontiguousarray(w).reshape(m, k, k)
        bias = None if b is None else np.ascontiguousarray(b).reshape(m)
        stride = a2["strides"][0]
        scratch = np.empty(wasm.depthwise_plane(k, stride, (oh, ow)), np.float32)
        for i in range(n):
            run_depthwise(x4[i], filters, bias, y[i], scratch, stride, *clip, a2["pads"][:2])
        return y[:, :, 0, :] if lifted else y

    def conv(a, x, w, b=None, residual=None):
        clip, after = clip_bounds(a)
        if not _float32(x, w, b, residual):
            return nn.conv(a, x, w, b, residual)
        lifted = x.ndim == 3
        a2, x4 = nn._as_2d(a, x)
        groups = a["group"]
        if (
            groups != 1
            and run_depthwise is not None
            and _depthwise_form(a2, x4.shape[1], w, residual is not None)
        ):
            w4 = w.reshape(*w.shape[:2], *a2["kernel_shape"])
            return _after(after, depthwise(a, a2, x4, w4, b, clip, lifted))
        n, c, h, wd = x4.shape
        m = w.shape[0]
        if a2["kernel_shape"] == [1, 1] and a2["strides"] == [1, 1] and not any(a2["pads"]):
            cols, (oh, ow) = np.ascontiguousarray(x4).reshape(n, c, h * wd), (h, wd)
        else:
            cols, (oh, ow) = columns(a2, x4)
        shape = (n, m, ow) if lifted else (n, m, oh, ow)
        y = np.empty((n, m, oh * ow), np.float32)
        r = None if residual is None else _matrix(residual, shape).reshape(n, m, oh * ow)
        weights = np.ascontiguousarray(w).reshape(m, -1)
        bias = None if b is None else np.ascontiguousarray(b).reshape(m)
        for i in range(n):
            for wg, cg, yg, bg, rg, lo, hi in _conv_gemms(
                groups, weights, cols[i], y[i], bias, None if r is None else r[i], *clip
            ):
                run_gemm(wg, cg, yg, bg, 0, rg, lo, hi)
        return _after(after, y.reshape(shape))

    def gemm(a, x, w, c=None, residual=None):
        clip, after = clip_bounds(a)
        n = w.shape[0] if a["transB"] else w.shape[1]
        if (
            a["alpha"] != 1.0
            or a["beta"] != 1.0
            or not _float32(x, w, c, residual)
            or c is not None
            and (c.size != n or c.shape[-1:] != (n,))  # only a bias per column
        ):
            return nn.gemm(a, x, w, c, residual)
        x = x.T if a["transA"] else x
        bias = None if c is None else np.ascontiguousarray(c).reshape(n)
        shape = (x.shape[0], n)
        if not a["transB"]:
            y = np.empty(shape, np.float32)
            run_gemm(np.ascontiguousarray(x), w, y, bias, 1, _matrix(residual, shape), *clip)
            return _after(after, y)
        # y.T = w @ x.T keeps w as stored, (N, K) rows; with one input row x.T is already a column
        yt = np.empty(shape[::-1], np.float32)
        rt = None if residual is None else np.ascontiguousarray(np.broadcast_to(residual, shape).T)
        run_gemm(w, np.ascontiguousarray(x.T), yt, bias, 0, rt, *clip)
        return _after(after, np.ascontiguousarray(yt.T))

    def conv_grad_weight(a, x, dy):
        if a["group"] != 1 or not _float32(x, dy):
            return gradients.conv_grad_weight(a, x, dy)
        lifted = x.ndim == 3
        a2, x4 = nn._as_2d(a, x)
        dy = dy[:, :, None, :] if lifted else dy
        cols, _ = nn.im2col(a2, x4, batch_inner=True)  # (C * KH * KW, N * OH * OW)
        # gw.T = cols @ dy.T: both operands with contiguous rows, the kernel's form
        dyt = np.ascontiguousarray(gradients._batch_inner(dy).T)
        gwt = np.empty((cols.shape[0], dyt.shape[1]), np.float32)
        run_gemm(cols, dyt, gwt, None, 0, None, -math.inf, math.inf)
        return np.ascontiguousarray(gwt.T).reshape(tuple(a["shape"]))

    def matmul(a, x, w, residual=None):
        clip, after = clip_bounds(a)
        if x.ndim < 2 or w.ndim != 2 or not _float32(x, w, residual):
            return nn.matmul(a, x, w, residual)
        shape = (*x.shape[:-1], w.shape[1])
        y = np.empty(shape, np.float32)
        r = None if residual is None else _matrix(residual, shape).reshape(-1, shape[-1])
        x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        run_gemm(x2, np.ascontiguousarray(w), y.reshape(-1, shape[-1]), None, 0, r, *clip)
        return _after(after, y)

    def pool(op, a, x):
        if run_pool is None or x.dtype != np.float32 or x.ndim not in (3, 4):
            return nn.KERNELS[op](a, x)
        lifted = x.ndim == 3
        a2, x4 = nn._as_2d(a, x)
        x4 = np.ascontiguousarray(x4)
        y = np.empty((*x4.shape[:2], *nn.output_size(a2, x4.shape[2:])), np.float32)
        for i in range(x4.shape[0]):
            run_pool(a2, x4[i], y[i], wasm.pool_mode(op, a))
        return y[:, :, 0, :] if lifted else y

    return {
        "Conv": conv,
        "Gemm": gemm,
        "MatMul": matmul,
        "ConvGradWeight": conv_grad_weight,
        **{op: functools.partial(pool, op) for op in POOLS},
    }


F32 = np.dtype(np.float32)
# ops whose kernels (planned or not) never return a view of an input
POOLS = ("MaxPool", "AveragePool")
FRESH = {"Conv", "Gemm", "MatMul", *POOLS}


def _fits(x, shape):
    """Whether x is what the prepared call was packed for: float32, C-contiguous, of that shape."""
    return x.shape == shape and x.dtype == F32 and x.flags.c_contiguous


class _Calls:
    """A kernel's calls for one node (per image, group and cache block), their arguments packed
    once at load. Only the pointers of the operands that change from run to run are set before each
    run (`varying`: each one's argument position and the stand-in it was packed with, whose address
    gives the offset into it of each call whose argument there points into it; a call whose
    argument points elsewhere, as a later K block's residual at its own output, keeps it), and an
    operand's address is looked up again only when another array comes: a planned buffer is the
    same array every run."""

    def __init__(self, fn, address, packed, varying=()):
        self.fn, self.address, self.packed = fn, address, [list(p) for p in packed]
        self.varying = []
        for pos, like in varying:
            start = address(like)
            inside = [
                (args, args[pos] - start) for args in self.packed if start <= args[pos] < start + like.nbytes
            ]
            self.varying.append((pos, inside))
        self.last, self.ptrs = [None] * len(varying), [0] * len(varying)

    def __call__(self, *operands):
        for j, x in enumerate(operands):
            if x is not self.last[j]:
                self.last[j], self.ptrs[j] = x, self.address(x)
        for (pos, inside), ptr in zip(self.varying, self.ptrs):
            for args, offset in inside:
                args[pos] = ptr + offset
        for args in self.packed:
            self.fn(*args)


class Planner:
    """A loaded model's fused nodes planned once: prepare(node, consts, shapes) gives a runner of
    the node's inputs with what is fixed at load resolved (activation bounds, the depthwise form,
    weights in the kernel's layout and their addresses, the packed arguments) and its output and
    im2col columns in buffers allocated here and reused by every run; nodes whose outputs
    are never read at the same time share an output buffer, as the WebGPU plan does. A graph output that
    lies in one must be copied before it is handed out (owns), or the next run would overwrite it.
    A runner falls back to the kernel table's entry for inputs it was not prepared for. Arguments
    are packed by wasm's *_args, an input that varies given as a stand-in of its shape whose
    pointer _Calls sets at each run."""

    def __init__(self, runners):
        self.address, self.gemm = runners["address"], runners["gemm"]
        self.depthwise, self.im2col = runners.get("depthwise"), runners.get("im2col")
        self.pool = runners.get("pool")
        self.eager = kernels(runners)
        self._buffers = {}  # id -> buffer, kept alive so that the ids stay theirs
        self._shared = []  # the output buffers: [index of the last node that may read it, buffer]
        self._life = (0, 0)  # the node being prepared, and the last that may read its output
        self._held = []  # constants in the kernels' layout: their addresses are packed, so they must live

    def hold(self, x):
        """x, kept alive as long as the plan: a packed address outlives the array's last reference."""
        if x is not None and x is not False:
            self._held.append(x)
        return x

    def empty(self, shape):
        """A float32 buffer of the plan for the node's own use, reused across runs."""
        buffer = np.empty(shape, F32)
        self._buffers[id(buffer)] = buffer
        return buffer

    def output(self, shape):
        """A buffer for the node's output: the smallest of the plan's output buffers that no node
        reads any more from this node on, else a new one, which later nodes may take in turn."""
        (now, until), size = self._life, math.prod(shape)
        free = [s for s in self._shared if s[0] < now and s[1].size >= size]
        if free:
            slot = min(free, key=lambda s: s[1].size)
            slot[0] = until
        else:
            slot = [until, self.empty(size)]
            self._shared.append(slot)
        return slot[1][:size].reshape(shape)

    def owns(self, x):
        """Whether x lies in one of the plan's buffers."""
        while isinstance(x.base, np.ndarray):
            x = x.base
        return id(x) in self._buffers

    def prepare(self, node, consts, shapes, life):
        """The node's runner, or None where it runs its kernel table entry: an op without a fused
        kernel, weights or bias that are not float32 constants, a shape not known at load, a
        residual that broadcasts, attributes the kernels do not take. life: (the node's index, the
        index of the last node that may read its output); nodes are prepared in order."""
        if node.op in POOLS:
            self._life = life
            return self._pool(node.op, node.attrs, shapes.get(node.inputs[0]))
        make = {"Conv": self._conv, "Gemm": self._gemm, "MatMul": self._matmul}.get(node.op)
        if make is None:
            return None
        self._life = life
        names = [*node.inputs, "", "", ""][:4]
        xs, w = shapes.get(names[0]), consts.get(names[1])
        if xs is None or w is None or w.dtype != F32:
            return None
        return make(node.attrs, names, xs, w, consts, shapes)

    def _conv(self, a, names, xs, w, consts, shapes):
        b, has_res = self.hold(_bias(consts, names[2])), bool(names[3])
        if b is False or len(xs) not in (3, 4):
            return None
        a2, _ = nn._as_2d(a, np.empty((0,) * len(xs), F32))
        xs4 = xs if len(xs) == 4 else (xs[0], xs[1], 1, xs[2])
        oh, ow = nn.output_size(a2, xs4[2:])
        ys = (xs[0], w.shape[0], ow) if len(xs) == 3 else (xs[0], w.shape[0], oh, ow)
        if has_res and shapes.get(names[3]) != ys:
            return None
        clip, after = clip_bounds(a)
        if a["group"] != 1 and self.depthwise is not None and _depthwise_form(a2, xs4[1], w, has_res):
            run, out = self._depthwise_conv(a2, xs4, w, b, clip, len(xs) == 3)
        else:
            prepared = self._gemm_conv(a2, xs4, w, b, clip, has_res, a["group"])
            if prepared is None:
                return None
            run, out = prepared
            out = out.reshape(ys)
        fallback = self.eager["Conv"]

        def conv(x, w, b=None, residual=None):
            if not _fits(x, xs) or has_res and not _fits(residual, ys):
                return fallback(a, x, w, b, residual)
            run(x, residual) if has_res else run(x)
            return _after(after, out)

        return conv

    def _gemm_conv(self, a2, xs4, w, b, clip, has_res, groups):
        """(run(x[, residual]), output buffer) of a conv that is not depthwise's: per image and group,
        y = w @ columns, the columns being the image itself for a 1x1 stride-1 conv without pads,
        else im2col's."""
        n, c, h, wd = xs4
        (kh, kw), m = a2["kernel_shape"], w.shape[0]
        oh, ow = nn.output_size(a2, (h, wd))
        direct = (kh, kw) == (1, 1) and a2["strides"] == [1, 1] and not any(a2["pads"])
        if not direct and self.im2col is None:
            return None
        weights = self.hold(np.ascontiguousarray(w).reshape(m, -1))
        y = self.output((n, m, oh * ow))
        res = np.empty((n, m, oh * ow), F32) if has_res else None
        image = np.empty(xs4, F32)  # stands in for the input, as res for the residual
        cols = image.reshape(n, c, h * wd) if direct else self.empty((n, c * kh * kw, oh * ow))
        packed = [
            wasm.gemm_args(self.address, wg, cg, yg, bg, 0, rg, lo, hi)
            for i in range(n)
            for wg, cg, yg, bg, rg, lo, hi in _conv_gemms(
                groups, weights, cols[i], y[i], b, None if res is None else res[i], *clip
            )
        ]
        gemm = _Calls(
            self.gemm,
            self.address,
            packed,
            ([(2, image)] if direct else []) + ([(11, res)] if has_res else []),
        )
        if direct:
            return gemm, y
        im2col = _Calls(
            self.im2col,
            self.address,
            [wasm.im2col_args(self.address, a2, image[i], cols[i]) for i in range(n)],
            [(0, image)],
        )

        def run(x, *residual):
            im2col(x)
            gemm(*residual)

        return run, y

    def _depthwise_conv(self, a2, xs4, w, b, clip, lifted):
        """(run(x), output) of a depthwise conv: one kernel call per image, on the input as it is
        (the kernel pads each channel in its scratch plane, planned here)."""
        n, c, h, wd = xs4
        k, stride = a2["kernel_shape"][0], a2["strides"][0]
        oh, ow = nn.output_size(a2, (h, wd))
        image, scratch = np.empty(xs4, F32), self.empty(wasm.depthwise_plane(k, stride, (oh, ow)))
        y = self.output((n, c, oh, ow))
        filters = self.hold(np.ascontiguousarray(w).reshape(c, k, k))
        packed = [
            wasm.depthwise_args(
                self.address, image[i], filters, b, y[i], scratch, stride, *clip, a2["pads"][:2]
            )
            for i in range(n)
        ]
        calls = _Calls(self.depthwise, self.address, packed, [(0, image)])
        return calls, y[:, :, 0, :] if lifted else y

    def _pool(self, op, a, xs):
        """The runner of a MaxPool or AveragePool: one pool kernel call per image into a planned
        output."""
        if self.pool is None or xs is None or len(xs) not in (3, 4):
            return None
        a2, _ = nn._as_2d(a, np.empty((0,) * len(xs), F32))
        xs4 = xs if len(xs) == 4 else (xs[0], xs[1], 1, xs[2])
        y, image = self.output((*xs4[:2], *nn.output_size(a2, xs4[2:]))), np.empty(xs4, F32)
        mode = wasm.pool_mode(op, a)
        packed = [wasm.pool_args(self.address, a2, image[i], y[i], mode) for i in range(xs4[0])]
        calls, fallback = _Calls(self.pool, self.address, packed, [(0, image)]), self.eager[op]
        out = y[:, :, 0, :] if len(xs) == 3 else y

        def pool(x):
            if not _fits(x, xs):
                return fallback(a, x)
            calls(x)
            return out

        return pool

    def _gemm(self, a, names, xs, w, consts, shapes):
        c, has_res = self.hold(_bias(consts, names[2])), bool(names[3])
        n = w.shape[0] if a["transB"] else w.shape[-1]
        if (
            a["alpha"] != 1.0
            or a["beta"] != 1.0
            or a["transA"]
            or len(xs) != 2
            or w.ndim != 2
            or c is False
            or c is not None
            and (c.size != n or c.shape[-1:] != (n,))
            or has_res
            and shapes.get(names[3]) != (xs[0], n)
        ):
            return None
        bias = None if c is None else self.hold(c.reshape(n))
        clip, after = clip_bounds(a)
        if a["transB"] and xs[0] == 1:
            # y.T = w @ x.T, w as stored: x's one row is a column already (the GEMV form)
            y, x = self.output((n, 1)), np.empty((xs[1], 1), F32)
            residual = _like(y, has_res)
            packed = wasm.gemm_args(self.address, w, x, y, bias, 0, residual, *clip)
            varying = [(2, x)]
            y = y.reshape(1, n)
        else:
            wk = self.hold(np.ascontiguousarray(w.T) if a["transB"] else w)  # (K, N), transposed once
            y, x = self.output((xs[0], n)), np.empty(xs, F32)
            residual = _like(y, has_res)
            packed = wasm.gemm_args(self.address, x, wk, y, bias, 1, residual, *clip)
            varying = [(0, x)]
        return self._single(self.eager["Gemm"], a, packed, varying, residual, xs, y, after, 3)

    def _matmul(self, a, names, xs, w, consts, shapes):
        has_res = bool(names[2])
        ys = (*xs[:-1], w.shape[-1])
        if len(xs) < 2 or w.ndim != 2 or has_res and shapes.get(names[2]) != ys:
            return None
        clip, after = clip_bounds(a)
        y = self.output(ys)
        y2 = y.reshape(-1, ys[-1])
        x2, residual = np.empty((y2.shape[0], xs[-1]), F32), _like(y2, has_res)
        packed = wasm.gemm_args(self.address, x2, w, y2, None, 0, residual, *clip)
        return self._single(self.eager["MatMul"], a, packed, [(0, x2)], residual, xs, y, after, 2)

    def _single(self, fallback, a, packed, varying, residual, xs, y, after, res_index):
        """The runner of a node that is one GEMM call on its first input (and residual, input
        res_index, where `residual` is its stand-in), its weights and bias packed in."""
        has_res = residual is not None
        calls = _Calls(self.gemm, self.address, [packed], varying + ([(11, residual)] if has_res else []))
        ys = y.shape

        def single(*inputs):
            x, residual = inputs[0], inputs[res_index] if has_res else None
            if not _fits(x, xs) or has_res and not _fits(residual, ys):
                return fallback(a, *inputs)
            calls(x, residual) if has_res else calls(x)
            return _after(after, y)

        return single


def _bias(consts, name):
    """The named bias as a contiguous float32 vector, None where there is none, False where it is
    not a float32 constant (the node then runs its kernel table entry)."""
    if not name:
        return None
    b = consts.get(name)
    return np.ascontiguousarray(b).reshape(-1) if b is not None and b.dtype == F32 else False


def _like(y, present):
    """A stand-in for a residual of y's shape, for packing (None where there is none)."""
    return np.empty(y.shape, F32) if present else None
