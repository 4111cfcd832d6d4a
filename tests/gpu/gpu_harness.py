"""Shared by the native GPU tests: one wgpu-py device for the whole session (pipelines are cached
on it), graphs built the way models are loaded, and the GPU-vs-CPU comparison.

Importing this skips the importing test module when, and only when, no WebGPU adapter exists.
"""

import asyncio
import json

import numpy as np
import pytest

from pycore import passes
from pycore.cpu import CPUBackend
from pycore.graph import Graph
from pycore.webgpu import GPUUnavailable, WebGPUBackend
from pycore.webgpu.auto import open_device


def _open():
    try:
        return asyncio.run(open_device())
    except GPUUnavailable as e:
        if str(e).startswith(("no WebGPU adapter", "no WebGPU API")):
            pytest.skip(f"no WebGPU adapter: {e}", allow_module_level=True)
        raise


DEVICE = _open()
RTOL = 1e-4
WORST = {}  # op type -> largest relative error seen, for the summary conftest.py prints


def record(ops, error):
    for op in ops:
        WORST[op] = max(WORST.get(op, 0.0), error)


def rand(*shape, seed=0):
    return np.random.default_rng([seed, *shape]).standard_normal(shape).astype(np.float32)


def node(op, inputs, outputs=("y",), **attrs):
    return {
        "op": op,
        "name": f"{op.lower()}_{outputs[0]}",
        "inputs": list(inputs),
        "outputs": list(outputs),
        "attrs": attrs,
    }


def graph(nodes, feeds, weights=None, outputs=("y",), optimize=False):
    doc = {
        "format": "pycore/1",
        "name": "gpu-test",
        "inputs": [{"name": k, "shape": list(np.shape(v))} for k, v in feeds.items()],
        "outputs": list(outputs),
        "nodes": nodes,
    }
    weights = {k: np.asarray(v, np.float32) for k, v in (weights or {}).items()}
    g = Graph.from_json(json.dumps(doc), weights)
    return passes.optimize(g) if optimize else g


def gpu(g, **options):
    return asyncio.run(WebGPUBackend.create(g, device=DEVICE, **options))


def run(backend, feeds):
    return asyncio.run(backend.run(feeds))


def max_rel_error(got, want):
    """Largest error relative to the reference's scale, so near-zero entries do not dominate."""
    got, want = got.astype(np.float64), want.astype(np.float64)  # bools and integers too
    scale = max(float(np.abs(want).max()), 1e-6) if want.size else 1.0
    return float(np.abs(got - want).max() / scale) if want.size else 0.0


def on_both(g, feeds):
    """(the CPU path's outputs, the GPU path's) of graph `g` on `feeds`."""
    want = CPUBackend(g).run_sync(feeds)
    backend = gpu(g)
    try:
        return want, run(backend, feeds)
    finally:
        backend.close()


def check(nodes, feeds, weights=None, outputs=("y",), optimize=False, rtol=RTOL):
    """Runs the graph on the CPU path and the GPU path and compares every output."""
    g = graph(nodes, feeds, weights, outputs, optimize)
    feeds = {k: np.asarray(v, np.float32) for k, v in feeds.items()}
    want, got = on_both(g, feeds)
    errors = {}
    for t in outputs:
        assert got[t].shape == want[t].shape, f"{t}: GPU shape {got[t].shape}, CPU {want[t].shape}"
        assert got[t].dtype == want[t].dtype, f"{t}: GPU dtype {got[t].dtype}, CPU {want[t].dtype}"
        errors[t] = max_rel_error(got[t], want[t])
        record({n.op for n in g.nodes}, errors[t])
        assert errors[t] <= rtol, f"{t}: max error {errors[t]:.3g} relative to max |CPU| exceeds {rtol}"
    return errors
