"""Teaching the MNIST demo in Chromium: fine-tuning time, accuracy, bytes stored, time to ready.

    python3 tools/bench/teach.py [--examples 10,30,100] [--paths cpu,webgpu] [--webgpu-steps 40]

For each path and each number of examples, a fresh page of the demo is taught that many drawings
(the two styles of tests/handwriting.py, seeds 0, 1, ... in turn, rendered as the pad would) and
trained through the widget's API; it prints the worker's training time (the `trained` event's
ms) and the time from the call to the answer. The webgpu path is SwiftShader here (a CPU
implementation of WebGPU); --webgpu-steps sets its steps (fewer: a shorter run, times per step).
Then, on the CPU path, with the eight drawings the tests teach: the held-out MNIST split and new
drawings of both styles (seeds 100-119) read by the original model and by the personal one
(downloaded from the page's store, loaded with pycore.load), the bytes the page keeps in
IndexedDB, and the median seconds from a reload to `ready` with the original and with the
personal model in place, taking turns (files in the Cache API already, as on a second visit),
and the milliseconds that putting the personal model in place adds to a load.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
import pycore  # noqa: E402
from tests.handwriting import STYLES, drawing  # noqa: E402
from tools import mnist_data  # noqa: E402
from tools.browser import launch, local_context, served, wait_ready  # noqa: E402
from tools.digit_strokes import preprocess_canvas, render_strokes  # noqa: E402

WIDGET = "document.querySelector('pycore-digits')"
TEACH = f"""async ([examples, steps]) => {{
  const w = {WIDGET};
  for (const [x, d] of examples) await w.teach(Float32Array.from(x), d);
  const start = performance.now();
  const detail = await w.train({{ steps }});
  return {{ ...detail, wall: performance.now() - start }};
}}"""
# What the page keeps: the examples' bytes and the personal model (weights as a list, for Python);
# PUT_PERSONAL puts such a record back (or forgets it, given null).
STORED = f"""async () => {{
  const {{ Taught }} = await import("/web/taught.js");
  const taught = new Taught("digits", {WIDGET}.modelURL.href);
  const [examples, personal] = [await taught.examples(), await taught.personal()];
  return {{
    examples: examples.reduce((n, e) => n + e.input.byteLength + e.label.length, 0),
    personal: {{ ...personal, weights: Array.from(personal.weights) }},
  }};
}}"""
PUT_PERSONAL = f"""async (personal) => {{
  const {{ Taught }} = await import("/web/taught.js");
  const taught = new Taught("digits", {WIDGET}.modelURL.href);
  await taught.savePersonal(personal && {{ ...personal, weights: Uint8Array.from(personal.weights) }});
}}"""

# The part of a load that the personal model adds: putting it in place of the original, in ms.
SWAP = f"""async (personal) => {{
  const model = {WIDGET}.model, weights = Uint8Array.from(personal.weights);
  const start = performance.now();
  await model.usePersonal("digits", personal.json, weights);
  return performance.now() - start;
}}"""


def image(style, seed):
    return preprocess_canvas(render_strokes(drawing(style, seed)))


def examples(n):
    styles = list(STYLES)
    return [(image(styles[i % 2], i // 2).ravel().tolist(), STYLES[styles[i % 2]][0]) for i in range(n)]


def open_demo(context, url, path):
    page = context.new_page()
    start = time.perf_counter()
    page.goto(f"{url}/demos/mnist/index.html?backend={path}")
    if (status := wait_ready(page, timeout=300_000)) != "ready":
        raise SystemExit(f"{path}: {status}")
    return page, time.perf_counter() - start


def accuracy(model):
    _, _, x_test, y_test = mnist_data.load_split()
    held_out = np.mean([model.run(x[None, None]).argmax() == y for x, y in zip(x_test, y_test)])
    styles = {
        style: np.mean([model.run(image(style, k)[None, None]).argmax() == d for k in range(100, 120)])
        for style, (d, _) in STYLES.items()
    }
    return held_out, styles


def time_to_ready(page, personal, runs):
    """Median seconds from a reload to ready without and with the personal model, taking turns."""
    times = {"original": [], "personal": []}
    for _ in range(runs):
        for kind, record in (("original", None), ("personal", personal)):
            page.evaluate(PUT_PERSONAL, record)
            start = time.perf_counter()
            page.reload()
            wait_ready(page)
            times[kind].append(time.perf_counter() - start)
            assert page.get_by_test_id("model-kind").text_content() == kind
    return {kind: statistics.median(t) for kind, t in times.items()}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", default="10,30,100")
    parser.add_argument("--paths", default="cpu,webgpu")
    parser.add_argument("--webgpu-steps", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5, help="reloads of each kind, for the time to ready")
    args = parser.parse_args()
    build.build()
    from playwright.sync_api import sync_playwright

    with served(build.DIST) as url, sync_playwright() as p:
        browser = launch(p.chromium)
        for path in args.paths.split(","):
            steps = args.webgpu_steps if path == "webgpu" else 0
            for n in map(int, args.examples.split(",")):
                context, _ = local_context(browser)
                page, _ = open_demo(context, url, path)
                got = page.evaluate(TEACH, [examples(n), steps])
                context.close()
                print(
                    f"{path:6s} {n:3d} examples, {steps or 40} steps: trained in {got['ms'] / 1000:.2f} s "
                    f"({got['wall'] / 1000:.2f} s from the call to the answer; ran on {got['backend']})",
                    flush=True,
                )
        context, _ = local_context(browser)
        page, _ = open_demo(context, url, "cpu")
        taught = [(image(s, k).ravel().tolist(), d) for s, (d, _) in STYLES.items() for k in range(4)]
        page.evaluate(TEACH, [taught, 0])
        stored = page.evaluate(STORED)
        ready = time_to_ready(page, stored["personal"], args.runs)
        swap = statistics.median(page.evaluate(SWAP, stored["personal"]) for _ in range(args.runs))
        context.close()
        browser.close()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "model.json").write_text(stored["personal"]["json"])
        (Path(folder) / "weights.safetensors").write_bytes(bytes(stored["personal"]["weights"]))
        before, after = accuracy(pycore.load(ROOT / "models" / "mnist")), accuracy(pycore.load(folder))
    for name, (held_out, styles) in (("original", before), ("personal", after)):
        shown = ", ".join(f"{s} {v:.0%}" for s, v in styles.items())
        print(f"{name}: held-out MNIST {held_out:.2%}; new drawings {shown}")
    personal = stored["personal"]
    print(
        f"IndexedDB: 8 examples {stored['examples']:,} bytes, personal model "
        f"{len(personal['json']) + len(personal['weights']):,} bytes (model.json + weights)"
    )
    print(
        f"reload to ready (cpu, median of {args.runs}, taking turns): original {ready['original']:.2f} s, "
        f"personal {ready['personal']:.2f} s; putting the personal model in place takes {swap:.0f} ms"
    )


if __name__ == "__main__":
    main()
