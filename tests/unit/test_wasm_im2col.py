"""The wasm im2col kernel (kernels/im2col.wat), natively through wasmtime, against nn.im2col (the
numpy columns the CPU path multiplies): strides, dilations and uneven pads, pads wider than the
kernel reach (whole rows and columns of zeros), every operand placed flush against the end of memory
so a read or write past it traps. The kernel only copies, so results must be equal, not close.
"""

import numpy as np
import pytest

from pycore.cpu import nn
from pycore.cpu.wasm import IM2COL, check_im2col, im2col_args
from tests.unit.wasm_harness import Kernel, assembled

KERNEL = Kernel(assembled()[IM2COL])

CASES = [  # kernel, stride, dilation, pads (top, left, bottom, right), input (c, h, w)
    (3, 1, 1, [1, 1, 1, 1], (1, 28, 28)),
    (3, 1, 1, [1, 1, 1, 1], (16, 14, 14)),
    (3, 2, 1, [0, 0, 1, 1], (3, 15, 16)),
    (5, 2, 1, [2, 2, 2, 2], (2, 11, 9)),
    (2, 3, 2, [2, 1, 0, 3], (2, 9, 8)),
    (1, 1, 1, [0, 0, 0, 0], (4, 5, 7)),
    (3, 1, 1, [4, 5, 4, 5], (1, 2, 3)),  # pads past the kernel's reach
    (3, 1, 3, [0, 0, 0, 0], (2, 7, 10)),
]


def run(k, s, d, pads, shape, flush_x):
    a2 = {"kernel_shape": [k, k], "strides": [s, s], "dilations": [d, d], "pads": pads}
    x = np.random.default_rng([k, s, d, *shape]).standard_normal(shape, np.float32)
    want = nn.im2col(a2, x[None])[0][0]
    cols = np.full(want.shape, np.nan, np.float32)
    if flush_x:
        x_view, cols_view = KERNEL.place([x, cols])
    else:
        cols_view, x_view = KERNEL.place([cols, x])
    KERNEL("im2col", *im2col_args(KERNEL.address, a2, x_view, cols_view))
    return np.array(cols_view), want


@pytest.mark.parametrize("flush_x", [True, False], ids=["x-flush", "cols-flush"])
@pytest.mark.parametrize("case", CASES, ids=[f"k{c[0]}s{c[1]}d{c[2]}" for c in CASES])
def test_columns_equal_numpys(case, flush_x):
    got, want = run(*case, flush_x)
    assert np.array_equal(got, want)


def test_the_load_check_passes_a_right_kernel_and_refuses_a_wrong_one():
    assert check_im2col(*KERNEL.copying("im2col"))
    _, address = KERNEL.copying("im2col")
    assert not check_im2col(lambda *args: None, address)


def test_im2col_args_refuses_columns_of_the_wrong_shape_or_layout():
    a2 = {"kernel_shape": [3, 3], "strides": [1, 1], "dilations": [1, 1], "pads": [1, 1, 1, 1]}
    x = np.zeros((2, 5, 5), np.float32)
    with pytest.raises(ValueError, match="cols: expected"):
        im2col_args(lambda v: 64, a2, x, np.zeros((18, 24), np.float32))
    with pytest.raises(ValueError, match="x: expected"):
        im2col_args(lambda v: 64, a2, x.transpose(0, 2, 1), np.zeros((18, 25), np.float32))
