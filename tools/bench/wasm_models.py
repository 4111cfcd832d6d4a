"""The site's models on the CPU path in Pyodide, per kernel choice (wasm.CHOICES), one Chromium run.

    python3 tools/bench/wasm_models.py [--runs 15] [--models mnist,efficientnet-lite0] [--layers]
        [--onnx shufflenet]  (light ONNX models run.py --onnx converted into dist/bench/onnx/)

For each model in dist/models/ it times backend.run_sync on one input with CPUBackend(graph, choice)
for the relaxed and plain wasm SIMD kernels and numpy, and the relaxed ones unplanned (each node
resolving its kernels' arguments at each call, planned=False): the median of --runs runs after two warm-ups,
in ms, inside the worker-free Pyodide (no message passing, so this is the path's own cost; for
pycore against onnxruntime-web through the real worker, tools/bench/run.py). Choices alternate run
by run so a noisy neighbour slows each alike. Benchmark numbers on a shared machine, not tests.

--layers adds, per model, the relaxed choice's time and GFLOP/s per layer kind (pointwise, depthwise,
grouped and other convolutions, dense Gemm/MatMul, the numpy ops): each node of the plan is
timed alone on the inputs one run gave it, repeated for at least 20 ms a sample (Chromium's clock
ticks in 0.1 ms), so its weights and buffers are warm in cache; compare with tools/bench/wasm_gemm.py
for the kernels' own peak.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from tools.bench.wasm_gemm import MEDIAN_MS  # noqa: E402
from tools.browser import launch, local_context, run_in_pyodide, served  # noqa: E402

BENCH = """
import json, time
import numpy as np
import pycore
from pycore.cpu import CPUBackend, wasm

CHOICES = [c for c in wasm.CHOICES if c != "auto"]
UNPLANNED = f"{CHOICES[0]} unplanned"
rows = {}
for name in MODELS:
    model = pycore.load(f"/models/{name}")
    shape = model.graph.shapes[model.graph.inputs[0].name]
    feeds = {model.graph.inputs[0].name: np.random.default_rng(0).random(shape, np.float32)}
    backends = {c: CPUBackend(model.graph, c) for c in CHOICES}
    backends[UNPLANNED] = CPUBackend(model.graph, CHOICES[0], planned=False)
    times = {c: [] for c in backends}
    for i in range(RUNS + 2):
        for c, backend in backends.items():
            t = time.perf_counter()
            backend.run_sync(feeds)
            if i >= 2:
                times[c].append((time.perf_counter() - t) * 1e3)
    rows[name] = {c: {"ms": sorted(v)[len(v) // 2], "note": backends[c].note} for c, v in times.items()}
    if LAYERS:
        rows[name]["layers"] = layers(backends[CHOICES[0]], model.graph, feeds)
json.dumps(rows)
"""

LAYERS = (
    MEDIAN_MS
    + """
def kind_and_flops(node, consts, shapes):
    y = int(np.prod(shapes[node.outputs[0]]))
    w = consts.get(node.inputs[1]) if len(node.inputs) > 1 else None
    if node.op == "Conv" and w is not None:
        grouped = "depthwise" if w.shape[1] == 1 else "grouped (numpy)"
        kind = grouped if node.attrs["group"] > 1 else "pointwise" if w[0, 0].size == 1 else "conv kxk"
        return kind, 2 * y * w[0].size
    if node.op in ("Gemm", "MatMul") and w is not None:
        return "dense", 2 * y * (w.shape[1] if node.attrs.get("transB") else w.shape[0])
    return "numpy ops", 0

def layers(backend, graph, feeds):
    env, kinds = {**backend.consts, **feeds}, {}
    for (run, ins, outs, _), node in zip(backend.plan, graph.nodes):
        args = [env[t] if t else None for t in ins]
        ms = median_ms(lambda: run(*args), 5)
        result = run(*args)
        env.update(zip(outs, result) if len(outs) > 1 else [(outs[0], result)])
        kind, flops = kind_and_flops(node, backend.consts, graph.shapes)
        k = kinds.setdefault(kind, {"nodes": 0, "ms": 0.0, "gflop": 0.0})
        k["nodes"], k["ms"], k["gflop"] = k["nodes"] + 1, k["ms"] + ms, k["gflop"] + flops / 1e9
    return kinds
"""
)


def main():
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--models", default="mnist,efficientnet-lite0")
    parser.add_argument("--layers", action="store_true", help="time and GFLOP/s per layer kind")
    parser.add_argument("--onnx", default="", help="light ONNX models converted in dist/bench/onnx/")
    args = parser.parse_args()
    folders = {m: f"models/{m}" for m in args.models.split(",") if m}
    folders.update({m: f"bench/onnx/{m}" for m in args.onnx.split(",") if m})
    models = list(folders)
    build.build()
    code = f"MODELS = {models!r}\nRUNS = {args.runs}\nLAYERS = {args.layers}\n{LAYERS}\n{BENCH}"
    from playwright.sync_api import sync_playwright

    with served(build.DIST) as url, sync_playwright() as p:
        browser = launch(p.chromium)
        context, external = local_context(browser)
        page = context.new_page()
        page.goto(f"{url}/index.html")
        rows = json.loads(run_in_pyodide(page, code, folders))
        version = browser.version
        browser.close()
    if external:
        sys.exit(f"requests left 127.0.0.1: {external}")
    layers = {model: row.pop("layers") for model, row in rows.items() if "layers" in row}
    names = list(next(iter(rows.values())))
    print(f"CPU path in Pyodide, Chromium {version}, 1 thread; median ms of {args.runs} runs")
    print("| model | " + " | ".join(names) + " | numpy / fastest wasm | unplanned / planned |")
    print("|---|" + "---|" * (len(names) + 2))
    for model, row in rows.items():
        fastest = min(row[c]["ms"] for c in names if c != "numpy")
        cells = [f"{row[c]['ms']:.2f}" for c in names]
        gain = row[names[-1]]["ms"] / row[names[0]]["ms"]  # UNPLANNED comes last
        print(f"| {model} | " + " | ".join(cells) + f" | {row['numpy']['ms'] / fastest:.2f}x | {gain:.2f}x |")
    for c in names:
        print(f"{c}: {next(iter(rows.values()))[c]['note']}")
    for model, kinds in layers.items():
        print(f"\n{model}, {names[0]}, each node alone (warm):")
        print("| layer kind | nodes | ms | GFLOP | GFLOP/s |")
        print("|---|---|---|---|---|")
        for kind, k in sorted(kinds.items(), key=lambda kv: -kv[1]["ms"]):
            rate = f"{k['gflop'] / k['ms'] * 1e3:.1f}" if k["gflop"] else "-"
            print(f"| {kind} | {k['nodes']} | {k['ms']:.2f} | {k['gflop']:.3f} | {rate} |")


if __name__ == "__main__":
    main()
