"""The wasm maxpool kernel (kernels/maxpool.wat), natively through wasmtime, against nn.max_pool
(the CPU path's numpy MaxPool): strides, dilations, uneven pads, ceil_mode windows past the input,
pads wider than the window's reach, every operand placed flush against the end of memory so a read
or write past it traps. Each output is the max of some of its inputs, so results must be equal.
"""

import numpy as np
import pytest

from pycore.cpu import nn
from pycore.cpu.wasm import MAXPOOL, check_maxpool, maxpool_args
from tests.unit.wasm_harness import Kernel, assembled

KERNEL = Kernel(assembled()[MAXPOOL])

CASES = [  # kernel, stride, dilation, pads (top, left, bottom, right), ceil_mode, input (c, h, w)
    (2, 2, 1, [0, 0, 0, 0], 0, (16, 28, 28)),
    (2, 2, 1, [0, 0, 0, 0], 0, (3, 7, 9)),  # odd sizes: the last row and column are dropped
    (3, 2, 1, [1, 1, 1, 1], 0, (3, 15, 16)),
    (3, 1, 1, [1, 1, 1, 1], 0, (2, 9, 8)),
    (3, 2, 1, [0, 0, 0, 0], 1, (2, 14, 13)),  # ceil_mode: the last window overhangs
    (2, 3, 2, [2, 1, 0, 3], 0, (2, 9, 8)),
    (5, 2, 1, [2, 2, 2, 2], 0, (1, 3, 5)),
    (3, 1, 3, [0, 0, 0, 0], 0, (2, 7, 10)),
    (1, 1, 1, [0, 0, 0, 0], 0, (4, 5, 7)),
]


def run(k, s, d, pads, ceil, shape, flush_x):
    a2 = {"kernel_shape": [k, k], "strides": [s, s], "dilations": [d, d], "pads": pads, "ceil_mode": ceil}
    x = np.random.default_rng([k, s, d, *shape]).integers(-4, 5, shape).astype(np.float32)  # ties
    x.reshape(-1)[:3] = -np.inf, np.nan, np.inf
    want = nn.max_pool(a2, x[None])[0]
    y = np.full(want.shape, 99.0, np.float32)
    if flush_x:
        x_view, y_view = KERNEL.place([x, y])
    else:
        y_view, x_view = KERNEL.place([y, x])
    KERNEL("maxpool", *maxpool_args(KERNEL.address, a2, x_view, y_view))
    return np.array(y_view), want


@pytest.mark.parametrize("flush_x", [True, False], ids=["x-flush", "y-flush"])
@pytest.mark.parametrize("case", CASES, ids=[f"k{c[0]}s{c[1]}d{c[2]}c{c[4]}-{c[5]}" for c in CASES])
def test_pools_equal_numpys(case, flush_x):
    got, want = run(*case, flush_x)
    np.testing.assert_array_equal(got, want)


def test_the_load_check_passes_a_right_kernel_and_refuses_a_wrong_one():
    assert check_maxpool(*KERNEL.copying("maxpool"))
    _, address = KERNEL.copying("maxpool")
    assert not check_maxpool(lambda *args: None, address)


def test_maxpool_args_refuses_an_output_of_the_wrong_shape_or_layout():
    a2 = {"kernel_shape": [2, 2], "strides": [2, 2], "dilations": [1, 1], "pads": [0, 0, 0, 0]}
    x = np.zeros((2, 6, 6), np.float32)
    with pytest.raises(ValueError, match="y: expected"):
        maxpool_args(lambda v: 64, a2, x, np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="x: expected"):
        maxpool_args(lambda v: 64, a2, x.transpose(0, 2, 1), np.zeros((2, 3, 3), np.float32))
