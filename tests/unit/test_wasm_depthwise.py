"""The wasm depthwise kernel (kernels/depthwise_simd.wat), natively through wasmtime, against numpy in
float64: each form (3x3 and 5x5, stride 1 and 2) over output widths across the 4-wide vectors and
their scalar tail, unpadded and with even, uneven and wider-than-the-image padding (which the
kernel makes in its scratch plane), with and without a bias and a clip, and every operand placed
flush against the end of memory, so a read past any of them traps. Tolerance: k*k + 2 roundoffs
of the magnitudes.
"""

import math

import numpy as np
import pytest

from pycore.cpu.wasm import DEPTHWISE, DEPTHWISE_SHAPES, check_depthwise, depthwise_args, depthwise_plane
from tests.unit.wasm_harness import Kernel, assembled

KERNEL = Kernel(assembled()[DEPTHWISE])
FORMS = sorted(DEPTHWISE_SHAPES)


def pad_cases(k):
    """(top, left, bottom, right): none, the "same" pads, uneven ones (TF's stride-2 "same"), and
    more on one side than on the other."""
    return [(0, 0, 0, 0), (k // 2,) * 4, (k // 2 - 1, k // 2 - 1, k // 2, k // 2), (k - 1, 1, 0, k - 2)]


def reference(x, w, bias, stride, oh, ow, pads):
    """y by numpy on the explicitly zero-padded input, and the roundoff bound of each output."""
    k, (pt, pl) = w.shape[-1], pads[:2]
    bottom, right = ((o - 1) * stride + k - p - n for o, p, n in [(oh, pt, x.shape[1]), (ow, pl, x.shape[2])])
    x64 = np.pad(x.astype(np.float64), ((0, 0), (pt, max(bottom, 0)), (pl, max(right, 0))))
    want, scale = np.zeros((x.shape[0], oh, ow)), np.zeros((x.shape[0], oh, ow))
    for i in range(k):
        for j in range(k):
            tap = x64[:, i : i + stride * oh : stride, j : j + stride * ow : stride] * w[:, i, j, None, None]
            want, scale = want + tap, scale + np.abs(tap)
    if bias is not None:
        want, scale = want + bias[:, None, None], scale + np.abs(bias[:, None, None])
    return want, 2 * (k * k + 2) * 2.0**-24 * scale + 1e-30


def run(
    k, stride, channels, oh, ow, bias=True, clip=(-math.inf, math.inf), flush=0, pads=(0, 0, 0, 0), extra=0
):
    """Kernel output and the numpy reference for an input just large enough for the output with
    those pads (extra rows and columns more)."""
    rng = np.random.default_rng([k, stride, channels, oh, ow, flush, *pads])
    pt, pl, pb, pr = pads
    h, wd = (oh - 1) * stride + k - pt - pb + extra, (ow - 1) * stride + k - pl - pr + extra
    x = rng.standard_normal((channels, h, wd), np.float32)
    w = rng.standard_normal((channels, k, k), np.float32)
    b = rng.standard_normal(channels, np.float32) if bias else None
    y = np.full((channels, oh, ow), np.nan, np.float32)
    operands = [x, w, b, y, np.full(depthwise_plane(k, stride, (oh, ow)), np.nan, np.float32)]
    order = [flush] + [i for i in range(len(operands)) if i != flush]
    placed = dict(zip(order, KERNEL.place([operands[i] for i in order])))
    args = depthwise_args(KERNEL.address, *(placed[i] for i in range(5)), stride, *clip, (pt, pl))
    KERNEL("depthwise", *args)
    want, bound = reference(x, w, b, stride, oh, ow, pads)
    return np.array(placed[3]), np.clip(want, *clip), bound


@pytest.mark.parametrize("k, stride", FORMS)
def test_every_width_across_the_vectors_and_tail(k, stride):
    for pads in pad_cases(k):
        for ow in range(1, 14):
            for oh, channels in [(1, 1), (3, 2), (2, 5)]:
                got, want, bound = run(k, stride, channels, oh, ow, pads=pads)
                assert (np.abs(got - want) <= bound).all(), (k, stride, channels, oh, ow, pads)


@pytest.mark.parametrize("k, stride", FORMS)
@pytest.mark.parametrize("flush", range(5), ids=["x", "w", "bias", "y", "scratch"])
def test_no_operand_is_read_or_written_past_its_end(k, stride, flush):
    for pads in pad_cases(k):
        for oh, ow in [(2, 5), (3, 8), (1, 7)]:
            got, want, bound = run(k, stride, 3, oh, ow, flush=flush, pads=pads)
            assert (np.abs(got - want) <= bound).all(), (oh, ow, flush, pads)


@pytest.mark.parametrize("k, stride", FORMS)
def test_padding_wider_than_the_image(k, stride):
    """A small image under large pads (EfficientNet's 7x7 maps under a 5x5 filter, and less): some
    outputs have every tap in the padding and are their bias alone."""
    for pads in [(k - 1, k - 1, k - 1, k - 1), (k // 2, k // 2, k // 2, k // 2)]:
        for size in range(1, 8):
            oh = (size + pads[0] + pads[2] - k) // stride + 1
            got, want, bound = run(
                k, stride, 3, oh, oh, pads=pads, extra=size - ((oh - 1) * stride + k - 2 * pads[0])
            )
            assert got.shape == (3, oh, oh) and (np.abs(got - want) <= bound).all(), (size, pads)


@pytest.mark.parametrize("k, stride", FORMS)
def test_an_output_that_lies_wholly_in_the_padding_is_its_bias(k, stride):
    """Pads past everything the output reaches: no part of the image is in the plane."""
    rng = np.random.default_rng(k + stride)
    x, w = rng.standard_normal((2, 3, 4), np.float32), rng.standard_normal((2, k, k), np.float32)
    bias, y = rng.standard_normal(2, np.float32), np.full((2, 2, 3), np.nan, np.float32)
    plane = np.full(depthwise_plane(k, stride, (2, 3)), np.nan, np.float32)
    for pads in [(20, 20), (0, 20), (20, 0)]:
        placed = KERNEL.place([x, w, bias, y, plane])
        KERNEL("depthwise", *depthwise_args(KERNEL.address, *placed, stride, pads=pads))
        np.testing.assert_array_equal(
            np.array(placed[3]), np.broadcast_to(bias[:, None, None], y.shape), str(pads)
        )


@pytest.mark.parametrize("k, stride", FORMS)
def test_bias_clip_and_a_wider_input(k, stride):
    for bias, clip in [(False, (0.0, math.inf)), (True, (0.0, 6.0)), (True, (-1.0, 1.0))]:
        for pads in pad_cases(k):
            got, want, bound = run(k, stride, 4, 5, 9, bias, clip, pads=pads, extra=1)
            assert (np.abs(got - want) <= bound).all() and got.min() >= clip[0] and got.max() <= clip[1]


def test_the_load_check_passes_a_right_kernel_and_refuses_a_wrong_one():
    assert check_depthwise(*KERNEL.copying("depthwise"))
    _, address = KERNEL.copying("depthwise")
    assert not check_depthwise(lambda *args: None, address)


def test_depthwise_args_refuses_what_the_kernel_has_no_form_for():
    x, y = np.zeros((2, 9, 9), np.float32), np.zeros((2, 7, 7), np.float32)
    w3, plane = np.zeros((2, 3, 3), np.float32), np.zeros(81, np.float32)
    with pytest.raises(ValueError, match="not a kernel form"):
        depthwise_args(lambda v: 64, x, w3, None, y, plane, 3)
    with pytest.raises(ValueError, match="not a kernel form"):
        depthwise_args(
            lambda v: 64, x, np.zeros((2, 4, 4), np.float32), None, np.zeros((2, 6, 6), np.float32), plane, 1
        )
    with pytest.raises(ValueError, match="not a kernel form"):
        depthwise_args(lambda v: 64, x, w3, None, y, plane, 1, pads=(-1, 0))
    with pytest.raises(ValueError, match="C-contiguous"):
        depthwise_args(lambda v: 64, x.transpose(0, 2, 1), w3, None, y, plane, 1)
    with pytest.raises(ValueError, match="scratch"):
        depthwise_args(lambda v: 64, x, w3, None, y, plane[:80], 1)
