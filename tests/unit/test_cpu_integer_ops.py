"""The CPU path's integer kernels (the bit operations) against Python's own integers, element
by element: Python ints are unbounded, so wrapping and sign filling are checked, not reused."""

import numpy as np
import pytest

from pycore.cpu import KERNELS

INTS = ["int8", "int32", "int64", "uint8", "uint16", "uint64"]


def _wrap(v, dtype):
    """Python int v in two's complement of `dtype`."""
    bits, signed = 8 * np.dtype(dtype).itemsize, np.dtype(dtype).kind == "i"
    v &= (1 << bits) - 1
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def _ints(dtype, shape, seed):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), shape, endpoint=True).astype(dtype)


BITWISE = [("BitwiseAnd", int.__and__), ("BitwiseOr", int.__or__), ("BitwiseXor", int.__xor__)]


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("op,py", BITWISE)
def test_bitwise_binary(dtype, op, py):
    x, y = _ints(dtype, (3, 4), 0), _ints(dtype, (4,), 1)
    got = KERNELS[op]({}, x, y)
    want = [[_wrap(py(int(a), int(b)), dtype) for a, b in zip(row, y)] for row in x]
    assert got.dtype == dtype and got.tolist() == want


@pytest.mark.parametrize("dtype", INTS)
def test_bitwise_not(dtype):
    x = _ints(dtype, (5,), 2)
    assert KERNELS["BitwiseNot"]({}, x).tolist() == [_wrap(~int(a), dtype) for a in x]


def _shift(x, by, direction, dtype):
    bits = 8 * np.dtype(dtype).itemsize
    if not 0 <= by < bits:
        return -1 if direction == "RIGHT" and x < 0 else 0
    return _wrap(x << by if direction == "LEFT" else x >> by, dtype)  # Python's >> is arithmetic


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
def test_bit_shift(dtype, direction):
    bits = 8 * np.dtype(dtype).itemsize
    x = _ints(dtype, (6,), 3)
    amounts = [0, 1, 3, bits - 1, bits, bits + 5] + ([-1, -bits] if np.dtype(dtype).kind == "i" else [])
    y = np.array(amounts, dtype)
    got = KERNELS["BitShift"]({"direction": direction}, x[:, None], y[None, :])
    want = [[_shift(int(a), int(b), direction, dtype) for b in y] for a in x]
    assert got.dtype == dtype and got.tolist() == want
