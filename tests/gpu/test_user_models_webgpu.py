"""The user-style models of tests/unit/test_user_models.py on the native WebGPU path (lavapipe),
against onnxruntime."""

import asyncio

import pytest
from gpu_harness import DEVICE, max_rel_error, record

from pycore.webgpu import WebGPUBackend
from tests.unit.test_user_models import FILES, loaded, reference


@pytest.mark.parametrize("name", FILES)
def test_user_model_matches_onnxruntime_on_webgpu(name):
    graph = loaded(name)
    x, want = reference(name)
    backend = asyncio.run(WebGPUBackend.create(graph, device=DEVICE))
    try:
        got = asyncio.run(backend.run({graph.inputs[0].name: x}))[graph.outputs[0]]
    finally:
        backend.close()
    error = max_rel_error(got, want)
    record([f"model:{name.removesuffix('.onnx')}"], error)
    assert got.shape == want.shape and error < 1e-4, error
