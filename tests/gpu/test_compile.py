"""pycore.compile on webgpu: the second call is captured, later calls replay it in one submit with
no per-op Python, and the results, parameters and optimiser and batch-norm state match eager runs."""

import gc

import numpy as np
import pytest
from gpu_harness import DEVICE

import pycore
from pycore import nn
from pycore.nn import functional as F
from pycore.tensors import get_device
from pycore.webgpu import GPUUnavailable

WEBGPU = get_device("webgpu")


@pytest.fixture(autouse=True)
def shared(monkeypatch):
    monkeypatch.setattr(WEBGPU, "_dev", DEVICE)


def trainer(device, dropout=False):
    pycore.manual_seed(0)
    layers = [nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Flatten(), *([nn.Dropout(0.2)] if dropout else []), nn.Linear(4 * 4 * 4, 5)]
    model = nn.Sequential(*layers).to(device)
    opt = pycore.optim.Adam(model.parameters(), 1e-2)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, step


def batches(n):
    rng = np.random.default_rng(0)
    return [
        (pycore.tensor(rng.random((8, 1, 8, 8), dtype=np.float32)), pycore.tensor(rng.integers(0, 5, 8)))
        for _ in range(n)
    ]


def test_replays_match_eager_steps():
    data = batches(6)
    runs = {}
    for mode in ("eager", "compiled"):
        model, step = trainer("webgpu")
        step = pycore.compile(step) if mode == "compiled" else step
        losses = [step(x.to("webgpu"), y.to("webgpu")).item() for x, y in data]
        runs[mode] = losses, model.state_dict()
    (eager, eager_state), (compiled, compiled_state) = runs["eager"], runs["compiled"]
    np.testing.assert_allclose(compiled, eager, rtol=1e-6)
    assert len(set(compiled)) == len(compiled)  # each call saw its own batch
    for k, want in eager_state.items():
        np.testing.assert_allclose(compiled_state[k], want, rtol=1e-5, atol=1e-7, err_msg=k)
    assert compiled_state["1.num_batches_tracked"] == 6


def test_a_replay_is_one_submit_and_no_per_op_python(monkeypatch):
    _, step = trainer("webgpu")
    step = pycore.compile(step)
    (x, y), *_ = batches(1)
    x, y = x.to("webgpu"), y.to("webgpu")
    step(x, y), step(x, y)  # eager, then captured
    submits, ops = [], []
    real_submit, real_run = DEVICE.submit, WEBGPU.run
    monkeypatch.setattr(DEVICE, "submit", lambda *a: (submits.append(len(a[0])), real_submit(*a)))
    monkeypatch.setattr(WEBGPU, "run", lambda *a: (ops.append(a[0]), real_run(*a))[1])
    step(x, y)
    assert len(submits) == 1 and submits[0] > 20 and ops == []


def test_replays_keep_gpu_buffers_flat():
    _, step = trainer("webgpu")
    step = pycore.compile(step)
    (x, y), *_ = batches(1)
    x, y = x.to("webgpu"), y.to("webgpu")
    counts = []
    for i in range(100):
        step(x, y).item()
        if i in (9, 99):
            gc.collect()
            counts.append(DEVICE.stats()["buffers"])
    assert counts[1] <= counts[0], counts


def test_what_cannot_be_captured_says_so():
    model, _ = trainer("webgpu")
    peek = pycore.compile(lambda x: model(x).sum() + model(x).sum().item())
    x = batches(1)[0][0].to("webgpu")
    peek(x)  # the first call runs eagerly
    with pytest.raises(GPUUnavailable, match="cannot read a value while it is captured"):
        peek(x)
    _, step = trainer("webgpu", dropout=True)
    step = pycore.compile(step)
    x, y = (t.to("webgpu") for t in batches(1)[0])
    step(x, y)
    with pytest.raises(pycore.TensorError, match="dropout inside pycore.compile"):
        step(x, y)
    with pytest.raises(TypeError, match="tensors only"):
        pycore.compile(lambda x, lr: x * lr)(x, 0.1)


def test_on_the_cpu_the_function_is_just_called():
    calls = []
    double = pycore.compile(lambda x: calls.append(1) or x * 2)
    for _ in range(3):
        assert double(pycore.ones(2)).tolist() == [2.0, 2.0]
    assert len(calls) == 3


def test_float16_state_replays_in_its_own_storage():
    """A captured function that updates a float16 tensor copies float16 bytes, not f32's."""
    total = pycore.zeros(5, 3, dtype="float16").to("webgpu")

    def accumulate(x):
        total.assign_(total + x)
        return total * 2

    step = pycore.compile(accumulate)
    xs = [pycore.randn(5, 3).to(dtype="float16") for _ in range(4)]
    want = np.zeros((5, 3), np.float16)
    for x in xs:
        out = step(x.to("webgpu"))
        want = want + x.numpy()
        np.testing.assert_array_equal(out.numpy(), want * 2)
    np.testing.assert_array_equal(total.numpy(), want)
