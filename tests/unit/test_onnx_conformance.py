"""ONNX conformance on the CPU path, natively: the nine light CNNs with seeded weights against
onnxruntime on the same graphs (tools/conf.seeded_light.py), and the per-op cases of pytorch-converted/
and pytorch-operator/ against their shipped outputs. Pass counts may not go below the totals
recorded in docs/onnx-conformance.md (regenerate it with `python3 tools/conformance/run.py --browser`
when they go up)."""

import asyncio
import json
import re

import numpy as np
import pytest

from tools import onnx_conformance as conf

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


CONV = ("test_operator_conv", "test_operator_convtranspose")
COMMAND = ["--only", "test_operator_conv", "--kinds", "pytorch-operator", "--paths", "cpu-native"]


def test_the_command_runs_a_subset_to_the_terminal_and_never_writes_the_doc(tmp_path, capsys):
    from tools.conformance import run as command

    doc, raw = tmp_path / "doc.md", tmp_path / "results.json"
    assert command.main([*COMMAND, "--out", str(doc), "--json", str(raw)]) == 0
    results = json.loads(raw.read_text())
    assert sorted(results) == list(CONV)
    assert {r["cpu-native"]["status"] for r in results.values()} == {"pass"}
    assert {r["cpu-pyodide"]["status"] for r in results.values()} == {"not run"}
    assert "cpu-native: 2 pass, 0 fail, 0 not run" in capsys.readouterr().out
    assert not doc.exists(), "the doc lists every case: a subset must not overwrite it"


def test_a_full_command_run_with_browser_writes_every_path_into_the_doc(tmp_path, monkeypatch):
    """Every case (here: two) on every path: the browser sweep's results are merged into the doc."""
    from tools.conformance import chromium
    from tools.conformance import run as command

    subset = conf.cases(kinds=("pytorch-operator",), only="test_operator_conv")
    monkeypatch.setattr(conf, "cases", lambda kinds=conf.KINDS, only=None: subset)
    swept = {"status": "pass", "max_error": 0.0, "error": None, "ms": 1.0}
    browser = {path: {c.name: dict(swept) for c in subset} for path in chromium.PATHS.values()}
    monkeypatch.setattr(chromium, "run", lambda selected: (browser, "Chromium test"))

    async def no_gpu():  # these are the CPU tests
        return None, "not in the unit tests"

    monkeypatch.setattr(conf, "open_webgpu", no_gpu)
    doc = tmp_path / "doc.md"
    assert command.main(["--browser", "--paths", "cpu-native", "--out", str(doc)]) == 0
    assert not doc.exists(), "--paths leaves a native path out: not a full run"
    assert command.main(["--browser", "--out", str(doc)]) == 0
    assert conf.recorded_statuses("webgpu-chromium", doc) == dict.fromkeys(CONV, "pass")
    assert conf.recorded_statuses("cpu-native", doc) == dict.fromkeys(CONV, "pass")
    assert conf.recorded_statuses("webgpu-native", doc) == dict.fromkeys(CONV, "not run")
    assert "- cpu-pyodide ran in Chromium test" in doc.read_text()
