"""What teaching your own classes costs (pycore/teach/classes.py), on the shipped EfficientNet-Lite0.

    python3 tools/bench/classes.py [--photos 6] [--browser]

Prints, natively on the CPU path (and with --browser also in a bare Pyodide in Chromium, the
worker's setting): the features of one photo in ms (median over --photos images); the head's
training (train_head, 100 steps; in Pyodide also train_head_async, which yields after every step)
for 10, 30 and 100 photos of three classes, median of 3; the bytes of the stored head and of the
download. Time does not depend on what the pixels show, so the images are random and the 10 to 100
examples are the measured features again with 1% noise. Benchmark numbers on a shared machine.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from tools.browser import launch, local_context, run_in_pyodide, served  # noqa: E402

BENCH = """
import json, statistics, time
import numpy as np
import pycore
from pycore.teach import classes


REPEATS = 3


def ms(since):
    return (time.perf_counter() - since) * 1e3


async def bench(folder, photos, forms):
    base = pycore.load(folder)
    extractor = await classes.features_model(base)
    rng = np.random.default_rng(0)
    features, times = [], []
    for _ in range(photos + 1):  # the first run warms up
        x = rng.uniform(-1, 1, base.input.shape).astype(np.float32)
        t = time.perf_counter()
        features.append((await extractor.run_async(x))[0])
        times.append(ms(t))
    features, names = np.array(features[1:]), ["a", "b", "c"]
    row = {"features_ms": statistics.median(times[1:]), "train_ms": {}}
    for n in (10, 30, 100):
        pick = np.arange(n) % photos
        x = features[pick] * (1 + 0.01 * rng.standard_normal((n, features.shape[1]))).astype(np.float32)
        for form in forms:
            runs = []
            for _ in range(REPEATS + 1):  # the first run warms up
                t = time.perf_counter()
                if form == "async":
                    head = await classes.train_head_async(x, pick % 3, names)
                else:
                    head = classes.train_head(x, pick % 3, names)
                runs.append(ms(t))
            row["train_ms"][f"{n} photos, {form}"] = statistics.median(runs[1:])
    t = time.perf_counter()
    row["stored_bytes"] = len(classes.save(head, base))
    row["save_ms"] = ms(t)
    row["download_bytes"] = {k: len(v) for k, v in classes.model_files(base, head).items()}
    return json.dumps(row)
"""


def report(where, row):
    print(f"{where}: features {row['features_ms']:.0f} ms per photo")
    for what, t in row["train_ms"].items():
        print(f"  train {what}: {t:.0f} ms")
    print(f"  stored head {row['stored_bytes']} bytes (save, fingerprint included: {row['save_ms']:.0f} ms)")
    print(f"  download {row['download_bytes']}")


def main():
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--browser", action="store_true")
    args = parser.parse_args()
    build.build()
    model = build.DIST / "models" / "efficientnet-lite0"
    scope = {}
    exec(BENCH, scope)
    report("CPython", json.loads(asyncio.run(scope["bench"](str(model), args.photos, ["sync"]))))
    if not args.browser:
        return
    from playwright.sync_api import sync_playwright

    code = f"{BENCH}\nawait bench('/models/lite0', {args.photos}, ['sync', 'async'])"
    with served(build.DIST) as url, sync_playwright() as p:
        browser = launch(p.chromium)
        context, _ = local_context(browser)
        page = context.new_page()
        page.goto(f"{url}/")
        row = json.loads(run_in_pyodide(page, code, {"lite0": "models/efficientnet-lite0"}))
        browser.close()
    report("Pyodide (Chromium, CPU path)", row)


if __name__ == "__main__":
    main()
