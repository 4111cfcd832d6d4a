"""The ONNX node suite's cases of dtype-carrying ops (comparisons, logic, Where, Cast, ArgMax,
Gather, Range, ...: int64, int32, bool, uint8 and int8 tensors at run time) through pycore's worker
in Chromium, on the CPU path (Pyodide: wasm32, where numpy's intp is 32 bits) and the WebGPU path
(SwiftShader). Every case that passes natively (tests/unit/test_node_suite.py) must pass in
Pyodide too; on WebGPU each passes or is refused with the float32-only note, and the page then
runs it on the CPU path."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from tools.conformance import chromium as runner
from tools.conformance import node_suite

OPS = ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Where", "And", "Or", "Xor", "Not",
       "Cast", "ArgMax", "ArgMin", "Gather", "GatherElements", "Range", "Mod", "Div")  # fmt: skip


def natively(case):
    """The case's (status, detail) on cpu-native, run in a thread: playwright's loop holds this one."""
    run = node_suite.run_case(case, ["cpu-native"], None)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run).result()["cpu-native"]


@pytest.fixture(scope="module")
def swept(site, browser):
    cases = [
        c
        for c in node_suite.node_cases()
        if c.model.graph.node[0].op_type in OPS and node_suite.InAPage(c).fits()
    ]
    # a pass with values given at conversion (its detail names them) the page, which converts the
    # case as it is, would refuse
    passing = [node_suite.InAPage(c) for c in cases if natively(c) == ("pass", None)]
    entries, results, session, external = runner.quietly(browser, site, passing)
    assert external == [] and session.errors == [], (external, session.errors)
    return passing, entries, results


def test_the_cases_carry_integers_and_bools(swept):
    passing, entries, _ = swept
    assert len(entries) == len(passing) > 100, (len(entries), len(passing))


def test_every_native_pass_passes_in_pyodide(swept):
    _, _, results = swept
    failed = {k: r["error"] for k, r in results["cpu-pyodide"].items() if r["status"] != "pass"}
    assert failed == {}


def test_on_webgpu_each_passes_or_is_refused_for_its_types(swept):
    _, _, results = swept
    other = {
        k: r["error"]
        for k, r in results["webgpu-chromium"].items()
        if r["status"] != "pass" and "tensors only" not in str(r["error"])
    }
    assert other == {}
    passed = [k for k, r in results["webgpu-chromium"].items() if r["status"] == "pass"]
    assert len(passed) > 20, passed  # the float32 and bool cases (comparisons, Where, Mod, Div)
