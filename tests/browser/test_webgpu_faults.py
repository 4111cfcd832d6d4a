"""The WebGPU path's faults in the browser: each one falls back to the CPU path with a visible
note and the page keeps working; a device lost mid-session recovers without a reload; 500 runs
leave GPU buffers, Python objects and the worker's memory flat."""

import pytest
from pages import draw, inject_gpu_fault, settled_prediction, worker_js_heap

from tools.browser import wait_ready
from tools.digit_strokes import STROKES

FAULTS = {
    "no-gpu": "navigator.gpu is missing",
    "no-adapter": "requestAdapter() returned null",
    "device-reject": "request_device was rejected",
    "shader-fail": "failed to compile",
}


def open_mnist(page, site, query):
    page.goto(f"{site}/demos/mnist/index.html?{query}")
    assert wait_ready(page) == "ready"


def note(page):
    return page.get_by_test_id("backend-note").text_content()


@pytest.mark.parametrize("fault", FAULTS)
def test_each_webgpu_fault_falls_back_to_cpu_with_a_note(page, site, fault):
    inject_gpu_fault(page, fault)
    open_mnist(page, site, "backend=webgpu")
    assert page.get_by_test_id("backend").text_content() == "cpu"
    assert page.get_by_test_id("backend-note").is_visible()
    assert "CPU path" in note(page) and FAULTS[fault] in note(page), note(page)
    draw(page, STROKES[7])
    assert settled_prediction(page)[0] == "7"


def test_auto_takes_webgpu_only_from_a_hardware_adapter(page, site):
    open_mnist(page, site, "backend=auto")
    software = page.evaluate("async () => (await navigator.gpu.requestAdapter()).info.isFallbackAdapter")
    if software:  # SwiftShader, as in CI: slower than numpy, so auto says so and takes the CPU path
        assert page.get_by_test_id("backend").text_content() == "cpu"
        assert "software fallback" in note(page), note(page)
    else:
        assert page.get_by_test_id("backend").text_content() == "webgpu"
    draw(page, STROKES[4])
    assert settled_prediction(page)[0] == "4"


def test_a_lost_device_is_recreated_without_reloading_the_page(page, site):
    open_mnist(page, site, "backend=webgpu")
    page.evaluate("window.sameDocument = true")
    draw(page, STROKES[2])
    assert settled_prediction(page)[0] == "2"
    page.evaluate("pycore.model.loseDevice()")
    page.get_by_test_id("clear").click()
    draw(page, STROKES[5])
    assert settled_prediction(page)[0] == "5"
    assert page.evaluate("window.sameDocument") is True
    assert page.get_by_test_id("backend").text_content() == "webgpu"
    assert page.errors == []


RUNS = """async ([n]) => {
  const x = new Float32Array(784).map((_, i) => (i * 7919) % 255 / 255);
  for (let i = 0; i < n; i++) await pycore.model.predict(x);
  return await pycore.model.stats();
}"""


def test_500_inferences_leave_memory_flat(browser, page, site):
    open_mnist(page, site, "backend=webgpu")
    warm = page.evaluate(RUNS, [20])
    warm["jsHeapBytes"] = worker_js_heap(browser, page)
    after = page.evaluate(RUNS, [500])
    after["jsHeapBytes"] = worker_js_heap(browser, page)
    print(f"after 20 runs: {warm}\nafter 520 runs: {after}")
    assert after["buffers"] == warm["buffers"] and after["bytes"] == warm["bytes"]
    assert after["pythonObjects"] - warm["pythonObjects"] < 200
    assert after["wasmHeapBytes"] <= warm["wasmHeapBytes"] + 4 * 2**20
    assert after["jsHeapBytes"] < warm["jsHeapBytes"] + 2 * 2**20
