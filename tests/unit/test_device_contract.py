"""The WebGPU device contract (pycore/webgpu/device.py): every binding makes each raw call the
`Device` base class leaves abstract, with its signature, and overrides none of what the base class
does once for all of them; that shared behaviour and the backend's use of it, on the recording
binding of recording_device.py, without a GPU."""

import asyncio
import importlib.util
import inspect
import sys
import types
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from graphs import load, node
from recording_device import ADAPTER_LIMITS, Buffer, RecordingDevice

import pycore.webgpu.device
from pycore.webgpu import WebGPUBackend
from pycore.webgpu.device import COPY_DST, MAP_READ, STORAGE, Device, GPUUnavailable
from pycore.webgpu.native import NativeDevice
from tests.faults import FAULTS, faulty


def browser_binding():
    """BrowserDevice, from pycore/webgpu/navigator.py run natively with stand-ins for the Pyodide
    modules it imports at its top (`js`, `pyodide.ffi`). Its class is read here, never run, and
    the module stays out of sys.modules."""
    ffi = types.ModuleType("pyodide.ffi")
    ffi.JsException = type("JsException", (Exception,), {})
    ffi.create_proxy = ffi.to_js = None
    pyodide = types.ModuleType("pyodide")
    pyodide.ffi = ffi
    path = Path(pycore.webgpu.device.__file__).with_name("navigator.py")
    spec = importlib.util.spec_from_file_location("pycore.webgpu.navigator", path)
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(sys.modules, {"js": types.ModuleType("js"), "pyodide": pyodide, "pyodide.ffi": ffi}):
        spec.loader.exec_module(module)
    return module.BrowserDevice


BINDINGS = {"native": NativeDevice, "browser": browser_binding(), "recording": RecordingDevice}
RAW = sorted(Device.__abstractmethods__)


def methods(cls):
    """The methods a class defines itself (not inherited), by name."""
    return {n for n, v in vars(cls).items() if inspect.isfunction(v) or isinstance(v, classmethod)}


def test_the_contract_leaves_the_raw_calls_abstract():
    assert {"read_buffer", "write_buffer", "create_compute_pipeline", "_command_encoder"} <= set(RAW)
    assert not {"submit", "create_bind_group", "create_buffer", "open"} & set(RAW)


@pytest.mark.parametrize("name", BINDINGS)
def test_a_binding_makes_every_raw_call(name):
    binding = BINDINGS[name]
    assert issubclass(binding, Device)
    assert binding.__abstractmethods__ == frozenset(), f"{name} lacks {sorted(binding.__abstractmethods__)}"


@pytest.mark.parametrize("name", BINDINGS)
def test_a_binding_keeps_each_raw_call_signature(name):
    binding = BINDINGS[name]
    for method in RAW:
        want, got = getattr(Device, method), getattr(binding, method)
        assert list(inspect.signature(got).parameters) == list(inspect.signature(want).parameters), method
        assert inspect.iscoroutinefunction(got) == inspect.iscoroutinefunction(want), f"{method}: async?"


@pytest.mark.parametrize("name", BINDINGS)
def test_a_binding_overrides_nothing_shared_and_adds_no_public_method(name):
    own = methods(BINDINGS[name]) - {"__init__"}
    overridden = {m for m in own & methods(Device) if m not in Device.__abstractmethods__}
    assert overridden == set(), f"{name} redefines what Device does for every binding"
    extra = {m for m in own - methods(Device) if not m.startswith("_")}
    assert extra == set(), f"{name} offers methods outside the contract, which the backend must not need"


def test_a_binding_that_misses_a_raw_call_cannot_open():
    partial = type(
        "Partial", (Device,), {k: v for k, v in vars(RecordingDevice).items() if k != "read_buffer"}
    )
    assert partial.__abstractmethods__ == {"read_buffer"}
    with pytest.raises(TypeError, match="read_buffer"):
        asyncio.run(partial.open())


def test_open_asks_for_the_adapters_largest_sizes():
    dev = asyncio.run(RecordingDevice.open())
    assert dev.limits["max_buffer_size"] == ADAPTER_LIMITS["max_buffer_size"]
    assert dev.lost is None and dev.stats() == {"buffers": 0, "bytes": 0}


@pytest.mark.parametrize(
    "fault,message",
    [("no-gpu", "no WebGPU API: "), ("no-adapter", "no WebGPU adapter: "), ("device-reject", "rejected")],
)
def test_open_fails_at_the_step_a_wrapped_binding_fails(fault, message):
    assert fault in FAULTS
    with pytest.raises(GPUUnavailable, match=message):
        asyncio.run(faulty(RecordingDevice, fault).open())


def test_a_wrapped_binding_refuses_an_unknown_fault():
    with pytest.raises(ValueError, match="fault"):
        faulty(RecordingDevice, "typo")


def test_buffers_are_counted_until_destroyed():
    dev = asyncio.run(RecordingDevice.open())
    a, b = dev.create_buffer(64, STORAGE), dev.create_buffer(16, MAP_READ | COPY_DST)
    assert isinstance(a, Buffer) and dev.stats() == {"buffers": 2, "bytes": 80}
    dev.destroy_buffer(a)
    assert a.destroyed and dev.stats() == {"buffers": 1, "bytes": 16}
    dev.destroy_buffer(b)
    assert dev.stats() == {"buffers": 0, "bytes": 0}


def test_bind_group_entries_bind_each_buffer_range_in_order():
    dev = asyncio.run(RecordingDevice.open())
    a, b = dev.create_buffer(256, STORAGE), dev.create_buffer(16, STORAGE)
    _, pipeline, entries = dev.create_bind_group("p", [(a, 0, 256), (b, 8, 8)])
    assert pipeline == "p"
    assert entries == [
        {"binding": 0, "resource": {"buffer": a, "offset": 0, "size": 256}},
        {"binding": 1, "resource": {"buffer": b, "offset": 8, "size": 8}},
    ]


def test_submit_is_one_encoder_with_one_compute_pass_between_the_copies():
    dev = asyncio.run(RecordingDevice.open())
    p, q = ("pipeline", "p"), ("pipeline", "q")
    dev.submit(
        [(p, "g1", (1, 2, 3)), (p, "g2", (4, 1, 1)), (q, "g3", (1, 1, 1))],
        [("s", 0, "d", 8, 4)],
        [("a", 0, "b", 0, 16)],
    )
    assert dev.log == [
        ("create_command_encoder",),
        ("copy_buffer_to_buffer", "a", 0, "b", 0, 16),
        ("begin_compute_pass",),
        ("set_pipeline", p),  # once for two dispatches in a row
        ("set_bind_group", 0, "g1"),
        ("dispatch_workgroups", 1, 2, 3),
        ("set_bind_group", 0, "g2"),
        ("dispatch_workgroups", 4, 1, 1),
        ("set_pipeline", q),
        ("set_bind_group", 0, "g3"),
        ("dispatch_workgroups", 1, 1, 1),
        ("end",),
        ("copy_buffer_to_buffer", "s", 0, "d", 8, 4),
        ("finish",),
        ("submit", "command buffer"),
    ]


def test_a_lost_device_says_why_once():
    dev = asyncio.run(RecordingDevice.open())
    assert dev.check_lost(RuntimeError("a validation error")) is None and dev.lost is None
    assert dev.check_lost(RuntimeError("device lost: reset")) == "device lost: reset"
    assert dev.check_lost(RuntimeError("lost again")) == "device lost: reset"
    other = asyncio.run(RecordingDevice.open())
    other.destroy()
    assert other.lost == "destroyed" and other.raw.destroyed


def test_a_backend_run_is_one_write_per_input_one_submit_and_one_read():
    graph, _ = load([node("Relu", ["x"], ["r"]), node("Sigmoid", ["r"])], {"x": np.zeros((2, 3))})
    dev = asyncio.run(RecordingDevice.open())
    backend = asyncio.run(WebGPUBackend.create(graph, device=dev))
    assert dev.log.count(("push_error_scope",)) == dev.log.count(("pop_error_scope",)) == 1
    dev.log.clear()
    out = asyncio.run(backend.run({"x": np.ones((2, 3), np.float32)}))
    assert out["y"].shape == (2, 3)  # a recording computes nothing: zeros
    calls = [c[0] for c in dev.log]
    assert calls[0] == "write_buffer" and calls.count("write_buffer") == 1
    assert calls.count("submit") == calls.count("begin_compute_pass") == calls.count("read_buffer") == 1
    assert calls.count("dispatch_workgroups") == len(backend.steps) >= 2
    assert calls[-3:] == ["finish", "submit", "read_buffer"]
    backend.close()
    assert dev.stats() == {"buffers": 0, "bytes": 0}
