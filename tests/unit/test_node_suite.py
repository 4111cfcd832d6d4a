"""The whole ONNX backend node suite (1,884 cases of the installed onnx wheel) on the CPU path, each
case under its own alarm (tools/conformance/node_suite.py): about half a minute here. Every case
passes or is refused with a PycoreError; none gives a wrong answer or crashes, and the passes never
fall below the floor the doc's Node suite section cites."""

import asyncio

import pytest

from tools.conformance import node_suite

PATH = "cpu-native"


@pytest.fixture(scope="module")
def results():
    return asyncio.run(node_suite.sweep(node_suite.node_cases(), [PATH], log=lambda line: None))


def test_no_case_is_wrong_or_crashes(results):
    bad = {name: r[PATH] for name, r in results.items() if r[PATH][0] in ("wrong", "crash")}
    assert bad == {}


def test_passes_stay_at_or_above_the_floor(results):
    c = node_suite.counts(results, PATH)
    assert c["pass"] >= node_suite.FLOOR, f"{c['pass']} of {len(results)} pass; the floor: {node_suite.FLOOR}"
    assert sum(c.values()) == len(results) > 1800  # the suite was found, every case counted once
