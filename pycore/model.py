"""A loaded model: graph + weights after the load-time passes, bound to one execution path."""

import asyncio
import json
import os
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import passes, quantize, safetensors
from .errors import InputError, ModelNotFound, PycoreError, ShapeError
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


def graph_files(graph):
    """(model.json text, weights.safetensors bytes) of a loaded graph, which pycore.load reads back:
    the graph as the load-time passes left it (BatchNorm folded, activations fused), weights fp32."""
    doc = json.dumps(graph.to_json(), separators=(",", ":"))
    return doc, safetensors.write(graph.weights, metadata={"source": graph.name, "weights": "fp32"})


@dataclass
class Stored:
    """What the model's files hold, before the load-time passes rewrite the graph."""

    format: str  # how weights.safetensors stores conv/matmul weights: fp32, fp16 or int8
    bytes: int  # size of weights.safetensors
    parameters: int  # numbers in it once dequantised (BatchNorm statistics included)
    ops: dict  # {op: node count} in model.json


class Model:
    def __init__(self, graph, backend, stored=None):
        self.graph = graph
        self.backend = backend
        self.inputs = graph.inputs
        self.input = graph.inputs[0] if graph.inputs else None  # a graph of constants takes none
        self.labels = graph.labels
        self.stored = stored

    @classmethod
    def from_bytes(cls, model_json, weights, source="model"):
        """Builds a CPU model from the two files' contents; see `use` for other paths."""
        tensors = safetensors.read(weights, f"{source}/weights.safetensors")
        arrays = quantize.dequantize(tensors, f"{source}/weights.safetensors", _computes_in_half(model_json))
        graph = Graph.from_json(model_json, arrays, f"{source}/model.json")
        stored = Stored(
            quantize.stored_format(tensors),
            memoryview(weights).nbytes,
            sum(int(np.size(w)) for w in arrays.values()),
            dict(Counter(n.op for n in graph.nodes)),
        )
        passes.optimize(graph)
        return cls(graph, backend_class("cpu")(graph), stored)

    def __repr__(self):
        outs = ", ".join(f"{t} {list(self.graph.shapes[t])}" for t in self.graph.outputs)
        parts = [f"{describe(self.inputs) or 'takes no inputs'} -> {outs}"]
        if self.labels:
            parts.append(f"{len(self.labels)} labels")
        if self.stored:
            parts.append(f"{self.stored.parameters:,} parameters ({self.stored.format})")
        return f"<Model {self.graph.name!r} on {self.backend.name}: {'; '.join(parts)}>"

    async def use(self, backend, **options):
        """Switches the execution path; raises if it cannot be set up (the caller falls back)."""
        new = await backend_class(backend).create(self.graph, **options)
        old, self.backend = self.backend, new
        if old is not new and hasattr(old, "close"):  # GPU buffers go now, not at garbage collection
            old.close()
        return self

    def input_named(self, name):
        for i in self.inputs:
            if i.name == name:
                return i
        raise InputError(f"the model has no input {name!r}; its inputs: {describe(self.inputs)}")

    def feeds(self, x):
        """{input name: array of that input's dtype} from one array (a one-input model) or a dict of
        named arrays."""
        if not isinstance(x, Mapping):
            if not self.inputs:
                raise InputError(f"model {self.graph.name!r} takes no inputs: run it with {{}}")
            if len(self.inputs) > 1:
                raise InputError(
                    f"model {self.graph.name!r} has {len(self.inputs)} inputs ({describe(self.inputs)}): "
                    "pass a dict {name: array}"
                )
            x = {self.input.name: x}
        for name in x:
            self.input_named(name)
        missing = [i.name for i in self.inputs if i.name not in x]
        if missing:
            raise InputError(f"input {missing[0]!r} is missing; the model takes {describe(self.inputs)}")
        return {i.name: _check(i, x[i.name]) for i in self.inputs}

    async def run_async(self, x):
        """Runs the model (awaiting the GPU readback). One array in gives the first output, as an
        array; a dict {input name: array} in gives every output, as {output name: array}."""
        out = await self.backend.run(self.feeds(x))
        if isinstance(x, Mapping):
            return {t: out[t] for t in self.graph.outputs}
        return out[self.graph.outputs[0]]

    def run(self, x):
        """Synchronous run_async. The CPU path and wgpu-py never suspend, so this finishes in one step;
        a backend that must await its readback (WebGPU in the browser) needs `run_async`."""
        coro = self.run_async(x)
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        coro.close()
        raise PycoreError(f"the {self.backend.name} path reads back asynchronously: await model.run_async(x)")

    def top_k(self, probs, k=5):
        """The k largest of one batch item's values (the first output's), with their labels."""
        flat = np.asarray(probs).reshape(-1)
        names = self.labels or [str(i) for i in range(flat.size)]
        if flat.size != len(names):
            raise ShapeError(f"top_k takes the {len(names)} values of one item, got {flat.size}")
        idx = np.argsort(-flat)[:k]
        return [(names[i], float(flat[i])) for i in idx]


def _computes_in_half(model_json):
    try:
        return quantize.computes_in_half(
            json.loads(model_json) if isinstance(model_json, (str, bytes)) else model_json
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return False  # Graph.from_json says what is wrong with the file


def describe(inputs):
    return ", ".join(f"{i.name} {list(i.shape)}" for i in inputs)


def _check(input, x):
    try:
        x = np.asarray(x, dtype=input.dtype)  # float32 for images, whatever the caller's array holds
    except (TypeError, ValueError):
        raise InputError(f"input {input.name!r} must be numbers, not {type(x).__name__}") from None
    if x.shape != tuple(input.shape):
        raise ShapeError(f"input {input.name!r} must have shape {list(input.shape)}, got {list(x.shape)}")
    return np.ascontiguousarray(x)


def load(path, backend="cpu"):
    """Loads a converted model in CPython: its folder (model.json + weights.safetensors), or the
    model.json in it."""
    path = os.fspath(path)
    if os.path.isdir(path):
        folder, doc = path, os.path.join(path, "model.json")
        if not os.path.isfile(doc):
            hint = " (python -m pycore convert MODEL.onnx FOLDER makes one)"
            raise ModelNotFound(f"{path} is not a pycore model: it has no model.json{hint}")
    elif path.endswith(".onnx") and os.path.isfile(path):
        hint = f"python -m pycore convert {path} OUT_FOLDER"
        raise ModelNotFound(f"{path} is an ONNX model: convert it first ({hint})")
    elif os.path.basename(path) == "model.json" and os.path.isfile(path):
        folder, doc = os.path.dirname(path) or ".", path
    elif os.path.exists(path):
        raise ModelNotFound(f"{path} is not a pycore model: give its folder, or the model.json in it")
    else:
        raise ModelNotFound(f"{path}: no such model folder or file")
    weights = os.path.join(folder, "weights.safetensors")
    if not os.path.isfile(weights):
        raise ModelNotFound(f"{doc} has no weights.safetensors beside it")
    with open(doc, "rb") as f:
        doc_bytes = f.read()
    with open(weights, "rb") as f:
        weight_bytes = f.read()
    model = Model.from_bytes(doc_bytes, weight_bytes, source=os.path.normpath(folder))
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
