"""A loaded model: graph + weights after the load-time passes, bound to one execution path."""

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import passes, quantize, safetensors
from .errors import PycoreError, ShapeError
from .graph import Graph

BACKENDS = {"cpu": "pycore.cpu:CPUBackend", "webgpu": "pycore.webgpu:WebGPUBackend"}


def backend_class(name):
    if name not in BACKENDS:
        raise PycoreError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    return getattr(__import__(module, fromlist=[cls]), cls)


def read_weights(data, name="weights.safetensors"):
    """Weights as float32 arrays, whatever precision they were stored in (fp16, int8: see quantize.py)."""
    return quantize.dequantize(safetensors.read(data, name), name)


class Model:
    def __init__(self, graph, backend):
        self.graph = graph
        self.backend = backend
        self.input = graph.inputs[0]
        self.labels = graph.labels

    @classmethod
    def from_bytes(cls, model_json, weights, source="model"):
        """Builds a CPU model from the two files' contents; see `use` for other paths."""
        graph = Graph.from_json(
            model_json, read_weights(weights, f"{source}/weights.safetensors"), f"{source}/model.json"
        )
        passes.optimize(graph)
        return cls(graph, backend_class("cpu")(graph))

    async def use(self, backend, **options):
        """Switches the execution path; raises if it cannot be set up (the caller falls back)."""
        new = await backend_class(backend).create(self.graph, **options)
        old, self.backend = self.backend, new
        if old is not new and hasattr(old, "close"):  # GPU buffers go now, not at garbage collection
            old.close()
        return self

    def check_input(self, x):
        x = np.asarray(x, dtype=np.float32)
        want = tuple(self.input.shape)
        if x.shape != want:
            raise ShapeError(f"input {self.input.name!r} must have shape {list(want)}, got {list(x.shape)}")
        return np.ascontiguousarray(x)

    async def run_async(self, x):
        """Returns the first graph output for input `x` (awaits GPU readback)."""
        out = await self.backend.run({self.input.name: self.check_input(x)})
        return out[self.graph.outputs[0]]

    def run(self, x):
        """Synchronous run. The CPU path and wgpu-py never suspend, so this finishes in one step;
        a backend that must await its readback (WebGPU in the browser) needs `run_async`."""
        coro = self.run_async(x)
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        coro.close()
        raise PycoreError(f"the {self.backend.name} path reads back asynchronously: await model.run_async(x)")

    def top_k(self, probs, k=5):
        flat = np.asarray(probs).reshape(-1)
        idx = np.argsort(-flat)[:k]
        names = self.labels or [str(i) for i in range(flat.size)]
        return [(names[i], float(flat[i])) for i in idx]


def load(folder, backend="cpu"):
    """Loads a converted model folder (model.json + weights.safetensors) in CPython."""
    with open(os.path.join(folder, "model.json"), "rb") as f:
        doc = json.load(f)
    with open(os.path.join(folder, "weights.safetensors"), "rb") as f:
        weights = f.read()
    model = Model.from_bytes(doc, weights, source=os.path.basename(os.path.normpath(folder)))
    if backend != "cpu":
        blocking(model.use(backend))
    return model


def blocking(coro):
    """Runs a coroutine to completion from synchronous code; inside a running event loop (a notebook,
    a test under playwright) asyncio.run() refuses, so it then runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
