"""Helpers shared by the browser tests."""

import contextlib
import json
from pathlib import Path

import numpy as np

from tools.browser import FIND_HOOK, local_context
from tools.digit_strokes import preprocess_canvas, render_strokes


@contextlib.contextmanager
def checked_page(browser, **options):
    """A page in a new context (playwright's options; 1200x900 unless told) that refuses requests
    leaving 127.0.0.1, listing them in page.external, and lists console errors and uncaught
    exceptions in page.errors; the block fails if either list is not empty at its end."""
    context, external = local_context(browser, **{"viewport": {"width": 1200, "height": 900}, **options})
    page = context.new_page()
    page.errors, page.external = [], external
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()
    assert page.external == [], f"requests left 127.0.0.1: {page.external}"
    assert page.errors == [], f"console errors: {page.errors}"


GPU_FAULTS = Path(__file__).with_name("gpu_faults.js")


def inject_gpu_fault(page, fault):
    """Puts gpu_faults.js in front of the page's Web Worker (web/worker.js, as the browser fetches
    it), so WebGPU fails there as `fault` (one of tests/faults.py FAULTS) says; call before goto."""
    shim = f"const FAULT = {json.dumps(fault)};\n{GPU_FAULTS.read_text()}\n"

    def prepend(route):
        response = route.fetch()
        route.fulfill(response=response, body=shim + response.text())

    page.route("**/web/worker.js", prepend)


def wait_hook(page, testid, text, timeout=60_000):
    """Waits until the hook `testid` (in the page or a widget) reads `text`."""
    page.wait_for_function(
        f"([id, text]) => ({FIND_HOOK})(id)?.textContent === text", arg=[testid, text], timeout=timeout
    )


def draw(page, strokes, step=4.0):
    """Moves the real mouse along each stroke, a point every `step` px, as a person would."""
    box = page.get_by_test_id("canvas").bounding_box()
    for stroke in strokes:
        points = np.asarray(stroke, dtype=float)
        dense = [points[0]]
        for a, b in zip(points, points[1:]):
            n = max(1, int(np.hypot(*(b - a)) // step))
            dense += [a + (b - a) * (i / n) for i in range(1, n + 1)]
        page.mouse.move(box["x"] + dense[0][0], box["y"] + dense[0][1])
        page.mouse.down()
        for x, y in dense[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()


def model_input(strokes):
    """What the pad gives the model for a drawing (28x28, as a list for the page)."""
    return preprocess_canvas(render_strokes(strokes)).ravel().tolist()


def settled_prediction(page):
    """The prediction and {label: probability} once no input waits or runs (the widget's result)."""
    page.wait_for_selector(".result[aria-busy=false]")
    bars = page.get_by_test_id("probabilities").locator("li")
    probs = {li.get_attribute("data-label"): float(li.get_attribute("data-prob")) for li in bars.all()}
    return page.get_by_test_id("prediction").text_content(), probs


def worker_js_heap(browser, page):
    """The page's Web Worker's used JS heap in bytes, after a garbage collection, read over CDP.

    performance.memory does not exist in workers, so this attaches to the worker's target."""
    cdp = browser.new_browser_cdp_session()
    replies = {}

    def reply(event):
        message = json.loads(event["message"])
        if "id" in message:
            replies[message["id"]] = message

    try:
        workers = [t for t in cdp.send("Target.getTargets")["targetInfos"] if t["type"] == "worker"]
        url = page.workers[0].url
        target = next(t for t in workers if t["url"] == url)
        session = cdp.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": False})[
            "sessionId"
        ]
        cdp.on("Target.receivedMessageFromTarget", reply)
        for id, method in enumerate(["HeapProfiler.collectGarbage", "Runtime.getHeapUsage"], 1):
            message = json.dumps({"id": id, "method": method})
            cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": message})
            for _ in range(100):
                if id in replies:
                    break
                page.wait_for_timeout(50)
        return replies[2]["result"]["usedSize"]
    finally:
        cdp.detach()


# Records what a widget's result shows after every change to it (a MutationObserver callback runs
# before the browser paints, so every state a person could see is in window.shown). Transitions
# are switched off inside the widget so each record has the styles of its state, not a frame of
# the fade (the dimming waits 0.15 s so that a run of a few milliseconds never flickers).
RECORD_RESULT = """(selector) => {
  const root = document.querySelector(selector).shadowRoot;
  const still = document.createElement("style");
  still.textContent = "* { transition: none !important }";
  root.append(still);
  const hook = (id) => root.querySelector(`[data-testid="${id}"]`);
  const opacity = (e) => Number(getComputedStyle(e).opacity);
  window.shown = [];
  window.recordResult = () => {
    const photo = root.querySelector(".photo");
    const record = {
      image: photo && !photo.hidden ? hook("image-name").textContent : null,
      prediction: hook("prediction").textContent,
      latency: hook("latency-ms").textContent,
      stale: root.querySelector(".result").getAttribute("aria-busy") === "true",
      labelOpacity: opacity(hook("prediction")),
      latencyOpacity: opacity(root.querySelector(".latency")),
      working: opacity(root.querySelector(".caption .working")),
    };
    shown.push(record);
    return record;
  };
  const all = { subtree: true, childList: true, attributes: true, characterData: true };
  new MutationObserver(recordResult).observe(root, all);
  return recordResult();
}"""


def assert_never_passed_off(shown, is_old):
    """Every record showing an old result (is_old) marks it stale: dimmed, "classifying…" shown."""
    old = [r for r in shown if is_old(r)]
    assert old, "the old result was never on screen with the new input"
    for r in old:
        assert r["stale"] and r["labelOpacity"] < 0.5 and r["latencyOpacity"] < 0.5 and r["working"] == 1, r


# A phone as the demos meet one: 390x844 CSS pixels, touch.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def assert_model_facts(page, site, demo, weights):
    """The demo's facts line names its weights (`weights`, e.g. "int8 weights, 5.1 MB") and links
    the README and three sources, each of which the site serves."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=model-weights]').textContent.includes('MB')"
    )
    assert page.get_by_test_id("model-weights").text_content() == weights
    links = [a.get_attribute("href") for a in page.locator(".facts a").all()]
    assert "../../README.md" in links and len(links) == 4
    for href in links:
        assert page.request.get(f"{site}/demos/{demo}/{href}").ok, href


# Every progress message the page's worker sends, recorded before the page's modules run.
RECORD_PROGRESS = """window.progressLabels = []; const PageWorker = window.Worker;
window.Worker = class extends PageWorker { constructor(...args) { super(...args);
  this.addEventListener("message", ({ data }) => {
    if (data.type === "progress") progressLabels.push(data.label); }); } };"""
# The URLs the worker's download wrapper (web/downloads.js) keeps in the Cache API.
CACHED = """async () => (await (await caches.open("pycore-files")).keys()).map((r) => r.url)"""


def download_model(page, folder):
    """Clicks the widget's download-model button (one click, two files) and saves model.json and
    weights.safetensors into `folder`, which it returns."""
    got = []
    page.on("download", lambda d: got.append(d))
    with page.expect_download():
        page.get_by_test_id("download-model").click()
    for _ in range(100):
        if len(got) == 2:
            break
        page.wait_for_timeout(50)
    assert sorted(d.suggested_filename for d in got) == ["model.json", "weights.safetensors"]
    for d in got:
        d.save_as(folder / d.suggested_filename)
    return folder
