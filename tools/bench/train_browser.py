"""Training-step benchmark in the browser: pycore in Pyodide against TensorFlow.js, one Chromium run.

    python3 tools/bench/train_browser.py [--steps 10] [--batch 64] [--warmup 3]

A step of the small MNIST CNN of tools/reference_models.py (`bench_cnn`) is forward, cross-entropy,
backward and Adam (lr 1e-3), with the loss read back so the step's work is done. Rows: pycore's CPU
and WebGPU paths in Pyodide (the site's Pyodide and pycore wheel), TensorFlow.js 4.22.0 on its wasm
backend (1 thread, SIMD as detected) and its webgpu backend, the same architecture in TF.js layers
(NHWC). tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so its stock row fails; a second wasm
row adds one made of its own Transpose and Conv2D kernels. In headless Chromium WebGPU is SwiftShader,
a CPU implementation. pycore's webgpu ops are lazy: a step's loss readback runs that forward and the
previous step's backward and update. These are benchmark numbers on a shared machine, not tests.

Builds the site, adds dist/bench/train/ (the page, TF.js's bundles from node_modules, the model
source), serves dist/ on 127.0.0.1, blocks and reports any request that leaves it.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from tools.browser import adapter, launch, local_context, served  # noqa: E402

PAGE = build.DIST / "bench" / "train"
TFJS = {
    "tfjs": ["tf.min.js"],
    "tfjs-backend-wasm": ["tf-backend-wasm.min.js", "tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm"],
    "tfjs-backend-webgpu": ["tf-backend-webgpu.min.js"],
}
PAIRS = [("pycore cpu (Pyodide)", "tfjs wasm"), ("pycore webgpu (Pyodide)", "tfjs webgpu")]


def prepare():
    build.build()
    for name in ("train_browser.html", "train_browser.js"):
        build.copy_if_changed(ROOT / "tools" / "bench" / name, PAGE / name)
    build.copy_if_changed(ROOT / "tools" / "reference_models.py", PAGE / "reference_models.py")
    for package, files in TFJS.items():
        for name in files:
            build.copy_if_changed(build.NODE / "@tensorflow" / package / "dist" / name, PAGE / "tfjs" / name)
    wheel = next((build.DIST / "wheels").glob("pycore-*.whl")).name
    (PAGE / "wheel.json").write_text(json.dumps({"pycore": wheel}))


def measure(steps, batch, warmup):
    from playwright.sync_api import sync_playwright

    errors = []
    with served(build.DIST) as url, sync_playwright() as p:
        browser = launch(p.chromium)
        context, external = local_context(browser)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(f"{url}/bench/train/train_browser.html?steps={steps}&batch={batch}&warmup={warmup}")
        try:
            page.wait_for_function(
                "document.getElementById('status').textContent === 'done'", timeout=1_800_000
            )
        except Exception:
            raise SystemExit(f"the page did not finish: {errors or page.text_content('#now')}") from None
        results = json.loads(page.text_content("#results"))
        results["adapter"] = adapter(page)
        results["browser"] = f"Chromium {browser.version}"
        results["errors"] = errors
        browser.close()
    if external:
        raise SystemExit(f"requests left 127.0.0.1: {external}")
    return results


def report(results):
    print(f"{results['browser']}, WebGPU adapter: {results['adapter']}")
    print(f"batch {results['batch']}, {results['warmup']} warm-up steps, then {results['steps']} timed")
    print(f"{'ms per step':30}{'median':>9}{'min':>9}{'max':>9}   {'loss first -> last':20}  notes")
    medians = {}
    for r in results["rows"]:
        if "error" in r:
            print(f"{r['row']:30}{'failed':>9}   {r['error']}")
            continue
        t = r["times"]
        medians[r["row"]] = statistics.median(t)
        losses = f"{r['losses'][0]:.4f} -> {r['losses'][-1]:.4f}"
        print(f"{r['row']:30}{medians[r['row']]:9.1f}{min(t):9.1f}{max(t):9.1f}   {losses:20}  {r['note']}")
    for e in results["errors"]:
        print(f"page error: {e}")
    for ours, peer in PAIRS:
        if peer not in medians and f"{peer} + filter-grad shim" in medians:
            peer = f"{peer} + filter-grad shim"
        if ours in medians and peer in medians:
            print(f"{ours} / {peer}: {medians[ours] / medians[peer]:.2f}x (medians)")
        else:
            print(f"{ours} / {peer}: not measured (a row failed)")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    prepare()
    report(measure(args.steps, args.batch, args.warmup))


if __name__ == "__main__":
    main()
