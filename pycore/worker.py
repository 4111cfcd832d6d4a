"""The Python half of the Web Worker: models by id, backend choice with fallback, timed runs.

web/worker.js calls these functions through Pyodide's FFI. Errors a visitor may see are returned as
messages (PycoreError texts); anything else is a bug and propagates to the worker's console.
"""

import asyncio
import functools
import time

import numpy as np

from .errors import PycoreError, ShapeError
from .model import Model

MODELS = {}  # id -> Model; each carries `wanted` (the path asked for) and `lock`


def _model(model_id):
    if model_id not in MODELS:
        raise PycoreError(f"model {model_id} was unloaded")
    return MODELS[model_id]


def one_at_a_time(fn):
    """Requests for one model run in turn: the worker's message handler is async, and a backend
    switch or an unload must not close the GPU buffers a running prediction is reading back."""

    @functools.wraps(fn)
    async def serialized(model_id, *args):
        async with _model(model_id).lock:
            _model(model_id)  # unloaded while this request waited
            return await fn(model_id, *args)

    return serialized


async def choose_backend(model, want):
    """Sets the model's path; returns a note for the page when the wanted path could not be had.

    auto takes WebGPU unless the only adapter is a software one (SwiftShader), which is slower than
    the numpy path; webgpu takes any adapter. Any WebGPU failure falls back to the CPU path. On the
    CPU path the note ends with which kernels run there (wasm SIMD, or numpy and why).
    """
    if want not in ("auto", "cpu", "webgpu"):
        raise PycoreError(f"unknown backend {want!r}: use auto, cpu or webgpu")
    if want == "cpu":
        await model.use("cpu")
        return model.backend.note
    from .webgpu.device import SoftwareAdapter

    try:
        await model.use("webgpu", software=want == "webgpu")
        return ""
    except SoftwareAdapter as e:
        note = f"auto chose the CPU path: {e}, slower than numpy here (pick webgpu to use it anyway)"
    except Exception as e:  # any WebGPU failure must leave a working page
        note = f"WebGPU is not available here ({e}); running on the CPU path"
    await model.use("cpu")
    return f"{note}. {model.backend.note}"


async def load(model_id, model_json, weights, source, backend="auto"):
    model = Model.from_bytes(model_json, weights.to_py(), source=source)
    model.wanted, model.lock = backend, asyncio.Lock()
    note = await choose_backend(model, backend)
    MODELS[model_id] = model
    return info(model_id, note)


def info(model_id, note=""):
    model = _model(model_id)
    return {
        "backend": model.backend.name,
        "note": note,
        "labels": model.labels
        or [str(i) for i in range(int(np.prod(model.graph.shapes[model.graph.outputs[0]])))],
        "input": {
            "name": model.input.name,
            "shape": list(model.input.shape),
            "preprocess": model.input.preprocess,
        },
    }


@one_at_a_time
async def set_backend(model_id, backend):
    model = _model(model_id)
    model.wanted = backend
    note = await choose_backend(model, backend)
    return info(model_id, note)


@one_at_a_time
async def predict(model_id, data):
    """Runs one input (a JS Float32Array); returns probabilities, latency and the path used."""
    from .webgpu.device import DeviceLost

    model = _model(model_id)
    x = np.frombuffer(data.to_py(), dtype=np.float32)
    if x.size != int(np.prod(model.input.shape)):
        raise ShapeError(
            f"input {model.input.name!r} must have {list(model.input.shape)} values, got {x.size}"
        )
    x = x.reshape(model.input.shape)
    note = ""
    start = time.perf_counter()
    try:
        probs = await model.run_async(x)
    except DeviceLost as e:  # a driver reset, say: the path asked for again, on a fresh device
        note = await choose_backend(model, model.wanted) or f"the GPU device was lost ({e}); recreated it"
        start = time.perf_counter()
        probs = await model.run_async(x)
    latency = (time.perf_counter() - start) * 1000
    return {
        # a memoryview reaches JS as a Float32Array, without a Python list of floats in between
        "probabilities": memoryview(np.ascontiguousarray(probs, dtype=np.float32).reshape(-1)),
        "latencyMs": latency,
        "backend": model.backend.name,
        "note": note,
    }


@one_at_a_time
async def run(model_id, names, arrays):
    """Runs named inputs (JS Float32Arrays) and returns every graph output by name, as
    {"shape", "data": Float32Array}, with the latency and the path. Unlike predict there is no
    fallback: a failure is the caller's, who compares paths and must know which one ran."""
    model = _model(model_id)
    shapes = {i.name: tuple(i.shape) for i in model.graph.inputs}
    feeds = {}
    for name, data in zip(names, arrays):
        if name not in shapes:
            raise ShapeError(f"the model has no input {name!r}; its inputs are {list(shapes)}")
        x = np.frombuffer(data.to_py(), dtype=np.float32)
        if x.size != int(np.prod(shapes[name])):
            raise ShapeError(f"input {name!r} must have {list(shapes[name])} values, got {x.size}")
        feeds[name] = x.reshape(shapes[name])
    if feeds.keys() != shapes.keys():
        raise ShapeError(f"inputs {sorted(shapes.keys() - feeds.keys())} are missing")
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # NaN/inf from the data are results, not warnings
        out = await model.backend.run(feeds)
    latency = (time.perf_counter() - start) * 1000
    outputs = {}
    for t in model.graph.outputs:
        y = np.ascontiguousarray(out[t], dtype=np.float32)
        outputs[t] = {"shape": list(y.shape), "data": memoryview(y.reshape(-1))}  # -> Float32Array
    return {"outputs": outputs, "latencyMs": latency, "backend": model.backend.name}


async def unload(model_id):
    if model_id not in MODELS:
        return
    async with MODELS[model_id].lock:
        model = MODELS.pop(model_id, None)
        if model is not None and hasattr(model.backend, "close"):
            model.backend.close()  # frees GPU buffers now rather than at garbage collection


def lose_device(model_id):
    """Test hook: destroys the model's GPU device, as a driver reset would."""
    _model(model_id).backend.lose_device()


def stats(model_id):
    """For leak checks: the model's live GPU buffers, and Python's live object count."""
    import gc

    backend = _model(model_id).backend
    gpu = backend.stats() if hasattr(backend, "stats") else {}
    return {**gpu, "pythonObjects": len(gc.get_objects())}
