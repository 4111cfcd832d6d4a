"""The wasm GEMM kernels against np.matmul in Pyodide, one Chromium run.

    python3 tools/bench/wasm_gemm.py [--runs 9]

For each (M, K, N) it times np.matmul(a, b, out=c) and the gemm kernel of each module Chromium
validates (ctypes.CDLL from the site's pycore wheel, in place on the same arrays, a bias per row
and ReLU6 fused): the median of --runs samples, each repeating the call for at least 20 ms, in
milliseconds and GFLOP/s. The shapes are EfficientNet-Lite0's (DESIGN.md's table), its classifier
as a GEMV, and a square one. Benchmark numbers on a shared machine, not tests.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from tools.browser import launch, local_context, run_in_pyodide, served  # noqa: E402

SHAPES = [(32, 27, 12544), (144, 24, 3136), (1280, 320, 49), (1000, 1280, 1), (512, 512, 512)]

# Pyodide code both wasm benchmarks time with (tools/bench/wasm_models.py too)
MEDIAN_MS = """
import time

def median_ms(fn, runs):
    # Chromium's clock ticks in 0.1 ms here (no cross-origin isolation): a sample repeats fn for >= 20 ms
    t, reps = time.perf_counter(), 0
    while time.perf_counter() - t < 0.02:
        fn()
        reps += 1
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t) / reps)
    return sorted(times)[len(times) // 2] * 1e3
"""

BENCH = (
    MEDIAN_MS
    + """
import json
import numpy as np
from pycore.cpu import wasm

kernels = {}
for name in wasm.GEMM:
    if wasm.validates((wasm.KERNELS / f"{name}.wasm").read_bytes()):
        kernels[name] = wasm.open_gemm(name)
rows = []
rng = np.random.default_rng(0)
for m, k, n in SHAPES:
    a, b = rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32)
    bias, c = rng.standard_normal(m, np.float32), np.empty((m, n), np.float32)
    row = {"shape": [m, k, n], "np.matmul": median_ms(lambda: np.matmul(a, b, out=c), RUNS)}
    for name, fn in kernels.items():
        args = wasm.gemm_args(lambda x: x.ctypes.data, a, b, c, bias, 0, None, 0.0, 6.0)
        row[name] = median_ms(lambda: fn(*args), RUNS)
    rows.append(row)
json.dumps(rows)
"""
)


def main():
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    build.build()
    code = f"SHAPES = {SHAPES!r}\nRUNS = {args.runs}\n{BENCH}"
    from playwright.sync_api import sync_playwright

    with served(build.DIST) as url, sync_playwright() as p:
        browser = launch(p.chromium)
        context, external = local_context(browser)
        page = context.new_page()
        page.goto(f"{url}/index.html")
        rows = json.loads(run_in_pyodide(page, code))
        version = browser.version
        browser.close()
    if external:
        sys.exit(f"requests left 127.0.0.1: {external}")
    names = [k for k in rows[0] if k != "shape"]
    print(f"float32 GEMM in Pyodide, Chromium {version}, 1 thread; ms (GFLOP/s), median of {args.runs}")
    print("| M,K,N | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for row in rows:
        m, k, n = row["shape"]
        cells = [f"{row[x]:.3f} ({2 * m * k * n / row[x] / 1e6:.1f})" for x in names]
        print(f"| {m},{k},{n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
