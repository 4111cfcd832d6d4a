"""Benchmarks pycore against onnxruntime-web in one headless Chromium run and prints the ratios.

    python3 tools/bench/run.py [--models mnist,efficientnet-lite0] [--runs 10]
    python3 tools/bench/run.py --models "" --onnx squeezenet,shufflenet --runs 3
    python3 tools/bench/run.py --paths cpu   (pycore cpu against ort wasm only)

Builds the site, adds dist/bench/ (this page, onnxruntime-web from node_modules, ONNX exports of
the same models and weights), serves it on 127.0.0.1 and reads the page's JSON. pycore times are
measured two ways: wall (page → worker → page, what an app sees) and inner (the worker's own
input-in to probabilities-out, the `latency-ms` hook); onnxruntime-web runs on the page itself.

--onnx times the light CNNs shipped with the onnx wheel (`python -m pycore list`) the other way
round: pycore runs its own conversion of the .onnx file (dist/bench/onnx/<name>/), onnxruntime-web
the original file. Their weights are ConstantOfShape fills (0.02), which changes no op's cost.
--onnx also takes the exported modern models of tests/fixtures/user_models/ by file stem
(vit-dynamo, convnext-torchscript, ...; `--onnx user` for all eight).
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from tools.bench.to_onnx import check, export  # noqa: E402
from tools.browser import adapter, launch, served  # noqa: E402
from tools.user_models import FIXTURES  # noqa: E402

BENCH = build.DIST / "bench"
ORT = build.NODE / "onnxruntime-web" / "dist"


def onnx_sources():
    """{name: .onnx path} that --onnx takes: the light models and the user-model fixtures."""
    from pycore.__main__ import light_models

    return {**light_models(), **{f.stem: f for f in sorted(FIXTURES.glob("*.onnx"))}}


def prepare(models, light=()):
    build.build()
    for name in ("index.html", "bench.js"):
        build.copy_if_changed(ROOT / "tools" / "bench" / name, BENCH / name)
    for f in ORT.iterdir():
        if f.suffix in (".mjs", ".wasm") and (
            f.name.startswith("ort-wasm") or f.name.startswith("ort.all.bundle")
        ):
            build.copy_if_changed(f, BENCH / "ort" / f.name)
    for name in models:
        target = BENCH / "models" / f"{name}.onnx"
        export(build.DIST / "models" / name, target)
        check(build.DIST / "models" / name, target)
    if light:
        from pycore.onnx import convert, save

        sources = onnx_sources()
        for name in light:
            folder, original = BENCH / "onnx" / name, BENCH / "onnx" / f"{name}.onnx"
            save(convert(sources[name]), folder)  # again each time: the converter may have changed
            build.copy_if_changed(sources[name], original)


def measure(models, runs, light=(), paths="cpu,webgpu"):
    from playwright.sync_api import sync_playwright

    with served(build.DIST) as url, sync_playwright() as p:
        browser = launch(p.chromium)
        page = browser.new_page()
        page.goto(
            f"{url}/bench/index.html?models={','.join(models)}&onnx={','.join(light)}&runs={runs}&paths={paths}"
        )
        page.wait_for_function("document.getElementById('status').textContent === 'done'", timeout=1_800_000)
        results, used = json.loads(page.text_content("#results")), adapter(page)
        browser.close()
    return results, used


def report(results, adapter):
    print(f"WebGPU adapter: {adapter}")
    cols = ["pycore cpu", "pycore webgpu", "ort wasm-1thread", "ort webgpu"]
    print(f"{'model':20}" + "".join(f"{c:>20}" for c in cols) + "   (median ms: wall / inner)")
    for r in results:
        cells = []
        for c in cols:
            v = r[c]
            cells.append(
                "n/a"
                if "unavailable" in v
                else f"{v['wallMs']:.1f}" + (f" / {v['innerMs']:.1f}" if v["innerMs"] else "")
            )
        print(f"{r['model']:20}" + "".join(f"{c:>20}" for c in cells))
    for r in results:
        for ours, peer in (("pycore cpu", "ort wasm-1thread"), ("pycore webgpu", "ort webgpu")):
            a, b = r[ours], r[peer]
            if "unavailable" in a or "unavailable" in b:
                why = a.get("unavailable") or b.get("unavailable")
                print(f"{r['model']}: {ours} / {peer}: not measured ({why})")
            else:
                print(f"{r['model']}: {ours} / {peer} = {a['wallMs'] / b['wallMs']:.2f} (wall)")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="mnist,efficientnet-lite0")
    parser.add_argument("--onnx", default="", help="light ONNX models to time too, e.g. squeezenet")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--paths", default="cpu,webgpu", help="cpu: pycore cpu and ort wasm only (a software WebGPU is slow)"
    )
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    users = [f.stem for f in sorted(FIXTURES.glob("*.onnx"))]
    light = [n for m in args.onnx.split(",") if m for n in (users if m == "user" else [m])]
    prepare(models, light)
    results, adapter = measure(models, args.runs, light, args.paths)
    report(results, adapter)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
