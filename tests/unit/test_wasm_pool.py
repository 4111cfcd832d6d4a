"""The wasm pool kernel (kernels/pool.wat), natively through wasmtime, against nn.max_pool and
nn.average_pool (the CPU path's numpy MaxPool and AveragePool, both count_include_pad modes):
strides, dilations, uneven pads, ceil_mode windows past the input, pads wider than the window's
reach, every operand placed flush against the end of memory so a read or write past it traps. A max
is one of its inputs, so it must be equal; a mean may differ from numpy's in the last bit.
"""

import numpy as np
import pytest

from pycore.cpu import nn
from pycore.cpu.wasm import POOL, POOL_MODES, check_pool, pool_args
from tests.unit.wasm_harness import Kernel, assembled

KERNEL = Kernel(assembled()[POOL])

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


def run(op, include, k, s, d, pads, ceil, shape, flush_x):
    a2 = {"kernel_shape": [k, k], "strides": [s, s], "dilations": [d, d], "pads": pads, "ceil_mode": ceil}
    a2["count_include_pad"] = include
    x = np.random.default_rng([k, s, d, *shape]).integers(-4, 5, shape).astype(np.float32)  # ties
    if op == "MaxPool":
        x.reshape(-1)[:3] = -np.inf, np.nan, np.inf
    want = (nn.max_pool if op == "MaxPool" else nn.average_pool)(a2, x[None])[0]
    y = np.full(want.shape, 99.0, np.float32)
    if flush_x:
        x_view, y_view = KERNEL.place([x, y])
    else:
        y_view, x_view = KERNEL.place([y, x])
    KERNEL("pool", *pool_args(KERNEL.address, a2, x_view, y_view, POOL_MODES[op, include]))
    return np.array(y_view), want


@pytest.mark.parametrize("flush_x", [True, False], ids=["x-flush", "y-flush"])
@pytest.mark.parametrize("case", CASES, ids=[f"k{c[0]}s{c[1]}d{c[2]}c{c[4]}-{c[5]}" for c in CASES])
@pytest.mark.parametrize("op, include", list(POOL_MODES), ids=["max", "mean", "mean-with-pads"])
def test_pools_equal_numpys(op, include, case, flush_x):
    got, want = run(op, include, *case, flush_x)
    if op == "MaxPool":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=2e-7, atol=0)


def test_the_load_check_passes_a_right_kernel_and_refuses_a_wrong_one():
    assert check_pool(*KERNEL.copying("pool"))
    _, address = KERNEL.copying("pool")
    assert not check_pool(lambda *args: None, address)


def test_pool_args_refuses_an_output_of_the_wrong_shape_or_layout():
    a2 = {"kernel_shape": [2, 2], "strides": [2, 2], "dilations": [1, 1], "pads": [0, 0, 0, 0]}
    x = np.zeros((2, 6, 6), np.float32)
    with pytest.raises(ValueError, match="y: expected"):
        pool_args(lambda v: 64, a2, x, np.zeros((2, 3, 4), np.float32), 0)
    with pytest.raises(ValueError, match="x: expected"):
        pool_args(lambda v: 64, a2, x.transpose(0, 2, 1), np.zeros((2, 3, 3), np.float32), 0)
