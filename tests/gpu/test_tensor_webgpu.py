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


def tiny_step(device, seed=0):
    """A small conv net's training step on `device`: (model, step() -> loss tensor)."""
    pycore.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 5),
    ).to(device)  # fmt: skip
    opt = pycore.optim.Adam(model.parameters(), 1e-2)
    rng = np.random.default_rng(seed)
    x = pycore.tensor(rng.random((8, 1, 8, 8), dtype=np.float32)).to(device)
    y = pycore.tensor(rng.integers(0, 5, 8)).to(device)

    def step():
        opt.zero_grad()
        loss = pycore.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, step


def test_training_on_webgpu_matches_the_cpu():
    runs = {}
    for device in ("cpu", "webgpu"):
        model, step = tiny_step(device)
        losses = [step().item() for _ in range(5)]
        runs[device] = losses, {k: p.numpy() for k, p in model.named_parameters()}
    (cpu_loss, cpu_params), (gpu_loss, gpu_params) = runs["cpu"], runs["webgpu"]
    assert gpu_loss[-1] < gpu_loss[0]
    np.testing.assert_allclose(gpu_loss, cpu_loss, rtol=1e-5)
    for k, want in cpu_params.items():
        assert np.abs(gpu_params[k] - want).max() <= 1e-4 * np.abs(want).max(), k


def test_a_training_step_is_one_submit(monkeypatch):
    _, step = tiny_step("webgpu")
    step().item()
    count = submits(monkeypatch)
    step().item()  # the previous step's updates run with this forward and backward
    assert len(count) == 2 and count[1] == 0, count  # one compute submit, one readback copy


def test_500_steps_keep_gpu_buffers_and_python_objects_flat():
    _, step = tiny_step("webgpu")
    counts = []
    for i in range(500):
        step().item()
        if i in (99, 499):
            gc.collect()
            counts.append((DEVICE.stats()["buffers"], len(gc.get_objects())))
    (buffers_100, objects_100), (buffers_500, objects_500) = counts
    assert buffers_500 <= buffers_100, counts
    assert objects_500 <= objects_100 + 50, counts
