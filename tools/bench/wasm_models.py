"""The site's models on the CPU path in Pyodide, per kernel choice (wasm.CHOICES), one Chromium run.

    python3 tools/bench/wasm_models.py [--runs 15] [--models mnist,efficientnet-lite0]

For each model in dist/models/ it times backend.run_sync on one input with CPUBackend(graph, choice)
for the relaxed and plain wasm SIMD kernels and numpy: the median of --runs runs after two warm-ups,
in ms, inside the worker-free Pyodide (no message passing, so this is the path's own cost; for
pycore against onnxruntime-web through the real worker, tools/bench/run.py). Choices alternate run
by run so a noisy neighbour slows each alike. Benchmark numbers on a shared machine, not tests.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from tools.browser import launch, local_context, run_in_pyodide, served  # noqa: E402

BENCH = """
import json, time
import numpy as np
import pycore
from pycore.cpu import CPUBackend, wasm

CHOICES = [c for c in wasm.CHOICES if c != "auto"]
rows = {}
for name in MODELS:
    model = pycore.load(f"/models/{name}")
    shape = model.graph.shapes[model.graph.inputs[0].name]
    feeds = {model.graph.inputs[0].name: np.random.default_rng(0).random(shape, np.float32)}
    backends = {c: CPUBackend(model.graph, c) for c in CHOICES}
    times = {c: [] for c in CHOICES}
    for i in range(RUNS + 2):
        for c, backend in backends.items():
            t = time.perf_counter()
            backend.run_sync(feeds)
            if i >= 2:
                times[c].append((time.perf_counter() - t) * 1e3)
    rows[name] = {c: {"ms": sorted(v)[len(v) // 2], "note": backends[c].note} for c, v in times.items()}
json.dumps(rows)
"""


def main():
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--models", default="mnist,efficientnet-lite0")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    build.build()
    code = f"MODELS = {models!r}\nRUNS = {args.runs}\n{BENCH}"
    from playwright.sync_api import sync_playwright

    with served(build.DIST) as url, sync_playwright() as p:
        browser = launch(p.chromium)
        context, external = local_context(browser)
        page = context.new_page()
        page.goto(f"{url}/index.html")
        rows = json.loads(run_in_pyodide(page, code, {m: f"models/{m}" for m in models}))
        version = browser.version
        browser.close()
    if external:
        sys.exit(f"requests left 127.0.0.1: {external}")
    names = list(next(iter(rows.values())))
    print(f"CPU path in Pyodide, Chromium {version}, 1 thread; median ms of {args.runs} runs")
    print("| model | " + " | ".join(names) + " | numpy / fastest wasm |")
    print("|---|" + "---|" * (len(names) + 1))
    for model, row in rows.items():
        fastest = min(row[c]["ms"] for c in names if c != "numpy")
        cells = [f"{row[c]['ms']:.2f}" for c in names]
        print(f"| {model} | " + " | ".join(cells) + f" | {row['numpy']['ms'] / fastest:.2f}x |")
    for c in names:
        print(f"{c}: {next(iter(rows.values()))[c]['note']}")


if __name__ == "__main__":
    main()
