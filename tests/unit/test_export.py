"""pycore.export: the MNIST CNN as a pycore.nn module, filled with the committed weights, exports to
a graph that loads through the load-time passes and gives the shipped model's probabilities."""

from pathlib import Path

import numpy as np
import pytest

import pycore
from pycore import nn, passes, safetensors
from pycore.cpu import CPUBackend
from pycore.zoo.mnist import MnistCNN, export

MODEL = Path(__file__).resolve().parents[2] / "models" / "mnist"


@pytest.fixture(scope="module")
def module():
    model = MnistCNN()
    weights = safetensors.read((MODEL / "weights.safetensors").read_bytes())
    loaded = model.load_state_dict(weights, strict=False)
    assert loaded["missing_keys"] == [f"bn{i}.num_batches_tracked" for i in (1, 2, 3)]
    assert loaded["unexpected_keys"] == []
    return model.eval()


def test_export_matches_the_shipped_model(module, tmp_path):
    export(module, tmp_path)
    ours, shipped = pycore.load(tmp_path), pycore.load(MODEL)
    assert [n.op for n in ours.graph.nodes][:4] == ["Conv", "MaxPool", "Conv", "MaxPool"]  # BN folded
    x = np.random.default_rng(0).random((8, 1, 1, 28, 28), np.float32)
    for digit in x:
        np.testing.assert_allclose(ours.run(digit), shipped.run(digit), atol=2e-6)
    assert ours.labels == shipped.labels and ours.input.preprocess == shipped.input.preprocess


def test_the_module_computes_what_its_export_does(module):
    x = pycore.rand(4, 1, 28, 28)
    graph = passes.optimize(export(module))
    model = pycore.Model(graph, CPUBackend(graph))
    got = np.concatenate([model.run(x.numpy()[i : i + 1]) for i in range(4)])
    np.testing.assert_allclose(got, module(x).softmax(1).numpy(), atol=2e-6)


def test_export_refuses_what_it_cannot_trace():
    with pytest.raises(pycore.PycoreError, match="must return Tensors"):
        pycore.export(lambda x: [x, 2], pycore.zeros(1))
    with pytest.raises(pycore.PycoreError, match="2 outputs returned, 1 names given"):
        pycore.export(lambda x: (x * 2, x * 3), pycore.zeros(1))
    with pytest.raises(pycore.PycoreError, match="does not depend on the input"):
        pycore.export(lambda x: pycore.ones(2) * 2, pycore.zeros(1))
    assert isinstance(nn.Linear(2, 2), nn.Module)
