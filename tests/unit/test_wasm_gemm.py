"""The wasm GEMM kernels (plain SIMD and relaxed-SIMD), natively through wasmtime, against numpy in
float64: shape sweeps across the register block's edges (4 or 6 rows, 8 and 4 columns, the GEMV
form at N = 1), every epilogue, leading dimensions wider than the matrix, and operands placed flush
against the end of memory, so a read past any of them traps.

The tolerance is the classic bound for a K-term dot product, (K + 3) unit roundoffs times
|A| @ |B| + |bias| + |residual| per element (the 3: the bias, the residual and the clip's
neighbours), doubled for margin; any summation order or FMA meets it, a missing or extra term does not.
"""

import math

import numpy as np
import pytest

from pycore.cpu.wasm import GEMM, check, gemm_args
from tests.unit.wasm_harness import Kernel, assembled

WASM = assembled()
CLIPS = {"none": (-math.inf, math.inf), "relu": (0.0, math.inf), "relu6": (0.0, 6.0)}


@pytest.fixture(scope="module", params=GEMM)
def kernel(request):
    return Kernel(WASM[request.param])


def reference(a, b, bias, bias_axis, residual, lo, hi):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want, scale = a64 @ b64, np.abs(a64) @ np.abs(b64)
    if bias is not None:
        bias2 = bias[:, None] if bias_axis == 0 else bias[None, :]
        want, scale = want + bias2, scale + np.abs(bias2)
    if residual is not None:
        want, scale = want + residual, scale + np.abs(residual)
    return np.clip(want, lo, hi), 2 * (a.shape[1] + 3) * 2.0**-24 * scale + 1e-30


def run(kernel, m, n, k, bias_axis=None, residual="none", clip="none", seed=0, pad=(0, 0, 0), flush=0):
    """C from the kernel, and the numpy reference with its bound. pad widens a, b, c's rows (views
    of bigger matrices); flush picks which operand ends at the memory's end."""
    rng = np.random.default_rng([seed, m, n, k])
    a = rng.standard_normal((m, k + pad[0]), np.float32)[:, :k]
    b = rng.standard_normal((k, n + pad[1]), np.float32)[:, :n]
    c = np.full((m, n + pad[2]), np.nan, np.float32)[:, :n]
    bias = None if bias_axis is None else rng.standard_normal((m, n)[bias_axis], np.float32)
    r = rng.standard_normal((m, n), np.float32) if residual != "none" else None
    operands = [a, b, c, bias, r]
    order = [flush] + [i for i in range(5) if i != flush]
    placed = dict(zip(order, kernel.place([operands[i] for i in order])))
    a_, b_, c_, bias_, r_ = (placed[i] for i in range(5))
    if residual == "in place":  # the residual is c's own memory, as a fused residual add writes it
        c_[...] = r
        r_ = c_
    lo, hi = CLIPS[clip]
    kernel("gemm", *gemm_args(kernel.address, a_, b_, c_, bias_, bias_axis or 0, r_, lo, hi))
    want, bound = reference(a, b, bias, bias_axis or 0, r, lo, hi)
    return np.array(c_), want, bound


def assert_close(got, want, bound, what):
    bad = ~(np.abs(got - want) <= bound)
    assert not bad.any(), f"{what}: {bad.sum()} of {bad.size} wrong, first at {np.argwhere(bad)[0]}"


SIZES_M = [1, 2, 3, 4, 5, 6, 7, 8, 11, 13]
SIZES_N = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 33]
SIZES_K = [0, 1, 2, 3, 4, 5, 8, 17, 64]


def test_every_shape_across_the_block_edges(kernel):
    for m in SIZES_M:
        for n in SIZES_N:
            for k in SIZES_K:
                assert_close(*run(kernel, m, n, k), f"{m}x{k} @ {k}x{n}")


@pytest.mark.parametrize("bias_axis", [None, 0, 1])
@pytest.mark.parametrize("residual", ["none", "separate", "in place"])
@pytest.mark.parametrize("clip", list(CLIPS))
def test_fused_epilogues(kernel, bias_axis, residual, clip):
    for m, n, k in [(1, 1, 7), (5, 1, 9), (7, 13, 5), (6, 8, 16), (13, 33, 17), (4, 12, 0)]:
        got, want, bound = run(kernel, m, n, k, bias_axis, residual, clip)
        assert_close(got, want, bound, f"{m}x{k} @ {k}x{n} bias {bias_axis} residual {residual} {clip}")
        lo, hi = CLIPS[clip]
        assert got.min() >= lo and got.max() <= hi


@pytest.mark.parametrize("flush", range(5), ids=["a", "b", "c", "bias", "residual"])
def test_no_operand_is_read_or_written_past_its_end(kernel, flush):
    for m, n, k in [(5, 13, 7), (7, 1, 13), (1, 7, 3), (6, 17, 5)]:
        got, want, bound = run(kernel, m, n, k, 1 if n > 1 else 0, "separate", "relu", flush=flush)
        assert_close(got, want, bound, f"{m}x{k} @ {k}x{n}, operand {flush} last in memory")


def test_leading_dimensions_wider_than_the_matrix(kernel):
    for m, n, k in [(5, 13, 7), (9, 1, 6), (6, 8, 16), (3, 4, 1)]:
        for pad in [(1, 0, 0), (0, 3, 0), (0, 0, 5), (4, 4, 4)]:
            got, want, bound = run(kernel, m, n, k, 0, "separate", "relu6", pad=pad)
            assert_close(got, want, bound, f"{m}x{k} @ {k}x{n} padded {pad}")


def test_columns_outside_c_are_left_alone(kernel):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 6), np.float32), rng.standard_normal((6, 9), np.float32)
    whole = np.full((5, 16), 7.0, np.float32)
    a_, b_, whole_ = kernel.place([a, b, whole])
    kernel("gemm", *gemm_args(kernel.address, a_, b_, whole_[:, 3:12]))
    np.testing.assert_array_equal(whole_[:, :3], 7.0)
    np.testing.assert_array_equal(whole_[:, 12:], 7.0)


def test_larger_shapes_like_efficientnet(kernel):
    for m, n, k in [(32, 196, 27), (144, 200, 24), (320, 49, 112), (1000, 1, 1280), (1, 100, 1280)]:
        got, want, bound = run(kernel, m, n, k, 0, "none", "relu6")
        assert_close(got, want, bound, f"{m}x{k} @ {k}x{n}")


def test_the_load_check_passes_a_right_kernel_and_refuses_a_wrong_one(kernel):
    assert check(*kernel.copying("gemm"))
    _, address = kernel.copying("gemm")
    assert not check(lambda *args: None, address)  # c left as np.empty had it


def test_gemm_args_refuses_what_the_kernel_cannot_read():
    a, b, c = np.zeros((3, 4), np.float32), np.zeros((4, 5), np.float32), np.zeros((3, 5), np.float32)
    address = lambda x: 64
    with pytest.raises(ValueError, match="float32"):
        gemm_args(address, a.astype(np.float64), b, c)
    with pytest.raises(ValueError, match="contiguous"):
        gemm_args(address, a, np.zeros((5, 4), np.float32).T, c)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        gemm_args(address, a, b, c, bias=np.zeros(5, np.float32), bias_axis=0)
    with pytest.raises(ValueError, match="expected float32"):
        gemm_args(address, a, b, np.zeros((3, 4), np.float32))
