"""pycore.Tensor on device="webgpu" (wgpu-py over lavapipe): recorded lazily, run at the first
value needed in one submit, matching the CPU device; buffers are freed with their tensors."""

import gc

import numpy as np
import pytest
from gpu_harness import DEVICE

import pycore
from pycore import nn
from pycore.tensors import TensorError, get_device
from pycore.webgpu import GPUUnavailable

WEBGPU = get_device("webgpu")


@pytest.fixture(autouse=True)
def shared(monkeypatch):
    monkeypatch.setattr(WEBGPU, "_dev", DEVICE)  # the session's device: pipelines compile once
    yield
    gc.collect()


def submits(monkeypatch):
    count = []
    real = DEVICE.submit
    monkeypatch.setattr(DEVICE, "submit", lambda d, c: (count.append(len(d)), real(d, c)))
    return count


def close(gpu, cpu, rtol=1e-5):
    gpu, cpu = gpu.numpy(), cpu.numpy()
    assert gpu.shape == cpu.shape and gpu.dtype == cpu.dtype
    assert np.abs(gpu - cpu).max() <= rtol * max(np.abs(cpu).max(), 1e-6)


def test_ops_run_lazily_in_one_submit(monkeypatch):
    x = pycore.randn(3, 4)
    g = x.to("webgpu")
    count = submits(monkeypatch)
    y = ((g * 2 + 1).relu() @ g.T).sum(1) / 3
    assert count == [] and y.data.pending  # nothing ran yet
    close(y, ((x * 2 + 1).relu() @ x.T).sum(1) / 3)
    assert count[0] >= 5 and len(count) == 2  # every op in one submit, then one readback copy
    assert not y.data.pending and y.data.inputs == ()  # the graph behind it is gone


def test_a_module_runs_on_webgpu_as_on_cpu():
    pycore.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 14 * 14, 10)
    )
    x = pycore.rand(8, 1, 28, 28)
    want = model(x)
    model.to("webgpu")
    assert {p.device for p in model.parameters()} == {"webgpu"}
    close(model(x.to("webgpu")), want)
    assert model.state_dict()["4.weight"].shape == (10, 784)


def test_dtypes_survive_the_round_trip():
    labels = pycore.tensor([3, 0, 9]).to("webgpu")
    assert labels.dtype == "int64" and labels.numpy().tolist() == [3, 0, 9]
    assert (labels.to("cpu") == pycore.tensor([3, 0, 9])).numpy().all()


def test_integers_past_f32_precision_are_refused():
    with pytest.raises(GPUUnavailable, match="2\\*\\*24"):
        pycore.tensor([2**25]).to("webgpu")


def test_mixing_devices_is_refused():
    with pytest.raises(TensorError, match="different devices"):
        pycore.ones(2) + pycore.ones(2).to("webgpu")


def test_buffers_are_freed_with_their_tensors():
    before = DEVICE.stats()["buffers"]
    x = pycore.randn(64, 64).to("webgpu")
    y = (x @ x + 1).relu()
    y.numpy()
    assert DEVICE.stats()["buffers"] > before
    del x, y
    gc.collect()
    pycore.ones(1).to("webgpu").numpy()  # a readback also frees the scratch of earlier submits
    assert DEVICE.stats()["buffers"] <= before + 1


def test_numpy_async_gives_the_values():
    import asyncio

    x = pycore.arange(6, dtype="float32").reshape(2, 3).to("webgpu")
    assert asyncio.run((x * 2).numpy_async()).tolist() == [[0, 2, 4], [6, 8, 10]]
