"""Teaching the classify demo classes of its own in Chromium: features time per photo, training
time, bytes stored, time to ready.

    python3 tools/bench/teach_classes.py [--photos 10,30,100] [--paths cpu,webgpu]

For each path and number of photos, a fresh page of the demo is given that many photos (240 px
crops of scikit-image's brick, grass and gravel at random windows, as PNG files, in turn) through
the widget's teach() and trained with train(); it prints the median milliseconds a photo takes to
be added (decoded, its features computed in the worker, kept) and the worker's training time (the
`trained` event's ms). Then, on the CPU path with the last page: the bytes kept in IndexedDB (the
photos' features and thumbnails, the personal model) and the median seconds from a reload to
`ready` with the personal model in place, then with the original.
"""

import argparse
import statistics
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
from pycore.image import read_png, write_png  # noqa: E402
from tools.browser import launch, local_context, served, wait_ready  # noqa: E402

WIDGET = "document.querySelector('pycore-classifier')"
NAMES = ["brick", "grass", "gravel"]
TEACH = f"""async (photos) => {{
  const w = {WIDGET}, times = [];
  for (const [name, bytes] of photos) {{
    const start = performance.now();
    await w.teach(new File([Uint8Array.from(bytes)], `${{name}}.png`, {{ type: "image/png" }}), name);
    times.push(performance.now() - start);
  }}
  return [times, await w.train()];
}}"""
STORED = f"""async () => {{
  const {{ Taught }} = await import("/web/taught.js");
  const t = new Taught("photos", {WIDGET}.modelURL.href);
  const examples = await t.examples(), personal = await t.personal();
  return [examples.reduce((n, e) => n + e.input.byteLength + e.thumb.size, 0), examples.length,
          personal.weights.byteLength + personal.json.length];
}}"""


def photos(n, seed=0):
    with zipfile.ZipFile(build.pypi_file("scikit-image")) as z:
        source = {name: read_png(z.read(f"skimage/data/{name}.png")) for name in NAMES}
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        top, left = rng.integers(0, 512 - 240, 2)
        out.append(
            (name, list(write_png(np.ascontiguousarray(source[name][top : top + 240, left : left + 240]))))
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="10,30,100")
    parser.add_argument("--paths", default="cpu,webgpu")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with served(ROOT / "dist") as site, sync_playwright() as pw:
        browser = launch(pw.chromium)
        page = None
        for path in args.paths.split(","):
            for n in map(int, args.photos.split(",")):
                context, _ = local_context(browser, viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(f"{site}/demos/classify/index.html?backend={path}")
                wait_ready(page, timeout=300_000)
                times, trained = page.evaluate(TEACH, photos(n))
                print(
                    f"{path} {n} photos: {statistics.median(times):.0f} ms a photo (median), "
                    f"trained in {trained['ms']:.0f} ms on {trained['backend']}",
                    flush=True,
                )
                if path != "cpu" or n != int(args.photos.split(",")[-1]):
                    context.close()
                    page = None
        if page is not None:
            examples, count, personal = page.evaluate(STORED)
            print(
                f"IndexedDB: {examples / count:.0f} bytes a photo ({count}), "
                f"{personal} bytes the personal model"
            )
            ready = {}
            for kind in ("personal", "original"):
                if kind == "original":
                    page.get_by_test_id("reset-model").click()
                    page.get_by_test_id("teach-note").filter(has_text="Back to the original").wait_for()
                times = []
                for _ in range(3):
                    start = time.perf_counter()
                    page.reload()
                    wait_ready(page)
                    times.append(time.perf_counter() - start)
                    assert page.evaluate(f"{WIDGET}.model.kind") == kind
                ready[kind] = statistics.median(times)
            print(", ".join(f"ready with the {k}: {v:.2f} s (median of 3 reloads)" for k, v in ready.items()))
        browser.close()


if __name__ == "__main__":
    main()
