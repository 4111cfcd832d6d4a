"""The wasm GEMM kernels in real Pyodide (Chromium): loaded from the site's pycore wheel through
ctypes.CDLL, computing in place on Pyodide's numpy arrays, against numpy there over shapes across
the register block's edges and every epilogue; and each variant this browser validates, by name,
so the plain-SIMD module is tested here even where the relaxed one is picked. The depthwise kernel
likewise, over its forms with the padding it makes itself.
"""

import json

import pytest

from tools.browser import local_context, run_in_pyodide

CHECK = """
import json, math
import numpy as np
from pycore.cpu import wasm

def sweep(gemm):
    address = lambda x: x.ctypes.data
    rng = np.random.default_rng(0)
    worst, cases = 0.0, 0
    for m in (1, 3, 4, 5, 6, 7, 13):
        for n in (1, 3, 4, 7, 8, 9, 17):
            for k in (0, 1, 5, 8, 31):
                for bias_axis, residual, lo, hi in [(None, False, -math.inf, math.inf), (0, True, 0.0, 6.0),
                                                    (1, False, 0.0, math.inf)]:
                    a = rng.standard_normal((m, k), np.float32)
                    b = rng.standard_normal((k, n), np.float32)
                    bias = None if bias_axis is None else rng.standard_normal((m, n)[bias_axis], np.float32)
                    r = rng.standard_normal((m, n), np.float32) if residual else None
                    c = np.full((m, n), np.nan, np.float32)
                    gemm(*wasm.gemm_args(address, a, b, c, bias, bias_axis or 0, r, lo, hi))
                    want = a.astype(np.float64) @ b
                    scale = np.abs(a.astype(np.float64)) @ np.abs(b)
                    if bias is not None:
                        bias2 = bias[:, None] if bias_axis == 0 else bias[None, :]
                        want, scale = want + bias2, scale + np.abs(bias2)
                    if r is not None:
                        want, scale = want + r, scale + np.abs(r)
                    err = np.abs(c - np.clip(want, lo, hi)) / (2 * (k + 3) * 2.0**-24 * scale + 1e-30)
                    worst, cases = max(worst, float(err.max()) if err.size else 0.0), cases + 1
    return {"worst": worst, "cases": cases}

def depthwise_sweep(depthwise):
    # the depthwise kernel, padding itself, over each form, odd sizes and pads, against numpy's
    # explicitly padded input in float64
    address = lambda x: x.ctypes.data
    rng = np.random.default_rng(1)
    worst, cases = 0.0, 0
    for k, stride in sorted(wasm.DEPTHWISE_SHAPES):
        for h, wd in [(1, 1), (3, 5), (7, 7), (14, 13), (17, 9)]:
            for pads in [(0, 0, 0, 0), (k // 2,) * 4, (k // 2 - 1, k // 2 - 1, k // 2, k // 2)]:
                pt, pl, pb, pr = pads
                oh, ow = (h + pt + pb - k) // stride + 1, (wd + pl + pr - k) // stride + 1
                if oh < 1 or ow < 1:
                    continue
                x = rng.standard_normal((3, h, wd), np.float32)
                w = rng.standard_normal((3, k, k), np.float32)
                bias = rng.standard_normal(3, np.float32)
                y = np.full((3, oh, ow), np.nan, np.float32)
                scratch = np.full(wasm.depthwise_plane(k, stride, (oh, ow)), np.nan, np.float32)
                depthwise(*wasm.depthwise_args(address, x, w, bias, y, scratch, stride, 0.0, 6.0, (pt, pl)))
                padded = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr)))
                want, scale = bias[:, None, None].astype(np.float64), np.abs(bias[:, None, None])
                for i in range(k):
                    for j in range(k):
                        window = padded[:, i : i + stride * oh : stride, j : j + stride * ow : stride]
                        tap = window * w[:, i, j, None, None]
                        want, scale = want + tap, scale + np.abs(tap)
                err = np.abs(y - np.clip(want, 0.0, 6.0)) / (2 * (k * k + 2) * 2.0**-24 * scale + 1e-30)
                worst, cases = max(worst, float(err.max())), cases + 1
    return {"worst": worst, "cases": cases}

picked, name = wasm.load_gemm()
out = {"picked_name": name, "numpy": np.__version__, "variants": {}}
for name in wasm.GEMM:
    if not wasm.validates((wasm.KERNELS / f"{name}.wasm").read_bytes()):
        out["variants"][name] = "does not validate"
        continue
    out["variants"][name] = sweep(wasm.open_gemm(name))
out["picked"] = sweep(picked) if picked else None
depthwise, why = wasm.load_depthwise()
out["depthwise"] = depthwise_sweep(depthwise) if depthwise else why
json.dumps(out)
"""


@pytest.fixture(scope="module")
def results(browser, site):
    context, external = local_context(browser)
    errors = []
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{site}/index.html")
        out = json.loads(run_in_pyodide(page, CHECK))
    finally:
        context.close()
    assert external == [] and errors == [], (external, errors)
    return out


def test_the_loader_picks_a_wasm_kernel_in_chromium(results):
    assert results["numpy"].startswith("2.0"), "not Pyodide's numpy"
    # Chromium validates relaxed SIMD, so the faster module is the one picked
    assert results["picked_name"] == "gemm_relaxed", results["picked_name"]
    assert results["picked"]["cases"] == 735 and results["picked"]["worst"] <= 1.0, results["picked"]


@pytest.mark.parametrize("name", ["gemm_simd", "gemm_relaxed"])
def test_each_variant_matches_numpy_in_pyodide(results, name):
    got = results["variants"][name]
    assert got != "does not validate", f"{name} does not validate in this Chromium"
    assert got["cases"] == 735 and got["worst"] <= 1.0, got


def test_the_depthwise_kernel_pads_itself_and_matches_numpy_in_pyodide(results):
    got = results["depthwise"]
    assert isinstance(got, dict), f"the depthwise kernel did not load: {got}"
    assert got["cases"] == 50 and got["worst"] <= 1.0, got
