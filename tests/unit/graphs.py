"""Builds small pycore/1 graphs and runs them the way a model is run: model.json text plus
safetensors bytes, parsed by Graph.from_json, optionally rewritten by the load-time passes, then
executed by the CPU path."""

import json

import numpy as np

from pycore import passes, safetensors
from pycore.cpu import CPUBackend
from pycore.graph import Graph
from pycore.model import Model, read_weights


def doc(nodes, inputs, outputs=("y",), name="t"):
    """A model.json document; `inputs` maps graph input names to shapes."""
    return {
        "format": "pycore/1",
        "name": name,
        "inputs": [{"name": k, "shape": list(s), "dtype": "float32"} for k, s in inputs.items()],
        "outputs": list(outputs),
        "labels": None,
        "nodes": [dict(n) for n in nodes],
    }


def node(op, inputs, outputs=("y",), name=None, **attrs):
    return {
        "op": op,
        "name": name or op.lower(),
        "inputs": list(inputs),
        "outputs": list(outputs),
        "attrs": attrs,
    }


def load(nodes, feeds, weights=None, outputs=("y",), optimize=False):
    """Graph (from model.json text and safetensors bytes) and its CPU backend."""
    text = json.dumps(doc(nodes, {k: np.shape(v) for k, v in feeds.items()}, outputs))
    blob = safetensors.write({k: np.asarray(v) for k, v in (weights or {}).items()})
    graph = Graph.from_json(text, read_weights(blob))
    if optimize:
        passes.optimize(graph)
    return graph, CPUBackend(graph)


def run(nodes, feeds, weights=None, outputs=("y",), optimize=False):
    """Runs the graph and checks each output against the shape that shape inference promised."""
    feeds = {k: np.asarray(v, np.float32) for k, v in feeds.items()}
    graph, backend = load(nodes, feeds, weights, outputs, optimize)
    got = backend.run_sync(feeds)
    for t in outputs:
        assert got[t].shape == graph.shapes[t], f"{t}: ran to {got[t].shape}, inferred {graph.shapes[t]}"
    return got if len(outputs) > 1 else got[outputs[0]]


def run_model(nodes, x, weights=None, output="y"):
    """One-input graphs through the public entry point: Model.from_bytes (passes included)."""
    x = np.asarray(x, np.float32)
    text = json.dumps(doc(nodes, {"x": x.shape}, [output]))
    blob = safetensors.write({k: np.asarray(v) for k, v in (weights or {}).items()})
    return Model.from_bytes(text, blob, source="unit").run(x)


def run_both(nodes, x, weights=None):
    """Runs a one-input graph as written and through Model.from_bytes; both must agree."""
    plain = run(nodes, {"x": x}, weights)
    model = run_model(nodes, x, weights)
    np.testing.assert_allclose(model, plain, rtol=1e-5, atol=1e-6)
    return plain
