"""The wasm depthwise kernel (kernels/depthwise_simd.wat), natively through wasmtime, against numpy in
float64: each form (3x3 and 5x5, stride 1 and 2) over output widths across the 4-wide vectors and
their scalar tail, with and without a bias and a clip, and every operand placed flush against the
end of memory, so a read past any of them traps. Tolerance: k*k + 2 roundoffs of the magnitudes.
"""

import math

import numpy as np
import pytest

from pycore.cpu.wasm import DEPTHWISE, DEPTHWISE_SHAPES, check_depthwise, depthwise_args
from tests.unit.wasm_harness import Kernel, assembled

KERNEL = Kernel(assembled()[DEPTHWISE])
FORMS = sorted(DEPTHWISE_SHAPES)


def reference(x, w, bias, stride, oh, ow):
    x64, k = x.astype(np.float64), w.shape[-1]
    want, scale = np.zeros((x.shape[0], oh, ow)), np.zeros((x.shape[0], oh, ow))
    for i in range(k):
        for j in range(k):
            tap = x64[:, i : i + stride * oh : stride, j : j + stride * ow : stride] * w[:, i, j, None, None]
            want, scale = want + tap, scale + np.abs(tap)
    if bias is not None:
        want, scale = want + bias[:, None, None], scale + np.abs(bias[:, None, None])
    return want, 2 * (k * k + 2) * 2.0**-24 * scale + 1e-30


def run(k, stride, channels, oh, ow, bias=True, clip=(-math.inf, math.inf), flush=0, extra=(0, 0)):
    """Kernel output and the numpy reference; extra pads the input beyond what the output needs."""
    rng = np.random.default_rng([k, stride, channels, oh, ow, flush])
    hp, wp = (oh - 1) * stride + k + extra[0], (ow - 1) * stride + k + extra[1]
    x = rng.standard_normal((channels, hp, wp), np.float32)
    w = rng.standard_normal((channels, k, k), np.float32)
    b = rng.standard_normal(channels, np.float32) if bias else None
    y = np.full((channels, oh, ow), np.nan, np.float32)
    operands = [x, w, b, y]
    order = [flush] + [i for i in range(4) if i != flush]
    placed = dict(zip(order, KERNEL.place([operands[i] for i in order])))
    KERNEL(
        "depthwise",
        *depthwise_args(KERNEL.address, placed[0], placed[1], placed[2], placed[3], stride, *clip),
    )
    want, bound = reference(x, w, b, stride, oh, ow)
    return np.array(placed[3]), np.clip(want, *clip), bound


@pytest.mark.parametrize("k, stride", FORMS)
def test_every_width_across_the_vectors_and_tail(k, stride):
    for ow in range(1, 14):
        for oh, channels in [(1, 1), (3, 2), (2, 5)]:
            got, want, bound = run(k, stride, channels, oh, ow)
            assert (np.abs(got - want) <= bound).all(), (k, stride, channels, oh, ow)


@pytest.mark.parametrize("k, stride", FORMS)
@pytest.mark.parametrize("flush", range(4), ids=["x", "w", "bias", "y"])
def test_no_operand_is_read_or_written_past_its_end(k, stride, flush):
    for oh, ow in [(2, 5), (3, 8), (1, 7)]:
        got, want, bound = run(k, stride, 3, oh, ow, flush=flush)
        assert (np.abs(got - want) <= bound).all(), (oh, ow, flush)


@pytest.mark.parametrize("k, stride", FORMS)
def test_bias_clip_and_a_wider_input(k, stride):
    for bias, clip in [(False, (0.0, math.inf)), (True, (0.0, 6.0)), (True, (-1.0, 1.0))]:
        got, want, bound = run(k, stride, 4, 5, 9, bias, clip, extra=(1, 1))
        assert (np.abs(got - want) <= bound).all() and got.min() >= clip[0] and got.max() <= clip[1]


def test_the_load_check_passes_a_right_kernel_and_refuses_a_wrong_one():
    assert check_depthwise(*KERNEL.copying("depthwise"))
    _, address = KERNEL.copying("depthwise")
    assert not check_depthwise(lambda *args: None, address)


def test_depthwise_args_refuses_what_the_kernel_has_no_form_for():
    x, y = np.zeros((2, 9, 9), np.float32), np.zeros((2, 7, 7), np.float32)
    with pytest.raises(ValueError, match="not a kernel form"):
        depthwise_args(lambda v: 64, x, np.zeros((2, 3, 3), np.float32), None, y, 3)
    with pytest.raises(ValueError, match="not a kernel form"):
        depthwise_args(
            lambda v: 64, x, np.zeros((2, 4, 4), np.float32), None, np.zeros((2, 6, 6), np.float32), 1
        )
    with pytest.raises(ValueError, match="C-contiguous"):
        depthwise_args(lambda v: 64, x.transpose(0, 2, 1), np.zeros((2, 3, 3), np.float32), None, y, 1)
