"""The light ONNX CNNs with seeded weights on the native WebGPU path (lavapipe), against onnxruntime
on the same graphs, as tools/conformance/run.py runs them. AlexNet, ZFNet and VGG-19 hold single
weights past lavapipe's 128 MiB binding limit and are left to the conformance tool."""

import asyncio

import gpu_harness  # noqa: F401  (skips this module when no WebGPU adapter exists)
import pytest

from tools import onnx_conformance as conf

FIT = ("densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet", "squeezenet")


@pytest.fixture(scope="module")
def results():
    selected = [c for c in conf.cases(kinds=("light",)) if c.name in FIT]
    return asyncio.run(conf.run(selected, paths=("webgpu-native",), log=lambda line: None))


@pytest.mark.parametrize("name", FIT)
def test_light_model_matches_onnxruntime(results, name):
    assert results[name]["webgpu-native"]["status"] == "pass", results[name]["webgpu-native"]
