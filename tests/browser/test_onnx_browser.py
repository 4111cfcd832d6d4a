"""ONNX conformance in Chromium: every per-op case of pytorch-converted/ and pytorch-operator/ that
converts, and the small light models, through pycore's Web Worker on the CPU path (Pyodide) and the
WebGPU path (SwiftShader), in one page. Outputs are compared with the same references (the shipped
ones; onnxruntime on the seeded graphs for the light models), code and tolerances as the native
sweep (tools/conformance/chromium.py). No case recorded as
passing in docs/onnx-conformance.md may fail, and pass counts may not go down (regenerate the doc
with `python3 tools/conformance/run.py --browser` when they go up).

The large light models (VGG-19, AlexNet, ZFNet: 240-570 MB of weights, minutes on SwiftShader) and
the mid-sized ones are left to `tools/conformance/run.py --browser` to keep this test to about a
minute.
"""

import pytest

from tools import onnx_conformance as conf
from tools.conformance import chromium as runner

LIGHT_IN_CI = ("squeezenet", "shufflenet")
COLUMNS = tuple(runner.PATHS.values())


@pytest.fixture(scope="module")
def swept(site, browser):
    selected = [c for c in conf.cases() if c.kind != "light" or c.name in LIGHT_IN_CI]
    entries, results, session, external = runner.quietly(browser, site, selected)
    assert external == [], f"requests left 127.0.0.1: {external}"
    assert session.errors == [], f"console errors: {session.errors}"
    return {"selected": selected, "entries": entries, "results": results, "session": session}


def test_every_converted_case_ran_on_both_paths(swept):
    names = {e["name"] for e in swept["entries"]}
    assert set(LIGHT_IN_CI) <= names
    assert len(names) > 100, "the per-op cases were not exported"
    for column in COLUMNS:
        assert swept["results"][column].keys() == names


def test_the_webgpu_path_is_swiftshader(swept):
    assert "swiftshader" in swept["session"].environment["adapter"].lower()


@pytest.mark.parametrize("name", LIGHT_IN_CI)
@pytest.mark.parametrize("column", COLUMNS)
def test_light_model_matches_reference(swept, column, name):
    r = swept["results"][column][name]
    assert r["status"] == "pass", r


@pytest.mark.parametrize("column", COLUMNS)
def test_no_recorded_pass_regresses(swept, column):
    recorded = conf.recorded_statuses(column)
    now = swept["results"][column]
    lost = {n: now[n]["error"] for n in now if recorded.get(n) == "pass" and now[n]["status"] != "pass"}
    assert lost == {}, f"{column}: cases that passed before fail now: {lost}"
    before = sum(recorded.get(n) == "pass" for n in now)
    after = sum(r["status"] == "pass" for r in now.values())
    assert after >= before, f"{column}: passes fell from {before} to {after}"
    assert before > 0, f"{column}: docs/onnx-conformance.md records no browser run"
