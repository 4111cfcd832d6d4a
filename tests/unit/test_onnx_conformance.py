"""ONNX conformance on the CPU path, natively: the nine light CNNs with seeded weights against
onnxruntime on the same graphs (tools/conf.seeded_light.py), and the per-op cases of pytorch-converted/
and pytorch-operator/ against their shipped outputs. Pass counts may not go below the totals
recorded in docs/onnx-conformance.md (regenerate it with `python tools/onnx_conformance.py` when
they go up)."""

import asyncio
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import onnx_conformance as conf  # noqa: E402

LIGHT = ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet",
         "squeezenet", "vgg19", "zfnet512"]  # fmt: skip


@pytest.fixture(scope="module")
def results():
    return asyncio.run(conf.run(conf.cases(), paths=("cpu-native",), log=lambda line: None))


@pytest.mark.parametrize("name", LIGHT)
def test_light_model_matches_reference(results, name):
    r = results[name]
    assert r["kind"] == "light" and r["conversion"] is None, r["conversion"]
    assert r["cpu-native"]["status"] == "pass", r["cpu-native"]


@pytest.mark.parametrize("name", LIGHT)
def test_light_model_is_well_conditioned(results, name):
    """Seeded weights keep every activation of order 1 (the shipped fills reach about 1e10), so a
    float32 rounding difference cannot change the comparison's outcome."""
    assert 1 < results[name]["largest_activation"] < 100


def test_seeding_is_reproducible_and_replaces_every_fill():
    case = next(c for c in conf.cases(kinds=("light",)) if c.name == "squeezenet")
    a, b = case.source(), case.source()
    assert not any(n.op_type == "ConstantOfShape" for n in a.graph.node)
    assert [t.SerializeToString() for t in a.graph.initializer] == [
        t.SerializeToString() for t in b.graph.initializer
    ]
    shapes = conf.seeded_light.input_shapes(a.graph)
    assert list(shapes) == ["data_0"] and shapes["data_0"] == (1, 3, 224, 224)
    x = conf.seeded_light.inputs(shapes)["data_0"]
    assert x.dtype == np.float32 and 0 <= x.min() < 0.01 and 0.99 < x.max() < 1


def test_pass_counts_do_not_go_down(results):
    recorded = conf.recorded_totals()["cpu-native"]
    now = conf.totals(results)["cpu-native"]
    assert now["pass"] >= recorded["pass"], f"cpu-native passes fell from {recorded['pass']} to {now['pass']}"
    assert now["pass"] + now["fail"] == len(results)


def test_every_failure_is_a_clear_conversion_error(results):
    """Cases pycore does not support fail at conversion, naming node, op and opset (or the input)."""
    clear = re.compile(r"node '[^']+' \(\w+, opset \d+\): |graph input '[^']+' has dtype ")
    for name, r in results.items():
        if r["cpu-native"]["status"] == "fail":
            assert r["conversion"] is not None, f"{name} converted but failed at run time: {r['cpu-native']}"
            assert clear.search(r["conversion"]), f"{name}: {r['conversion']}"


def test_unavailable_paths_are_not_run(results):
    for r in results.values():
        assert {r[p]["status"] for p in ("webgpu-native", "cpu-pyodide", "webgpu-chromium")} == {"not run"}
