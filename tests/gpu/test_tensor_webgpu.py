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


def test_float16_is_stored_as_float16():
    """Half the bytes of float32, and exact: specials, subnormals and odd sizes round-trip."""
    values = np.array([65504, 6e-8, 5.96e-8, 1e-5, -0.0, np.inf, -np.inf, np.nan, 0.1, -3.5, 7], np.float16)
    t = pycore.tensor(values, dtype="float16").to("webgpu")
    np.testing.assert_array_equal(t.numpy(), values)
    half = pycore.randn(37, 41).to(dtype="float16").to("webgpu")
    full = pycore.randn(37, 41).to("webgpu")
    assert (half.data.storage.nbytes, full.data.storage.nbytes) == (3040, 6080)  # 16-byte multiples


@pytest.mark.parametrize(
    "name, fn",
    [
        ("arithmetic", lambda a, b: (a * b + b) / 3 - a),
        ("functions", lambda a, b: (a * 0.5).exp() + a.abs().sqrt() + a.sigmoid()),
        ("maximum", lambda a, b: a.max(0) + a.min(1).reshape(37, 1)),
        ("sums", lambda a, b: a.sum(0) + a.mean(1).reshape(37, 1)),
        ("views-and-copies", lambda a, b: (a + 1).reshape(41, 37).T * 2),
        ("matmul", lambda a, b: a @ a.T),
        ("casts", lambda a, b: a.float() * 3 + (a > b).float()),
        ("to-float16", lambda a, b: (a.float() * 1e3).to(dtype="float16") + b),
    ],
)
def test_float16_ops_round_each_result_as_the_cpu_does(name, fn):
    """Kernels compute in f32 and each result is rounded to float16, as numpy's float16 ops are."""
    a = pycore.randn(37, 41).to(dtype="float16")
    b = pycore.randn(41).to(dtype="float16")
    got, want = fn(a.to("webgpu"), b.to("webgpu")).numpy(), fn(a, b).numpy()
    assert got.dtype == want.dtype
    if name in ("matmul", "sums"):  # numpy sums float16 values in float16, the GPU in f32
        assert np.abs(got - want).max() <= 1e-2 * np.abs(want).max()
    elif name == "functions":  # the GPU's exp and sqrt may differ from numpy's by an f32 ulp
        np.testing.assert_allclose(got, want, rtol=2**-10)  # so round to a neighbouring float16
    else:
        np.testing.assert_array_equal(got, want)


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
