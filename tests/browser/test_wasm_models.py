"""The CPU path on the wasm kernels in real Pyodide (Chromium): the site's MNIST and EfficientNet-Lite0
models, loaded as the worker loads them, run with each kernel choice (wasm.CHOICES: auto, each
module, numpy) in the same Pyodide and compared with the numpy path; the note each choice gives;
the fallback when a module is missing from the wheel; and the note on the demo page.

Tolerance: outputs agree to 1e-4 of the largest logit (float32 GEMMs summed in another order over
some 60 layers drift by about 1e-6 of it), and the predicted classes are the same.
"""

import base64
import json

import numpy as np
import pytest
from test_mnist_page import open_demo

import build
from tools.browser import local_context, run_in_pyodide

ROOT = build.ROOT
MODELS = {"mnist": "models/mnist", "efficientnet-lite0": "models/efficientnet-lite0"}

CHECK = """
import base64, io, json, os
import numpy as np
import pycore
from pycore.cpu import CPUBackend, wasm

def outputs(backend, feeds):
    return {t: y.ravel().tolist() for t, y in backend.run_sync(feeds).items()}

rng = np.random.default_rng(0)
crop = np.load(io.BytesIO(base64.b64decode(PHOTO)))  # (224, 224, 3) uint8
inputs = {
    "mnist": rng.random((1, 1, 28, 28), np.float32),
    "efficientnet-lite0": ((crop.astype(np.float32) - 127) / 128).transpose(2, 0, 1)[None].copy(),
}
out = {}
for name, x in inputs.items():
    model = pycore.load(f"/models/{name}")  # the backend a plain load picks
    feeds = {model.graph.inputs[0].name: x}
    out[name] = {"loaded": {"note": model.backend.note, **outputs(model.backend, feeds)}}
    for choice in wasm.CHOICES:
        backend = CPUBackend(model.graph, choice)
        out[name][choice] = {"note": backend.note, **outputs(backend, feeds)}
    # the plan's buffers are reused: a run on another input leaves the first run's outputs alone
    first = model.backend.run_sync(feeds)
    kept = {t: y.copy() for t, y in first.items()}
    other = {k: np.ascontiguousarray(v[..., ::-1]) for k, v in feeds.items()}
    out[name]["other"] = outputs(model.backend, other)
    out[name]["other on numpy"] = outputs(CPUBackend(model.graph, "numpy"), other)
    out[name]["first kept"] = all(np.array_equal(first[t], kept[t]) for t in first)

# a wheel without a module: the loader goes on to the next, then to numpy
graph, feeds = model.graph, {model.graph.inputs[0].name: inputs["efficientnet-lite0"]}
out["missing"] = []
for name in wasm.GEMM:
    os.rename(wasm.KERNELS / f"{name}.wasm", wasm.KERNELS / f"{name}.gone")
    wasm.load_gemm.cache_clear()
    backend = CPUBackend(graph)
    out["missing"].append({"note": backend.note, **outputs(backend, feeds)})
json.dumps(out)
"""


NOTES = {
    "auto": "CPU: wasm SIMD (relaxed) kernels",
    "gemm_relaxed": "CPU: wasm SIMD (relaxed) kernels",
    "gemm_simd": "CPU: wasm SIMD kernels",
    "numpy": "CPU: numpy (no wasm SIMD: numpy asked for)",
}


@pytest.fixture(scope="module")
def results(browser, site):
    photo = base64.b64encode((ROOT / "tests/fixtures/efficientnet/coffee.npy").read_bytes()).decode()
    context, external = local_context(browser)
    errors = []
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{site}/index.html")
        code = f"PHOTO = {photo!r}\n" + CHECK
        out = json.loads(run_in_pyodide(page, code, MODELS))
    finally:
        context.close()
    assert external == [] and errors == [], (external, errors)
    return out


def assert_agree(got, want, what):
    for t, y in want.items():
        if t == "note":
            continue
        a, b = np.asarray(got[t]), np.asarray(y)
        err = np.abs(a - b).max() / np.abs(b).max()
        assert err <= 1e-4, f"{what} {t}: relative error {err}"
        assert a.argmax() == b.argmax(), f"{what} {t}: another class"


@pytest.mark.parametrize("model", list(MODELS))
def test_each_kernel_choice_gives_its_note_and_numpys_results(results, model):
    runs = results[model]
    assert runs["loaded"]["note"] == NOTES["auto"], "a plain load in Chromium should pick relaxed SIMD"
    for choice, note in NOTES.items():
        assert runs[choice]["note"] == note, (choice, runs[choice]["note"])
        assert_agree(runs[choice], runs["numpy"], f"{model} on {choice}")
    assert_agree(runs["loaded"], runs["numpy"], f"{model} as loaded")


@pytest.mark.parametrize("model", list(MODELS))
def test_a_run_on_another_input_leaves_the_last_outputs_alone(results, model):
    runs = results[model]
    assert runs["first kept"], f"{model}: the second run overwrote the first run's outputs"
    assert_agree(runs["other"], runs["other on numpy"], f"{model} on another input")


def test_the_efficientnet_photo_is_still_an_espresso(results):
    labels = json.loads((build.DIST / "models/efficientnet-lite0/model.json").read_text())["labels"]
    for choice in NOTES:
        assert labels[int(np.argmax(results["efficientnet-lite0"][choice]["logits"]))] == "espresso", choice


def test_a_missing_module_falls_back_to_the_next_then_to_numpy(results):
    without_relaxed, without_both = results["missing"]
    assert without_relaxed["note"] == NOTES["gemm_simd"]
    assert without_both["note"].startswith("CPU: numpy (no wasm SIMD: gemm_relaxed: "), without_both["note"]
    assert "No such file" in without_both["note"] and "gemm_simd: " in without_both["note"]
    want = results["efficientnet-lite0"]["numpy"]
    assert_agree(without_relaxed, want, "without gemm_relaxed")
    assert_agree(without_both, want, "without either module")


def test_the_demo_page_shows_which_cpu_kernels_run(page, site):
    assert open_demo(page, site, "cpu") == "ready"
    note = page.get_by_test_id("backend-note")
    assert note.is_visible() and note.text_content() == NOTES["auto"], note.text_content()
