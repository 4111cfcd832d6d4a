"""The Python half of the Web Worker: models by id, backend choice with fallback, timed runs, and
teaching a model (pycore/teach/): training a copy, swapping it in, going back to the original.

web/worker.js calls these functions through Pyodide's FFI. Errors a visitor may see are returned as
messages (PycoreError texts); anything else is a bug and propagates to the worker's console.
"""

import asyncio
import functools
import hashlib
import importlib
import re
import time

import numpy as np

from .errors import PycoreError, ShapeError
from .model import Model

# id -> Model; each carries `wanted` (the path asked for), `lock`, `shipped` (the files it was
# loaded from: (model.json, weights)), `fingerprint` (the shipped weights' sha256) and `kind`
# ("original", or "personal" once taught); a swap passes them on to the model that replaces it
MODELS = {}
TRAINING = set()  # ids of the models learning now


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
    weights = bytes(weights.to_py())
    model = Model.from_bytes(model_json, weights, source=source)
    model.wanted, model.lock, model.kind = backend, asyncio.Lock(), "original"
    model.shipped, model.fingerprint = (model_json, weights), hashlib.sha256(weights).hexdigest()
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
        "fingerprint": model.fingerprint,
        "kind": model.kind,
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
    """Runs named inputs (JS typed arrays: Float32Array, BigInt64Array, Int32Array, Uint8Array
    for bool, ...; cast to each input's dtype) and returns every graph output by name, as
    {"shape", "dtype", "data": a typed array}, with the latency and the path. Unlike predict there
    is no fallback: a failure is the caller's, who compares paths and must know which one ran."""
    model = _model(model_id)
    inputs = {i.name: i for i in model.graph.inputs}
    feeds = {}
    for name, data in zip(names, arrays):
        if name not in inputs:
            raise ShapeError(f"the model has no input {name!r}; its inputs are {list(inputs)}")
        x, shape = np.asarray(data.to_py()), tuple(inputs[name].shape)  # the typed array's own type
        if x.size != int(np.prod(shape)):
            raise ShapeError(f"input {name!r} must have {list(shape)} values, got {x.size}")
        feeds[name] = x.reshape(shape).astype(inputs[name].dtype, copy=False)
    if feeds.keys() != inputs.keys():
        raise ShapeError(f"inputs {sorted(inputs.keys() - feeds.keys())} are missing")
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # NaN/inf from the data are results, not warnings
        out = await model.backend.run(feeds)
    latency = (time.perf_counter() - start) * 1000
    outputs = {}
    for t in model.graph.outputs:
        y = np.ascontiguousarray(out[t])
        data = memoryview(_typed(y).reshape(-1))
        outputs[t] = {"shape": list(y.shape), "dtype": y.dtype.name, "data": data}
    return {"outputs": outputs, "latencyMs": latency, "backend": model.backend.name}


def _typed(y):
    """y in a dtype that reaches JS as a typed array: JS has no bool array (Uint8Array 0/1 then),
    and Pyodide converts no float16 (Float32Array then)."""
    if y.dtype == np.bool_:
        return y.view(np.uint8)
    return y.astype(np.float32) if y.dtype == np.float16 else y


@one_at_a_time
async def features(model_id, data):
    """The features one input (a JS Float32Array, as predict takes) gives the model's classifier,
    on the model's path, for teaching it classes (pycore.teach.photos); with the time it took and
    the path. A GPU lost meanwhile is recreated, or the CPU path taken, as predict does."""
    from .teach import classes
    from .webgpu.device import DeviceLost

    model = _model(model_id)
    x = np.frombuffer(data.to_py(), dtype=np.float32)
    if x.size != int(np.prod(model.input.shape)):
        raise ShapeError(
            f"input {model.input.name!r} must have {list(model.input.shape)} values, got {x.size}"
        )
    x, note, start = x.reshape(model.input.shape), "", time.perf_counter()
    try:
        model.extractor = getattr(model, "extractor", None) or await classes.features_model(model)
        f = await model.extractor.run_async(x)
    except DeviceLost as e:
        _close_extractor(model)
        note = await choose_backend(model, model.wanted) or f"the GPU device was lost ({e}); recreated it"
        start = time.perf_counter()
        model.extractor = await classes.features_model(model)
        f = await model.extractor.run_async(x)
    return {
        "features": memoryview(np.ascontiguousarray(f, dtype=np.float32).reshape(-1)),
        "ms": (time.perf_counter() - start) * 1000,
        "backend": model.backend.name,
        "note": note,
    }


def _close_extractor(model):
    extractor = getattr(model, "extractor", None)
    model.extractor = None
    if extractor is not None and hasattr(extractor.backend, "close"):
        extractor.backend.close()


async def unload(model_id):
    if model_id not in MODELS:
        return
    async with MODELS[model_id].lock:
        model = MODELS.pop(model_id, None)
        if model is not None:
            _close_extractor(model)
        if model is not None and hasattr(model.backend, "close"):
            model.backend.close()  # frees GPU buffers now rather than at garbage collection


async def train(model_id, kind, inputs, labels, data, progress, steps=0):
    """Teaches the model: `pycore.teach.<kind>` trains a copy on the examples (inputs, a JS
    Float32Array of N model inputs; labels, N strings) on the path in use, calling
    progress(step, steps, loss) as it goes, and the copy replaces the model when it is done. What
    it returns as json and weights is what the page keeps, for use_personal after a reload.
    `data()` (JS, a promise of bytes) fetches what that kind needs besides, only once the examples
    passed its checks. Predictions meanwhile are the current model's: training holds no lock.
    If the GPU fails while it learns, it learns again on the CPU path and says so."""
    from .webgpu.device import DeviceLost, GPUUnavailable

    model = _model(model_id)
    teacher = _teacher(kind)
    if model_id in TRAINING:
        raise PycoreError("it is learning already: wait until it has finished")
    shape = tuple(
        teacher.example_shape(model) if hasattr(teacher, "example_shape") else model.input.shape[1:]
    )
    x, want = np.frombuffer(inputs.to_py(), np.float32), len(labels) * int(np.prod(shape))
    if x.size != want:
        raise ShapeError(f"{len(labels)} labels need {want} input values ({list(shape)} each), got {x.size}")

    async def fetch():
        if data is None:
            raise PycoreError(f"teaching {kind} needs its data file, and none was given")
        return (await data()).to_py()

    def run(device):
        return teacher.train(
            model, x.reshape(-1, *shape), [str(k) for k in labels], fetch, device, progress, steps or None
        )

    TRAINING.add(model_id)
    try:
        device, note, start = getattr(teacher, "DEVICE", model.backend.name), "", time.perf_counter()
        try:
            if device == "webgpu":
                from .tensors import open_webgpu

                await open_webgpu()
            files = await run(device)
        except Exception as e:  # the examples' faults are the visitor's; any GPU failure falls back
            if device != "webgpu" or (
                isinstance(e, PycoreError) and not isinstance(e, (GPUUnavailable, DeviceLost))
            ):
                raise
            from .tensors import get_device

            lost = get_device("webgpu").lost
            why = f"the GPU device was lost: {lost}" if lost else str(e)
            note = f"The GPU failed while it learnt ({why}), so it learnt again on the CPU path."
            device, start = "cpu", time.perf_counter()
            files = await run(device)
        ms = (time.perf_counter() - start) * 1000
        model_json, weights, loss = files
        swapped = await _swap(model_id, model, _personal(teacher, model, model_json, weights), "personal")
    finally:
        TRAINING.discard(model_id)
    return {
        "info": swapped,
        "json": model_json,
        "weights": memoryview(weights),  # reaches JS as a Uint8Array
        "loss": loss,
        "ms": ms,
        "backend": device,
        "examples": len(labels),
        "note": note,
    }


def _personal(teacher, base, model_json, weights):
    """The personal model from what `teacher.train` gave: its kind's `personal` reads its own
    compact form (pycore.teach.photos keeps only the head), the two files of a model otherwise."""
    if hasattr(teacher, "personal"):
        return teacher.personal(base, model_json, weights)
    return Model.from_bytes(model_json, weights, source="your model")


async def use_personal(model_id, kind, model_json, weights):
    """Puts a personal model (what train gave for this kind of teaching, as stored by the page)
    in place of the model; one that cannot be read, or does not take and give what the shipped
    model does (the number of classes aside), is refused."""
    model = _model(model_id)
    try:
        personal = _personal(_teacher(kind), model, model_json, bytes(weights.to_py()))
    except PycoreError as e:
        raise PycoreError(f"it cannot be read: {e}") from None
    # the same inputs and outputs, but for how many classes each output tells apart: taught classes
    # (pycore.teach.photos) are the visitor's own number
    shapes = lambda m: ([i.shape for i in m.inputs], [m.graph.shapes[t][:-1] for t in m.graph.outputs])  # noqa: E731
    if shapes(personal) != shapes(model):
        raise PycoreError("it does not fit this model: it takes or gives other shapes")
    return await _swap(model_id, model, personal, "personal")


@one_at_a_time
async def files(model_id):
    """{"model.json": text, "weights.safetensors": bytes} of the model in use, which pycore.load
    reads: a personal model's download."""
    from .model import graph_files

    model_json, weights = graph_files(_model(model_id).graph)
    return {"model.json": model_json, "weights.safetensors": memoryview(weights)}


async def reset(model_id):
    """Goes back to the shipped model."""
    model = _model(model_id)
    return await _swap(
        model_id, model, Model.from_bytes(*model.shipped, source="the original model"), "original"
    )


async def _swap(model_id, old, new, kind):
    """`new` replaces `old` on the path asked for, once no request is running; returns its info."""
    async with old.lock:
        if MODELS.get(model_id) is not old:
            raise PycoreError("the model was unloaded or replaced meanwhile")
        new.wanted, new.lock, new.shipped, new.fingerprint = (
            old.wanted,
            old.lock,
            old.shipped,
            old.fingerprint,
        )
        new.kind = kind
        note = await choose_backend(new, old.wanted)
        MODELS[model_id] = new
        _close_extractor(old)
        if hasattr(old.backend, "close"):
            old.backend.close()
    return info(model_id, note)


def _teacher(kind):
    """The module of pycore.teach that teaches this kind of model."""
    if not re.fullmatch(r"[a-z]+", str(kind)):
        raise PycoreError(f"unknown kind of teaching {kind!r}")
    try:
        module = importlib.import_module(f"pycore.teach.{kind}")
    except ModuleNotFoundError:
        module = None
    if not hasattr(module, "train"):  # pycore.teach.fit is the kinds' loop, not a kind
        raise PycoreError(f"unknown kind of teaching {kind!r}")
    return module


def lose_device(model_id):
    """Test hook: destroys the model's GPU device, as a driver reset would."""
    _model(model_id).backend.lose_device()


def stats(model_id):
    """For leak checks: the model's live GPU buffers, and Python's live object count."""
    import gc

    backend = _model(model_id).backend
    gpu = backend.stats() if hasattr(backend, "stats") else {}
    return {**gpu, "pythonObjects": len(gc.get_objects())}
