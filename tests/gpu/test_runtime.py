"""The backend's contract: one submit and one readback per run, planned buffer reuse, flat stats
over many runs, pipelines cached per device, DeviceLost after a lost device, GPUUnavailable for
each fault of a wrapped binding (tests/faults.py), and the public Model API on the WebGPU path."""

import asyncio
import json

import numpy as np
import pytest
from gpu_harness import DEVICE, gpu, graph, node, rand, run

from pycore import Model, PycoreError, safetensors
from pycore.webgpu import DeviceLost, GPUUnavailable, WebGPUBackend
from pycore.webgpu.auto import open_device
from pycore.webgpu.native import NativeDevice
from pycore.webgpu.plan import plan_buffers
from tests.faults import faulty


def small_cnn():
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        node("Relu", ["c1"], ["r1"]),
        node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=6),
        node("Add", ["c2", "p1"], ["s2"]),
        node("Clip", ["s2"], ["r2"], min=0.0, max=6.0),
        node("GlobalAveragePool", ["r2"], ["g"]),
        node("Flatten", ["g"], ["f"]),
        node("Gemm", ["f", "w3", "b3"], ["l"], transB=1),
        node("Softmax", ["l"], ["y"]),
    ]
    weights = {"w1": rand(6, 1, 3, 3), "b1": rand(6), "w2": rand(6, 1, 3, 3, seed=1), "b2": rand(6, seed=2)}
    weights.update(w3=rand(10, 6, seed=3), b3=rand(10, seed=4))
    return graph(nodes, {"x": rand(1, 1, 28, 28)}, weights, optimize=True)


def test_one_submit_and_one_readback_per_run(monkeypatch):
    backend = gpu(small_cnn())
    calls = []
    for name in ("submit", "read_buffer", "write_buffer", "create_buffer", "create_bind_group"):
        original = getattr(DEVICE, name)
        monkeypatch.setattr(
            DEVICE, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k)
        )
    run(backend, {"x": rand(1, 1, 28, 28)})
    assert sorted(calls) == ["read_buffer", "submit", "write_buffer"]
    backend.close()


def test_intermediates_share_buffers():
    """A chain of ten ops needs two pooled buffers (ping-pong), not nine."""
    nodes = [node("Relu" if i % 2 else "Neg", [f"t{i}"], [f"t{i + 1}"]) for i in range(10)]
    nodes[-1]["outputs"] = ["y"]
    nodes[0]["inputs"] = ["x"]
    g = graph(nodes, {"x": rand(1000)})
    before = DEVICE.stats()["buffers"]
    backend = gpu(g)
    # input, output, two pooled, dummy, uniforms, staging
    assert DEVICE.stats()["buffers"] - before == 7
    backend.close()
    assert DEVICE.stats()["buffers"] == before


def test_plan_never_writes_into_an_input_and_honours_views():
    steps = [(["x"], "a"), (["a"], "b"), (["v"], "c"), (["c", "b"], "y")]
    roots = {"x": "x", "a": "a", "b": "b", "v": "a", "c": "c", "y": "y"}  # v is a view of a
    sizes = dict.fromkeys(roots, 64)
    slot_of, sizes_ = plan_buffers(steps, sizes, roots, {"x", "y"})
    assert slot_of["b"] != slot_of["a"]  # a is still read (through v) after b is written
    assert slot_of["c"] not in (slot_of["b"],)  # b is read together with c
    assert len(sizes_) == 3


def test_stats_flat_over_500_runs():
    backend = gpu(small_cnn())
    x = rand(1, 1, 28, 28)
    first = run(backend, {"x": x})["y"]
    before = backend.stats()
    for i in range(500):
        out = run(backend, {"x": x * (1 + i % 3)})
    assert backend.stats() == before
    assert np.allclose(run(backend, {"x": x})["y"], first)
    assert out["y"].shape == (1, 10)
    backend.close()


def test_pipelines_are_cached_per_device():
    g = small_cnn()
    gpu(g).close()
    count = len(DEVICE.pipelines)
    gpu(g).close()
    assert len(DEVICE.pipelines) == count


def test_lost_device_raises_device_lost_and_a_new_backend_recovers():
    g = small_cnn()
    backend = asyncio.run(WebGPUBackend.create(g))  # its own device: this test destroys it
    x = rand(1, 1, 28, 28)
    want = run(backend, {"x": x})["y"]
    backend.lose_device()
    with pytest.raises(DeviceLost, match="lost"):
        run(backend, {"x": x})
    again = asyncio.run(WebGPUBackend.create(g))
    np.testing.assert_allclose(run(again, {"x": x})["y"], want, rtol=1e-6)


@pytest.mark.parametrize(
    "fault,message",
    [
        ("no-gpu", "no WebGPU API"),
        ("no-adapter", "no WebGPU adapter"),
        ("device-reject", "request_device was rejected"),
        ("shader-fail", "failed to compile"),
    ],
)
def test_faults_raise_gpu_unavailable(fault, message):
    async def create():
        device = await faulty(NativeDevice, fault).open()
        return await WebGPUBackend.create(small_cnn(), device=device)

    with pytest.raises(GPUUnavailable, match=message) as info:
        asyncio.run(create())
    assert isinstance(info.value, PycoreError)
    if fault == "shader-fail":  # the compiler's own words come through
        assert "broken" in str(info.value) and "expected" in str(info.value).lower()


def test_model_use_webgpu():
    g = small_cnn()
    doc = json.dumps(g.to_json())
    model = Model.from_bytes(doc, safetensors.write(g.weights))
    x = rand(1, 1, 28, 28, seed=7)
    want = model.run(x)
    asyncio.run(model.use("webgpu", device=DEVICE))
    assert model.backend.name == "webgpu"
    np.testing.assert_allclose(model.run(x), want, rtol=1e-4, atol=1e-6)
    with pytest.raises(PycoreError, match="shape"):
        model.run(rand(1, 1, 27, 28))


def test_close_frees_buffers_even_after_device_loss_and_model_use_closes_the_old_path():
    g = small_cnn()
    backend = asyncio.run(WebGPUBackend.create(g, device=asyncio.run(open_device())))  # its own: lost below
    backend.lose_device()
    backend.close()
    assert backend.stats()["buffers"] == 0
    with pytest.raises(PycoreError, match="closed"):
        run(backend, {"x": rand(1, 1, 28, 28)})
    model = Model.from_bytes(json.dumps(g.to_json()), safetensors.write(g.weights))
    before = DEVICE.stats()["buffers"]
    asyncio.run(model.use("webgpu", device=DEVICE))
    assert DEVICE.stats()["buffers"] > before
    asyncio.run(model.use("cpu"))
    assert DEVICE.stats()["buffers"] == before


def test_a_tensor_past_the_binding_limit_is_refused_before_allocating():
    before = DEVICE.stats()
    g = graph([node("Relu", ["x"])], {"x": np.zeros((1, 1, 1), np.float32)})
    g.inputs[0].shape = g.shapes["x"] = g.shapes["y"] = (2, 2**24 + 1)  # 128 MiB + 8 bytes
    with pytest.raises(GPUUnavailable, match="binds at most"):
        gpu(g)
    assert DEVICE.stats() == before
