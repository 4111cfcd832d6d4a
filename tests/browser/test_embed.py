"""The embed widgets on someone else's page: pycore's dist/ copied under /vendor/pycore/, the page
at the server's root using the README snippet, every response sent with a strict CSP header."""

import re

import pytest
from pages import draw

import build
from tools.browser import local_context, served
from tools.digit_strokes import STROKES

CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'"
SNIPPET = """<script type="module" src="/vendor/pycore/web/embed.js"></script>
<pycore-digits></pycore-digits>
<pycore-classifier top-k="3"></pycore-classifier>"""
HOST_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A page that embeds pycore</title>
<link rel="icon" href="/vendor/pycore/web/favicon.svg">
</head><body>
<h1>Someone else's page</h1>
{SNIPPET}
</body></html>
"""
# Runs before the page's scripts (through the debugger, so the CSP does not apply to it).
RECORD_EVENTS = """
window.seen = [];
for (const type of ["ready", "prediction", "error"]) {
  document.addEventListener(type, (e) => {
    if (e.target.localName?.startsWith("pycore-"))
      seen.push({ type, widget: e.target.localName, detail: JSON.parse(JSON.stringify(e.detail)) });
  }, true);
}
document.addEventListener("securitypolicyviolation",
  (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`), true);
"""
SEND_IMAGE = """async (widget, [kind, url]) => {
  const blob = await (await fetch(url)).blob();
  const files = new DataTransfer();
  files.items.add(new File([blob], url.split("/").pop(), { type: blob.type }));
  const init = { bubbles: true, composed: true, cancelable: true };
  const event = kind === "paste"
    ? new ClipboardEvent("paste", { ...init, clipboardData: files })
    : new DragEvent("drop", { ...init, dataTransfer: files });
  widget.shadowRoot.querySelector(".drop").dispatchEvent(event);
}"""
SAMPLES = build.DIST / "demos" / "classify" / "samples"
CATS = {"tiger cat", "Egyptian cat", "tabby"}  # what EfficientNet-Lite0 says of chelsea.png, top 3
LATENCY = re.compile(r"^\d+\.\d$")  # milliseconds, one decimal, as on the demo pages


class StrictHost(build.Handler):
    requested = None  # paths, in order; each server gets its own list

    def end_headers(self):
        self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def do_GET(self):
        self.requested.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def host(site, tmp_path_factory):
    root = tmp_path_factory.mktemp("host")
    (root / "index.html").write_text(HOST_PAGE)
    (root / "vendor").mkdir()
    (root / "vendor" / "pycore").symlink_to(build.DIST)
    (root / "my-models").mkdir()
    (root / "my-models" / "digits").symlink_to(build.DIST / "models" / "mnist")
    handler = type("Host", (StrictHost,), {"requested": []})
    with served(root, handler) as url:
        yield url, handler.requested


def open_host(page, url, timeout=120_000):
    page.add_init_script(RECORD_EVENTS)
    page.goto(f"{url}/index.html")
    wait_events(page, "ready", 2, timeout=timeout)  # one per widget
    for widget in ("pycore-digits", "pycore-classifier"):
        assert hook(page, widget, "status").text_content() == "ready"
        assert hook(page, widget, "backend").text_content() in ("cpu", "webgpu")
    # EfficientNet takes ~15 s a run on SwiftShader's WebGPU (the classify page's tests cover that
    # path); the `backend` attribute moves the classifier to the CPU path at run time.
    page.locator("pycore-classifier").evaluate("(w) => w.setAttribute('backend', 'cpu')")
    ready = wait_events(page, "ready", 2, "pycore-classifier")
    assert (
        ready[-1]["detail"]["backend"] == "cpu" == hook(page, "pycore-classifier", "backend").text_content()
    )


def hook(page, widget, testid):
    return page.locator(widget).get_by_test_id(testid)


def events(page, type, widget=None):
    return [e for e in page.evaluate("seen") if e["type"] == type and widget in (None, e["widget"])]


def wait_events(page, type, count, widget=None, timeout=60_000):
    page.wait_for_function(
        "([type, widget, count]) =>"
        " seen.filter((e) => e.type === type && (!widget || e.widget === widget)).length >= count",
        arg=[type, widget, count],
        timeout=timeout,
    )
    return events(page, type, widget)


def shown(page, widget):
    """The result hooks once no run is in flight: (prediction, [(label, prob)] in order)."""
    page.wait_for_selector(f"{widget} .result[aria-busy=false]")
    items = hook(page, widget, "probabilities").locator("li").all()
    bars = [(li.get_attribute("data-label"), float(li.get_attribute("data-prob"))) for li in items]
    return hook(page, widget, "prediction").text_content(), bars


def assert_event_matches(event, label, bars):
    detail = event["detail"]
    assert detail["label"] == label == detail["topK"][0]["label"]
    assert [t["label"] for t in detail["topK"]] == [b[0] for b in bars]
    for t, (_, p) in zip(detail["topK"], bars):
        assert t["probability"] == pytest.approx(p, abs=1e-6)
    assert detail["probability"] == detail["topK"][0]["probability"]
    assert detail["latencyMs"] > 0 and detail["backend"] in ("cpu", "webgpu")


def test_both_widgets_work_from_a_sub_path_under_a_strict_csp(page, host):
    url, requested = host
    open_host(page, url)
    # one worker and one Python for both widgets; every file came from the module's folder
    files = [p.split("?")[0] for p in requested]
    assert sum(p.endswith("/web/worker.js") for p in files) == 1, files
    assert sum(p.endswith("/web/manifest.json") for p in files) == 1, files
    assert sum(p.endswith("/pyodide/pyodide.mjs") for p in files) == 1, files
    assert all(p == "/index.html" or p.startswith("/vendor/pycore/") for p in files), files

    draw(page, STROKES[3])
    label, bars = shown(page, "pycore-digits")
    assert label == "3", bars
    assert len(bars) == 5 and bars == sorted(bars, key=lambda b: -b[1])  # top-k defaults to 5
    assert_event_matches(events(page, "prediction", "pycore-digits")[-1], label, bars)
    latency = hook(page, "pycore-digits", "latency-ms").text_content()
    assert LATENCY.match(latency) and 0 < float(latency) < 1000, latency

    hook(page, "pycore-classifier", "file-input").set_input_files(SAMPLES / "chelsea.png")
    [event] = wait_events(page, "prediction", 1, "pycore-classifier")
    label, bars = shown(page, "pycore-classifier")
    assert label in CATS and {b[0] for b in bars} == CATS, bars  # top-k="3"
    assert_event_matches(event, label, bars)
    assert LATENCY.match(hook(page, "pycore-classifier", "latency-ms").text_content())

    # predict() for scripts: the digit pad's own canvas, and a photo fetched as a Blob
    again = page.evaluate(
        "() => { const w = document.querySelector('pycore-digits');"
        " return w.predict(w.shadowRoot.querySelector('canvas')); }"
    )
    assert again["label"] == "3"
    coffee = page.evaluate(
        "async () => { const r = await fetch('/vendor/pycore/demos/classify/samples/coffee.png');"
        " return document.querySelector('pycore-classifier').predict(await r.blob()); }"
    )
    assert coffee["label"] == "espresso" and coffee["probability"] > 0.5, coffee
    assert shown(page, "pycore-classifier")[0] == "espresso"


def test_swapping_models_and_a_bad_model_url(page, host):
    url, requested = host
    open_host(page, url)

    page.locator("pycore-classifier").evaluate("(w) => w.setAttribute('model', 'nowhere/')")
    [error] = wait_events(page, "error", 1, "pycore-classifier")
    message = error["detail"]["message"]
    # names the folder, the file that failed (whichever of the two came back first) and why
    assert message.startswith(f"could not load the model at {url}/nowhere/: "), message
    assert "/nowhere/model.json" in message or "/nowhere/weights.safetensors" in message, message
    assert "HTTP 404" in message, message
    status = hook(page, "pycore-classifier", "status").text_content()
    assert status == f"error: {message}"
    assert all("404" in e for e in page.errors), page.errors
    page.errors.clear()  # the browser logs the 404 itself

    # the other widget swaps to a copy of its model under the page's own folder, and keeps working
    page.locator("pycore-digits").evaluate("(w) => w.setAttribute('model', 'my-models/digits/')")
    ready = wait_events(page, "ready", 2, "pycore-digits")
    assert ready[-1]["detail"]["model"] == f"{url}/my-models/digits/"
    assert "/my-models/digits/weights.safetensors" in requested
    assert hook(page, "pycore-digits", "status").text_content() == "ready"
    draw(page, STROKES[7])
    label, bars = shown(page, "pycore-digits")
    assert label == "7", bars
    assert_event_matches(events(page, "prediction", "pycore-digits")[-1], label, bars)

    # dropping the attribute brings the default model back
    page.locator("pycore-classifier").evaluate("(w) => w.removeAttribute('model')")
    ready = wait_events(page, "ready", 3, "pycore-classifier")
    assert ready[-1]["detail"]["model"].endswith("/vendor/pycore/models/efficientnet-lite0/")
    assert hook(page, "pycore-classifier", "status").text_content() == "ready"

    # keyboard: the drop zone is a labelled button, and Enter opens the file chooser
    drop = page.locator("pycore-classifier").get_by_role("button", name="Image to classify")
    drop.focus()
    focused = "document.querySelector('pycore-classifier').shadowRoot.activeElement"
    page.wait_for_function(f"() => {focused}?.classList.contains('drop')")
    with page.expect_file_chooser() as chooser:
        drop.press("Enter")
    chooser.value.set_files(SAMPLES / "coffee.png")
    [event] = wait_events(page, "prediction", 1, "pycore-classifier")
    assert event["detail"]["label"] == "espresso"
    # a pasted and a dropped image (the events a browser sends, with the file attached)
    for kind in ("paste", "drop"):
        page.locator("pycore-classifier").evaluate(
            SEND_IMAGE, [kind, "/vendor/pycore/demos/classify/samples/chelsea.png"]
        )
    pasted, dropped = wait_events(page, "prediction", 3, "pycore-classifier")[1:]
    assert pasted["detail"]["label"] in CATS and dropped["detail"]["label"] in CATS


def test_the_example_page_shows_the_snippet_and_links_home(page, host):
    url, _ = host
    page.goto(f"{url}/vendor/pycore/embed/index.html")
    shown_snippet = page.locator("#snippet").text_content()
    assert shown_snippet == SNIPPET.replace("/vendor/pycore/", "/pycore/")
    assert page.locator("a.home").get_attribute("href") == "../index.html"
    assert page.request.get(f"{url}/vendor/pycore/index.html").ok
    for widget in ("pycore-digits", "pycore-classifier"):  # defined, with their hooks in place
        assert hook(page, widget, "status").text_content() in ("loading", "ready")


def test_a_backend_changed_while_the_model_loads_is_honoured(page, host):
    url, _ = host
    open_host(page, url)
    page.evaluate(
        """() => {
          const late = document.createElement("pycore-digits");
          late.id = "late";
          late.setAttribute("backend", "cpu");
          document.body.append(late);
          late.setAttribute("backend", "webgpu");  // before its model has loaded
        }"""
    )
    page.wait_for_function(
        "() => document.getElementById('late').shadowRoot.querySelector('[data-testid=backend]')"
        ".textContent === 'webgpu'",
        timeout=60_000,
    )
    assert page.locator("#late").get_by_test_id("status").text_content() == "ready"


def test_the_classifier_says_what_to_do_and_clears_a_bad_file(page, host):
    url, _ = host
    open_host(page, url)
    widget = page.locator("pycore-classifier")
    # before any result: a sentence, not an empty prediction; the privacy remark is in the drop zone
    assert widget.get_by_text("Choose a photo: the model names what is in it.").is_visible()
    assert not hook(page, "pycore-classifier", "prediction").is_visible()
    assert "nothing is uploaded" in widget.locator(".drop").text_content()
    assert widget.locator(".input > .row").inner_text().strip() == "Choose image…"  # no camera here

    hook(page, "pycore-classifier", "file-input").set_input_files(SAMPLES / "chelsea.png")
    wait_events(page, "prediction", 1, "pycore-classifier")
    assert shown(page, "pycore-classifier")[0] in CATS
    assert widget.locator(".photo").is_visible()
    bad = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"a cat, probably\n"}
    hook(page, "pycore-classifier", "file-input").set_input_files(bad)
    [error] = wait_events(page, "error", 1, "pycore-classifier")
    assert "notes.txt" in error["detail"]["message"] and "not an image" in error["detail"]["message"]
    assert shown(page, "pycore-classifier") == ("", [])  # the old cat is gone with its photo
    assert hook(page, "pycore-classifier", "latency-ms").text_content() == ""
    assert not widget.locator(".photo").is_visible() and not widget.locator(".info").is_visible()
    message = hook(page, "pycore-classifier", "message")
    assert message.is_visible() and message.text_content() == error["detail"]["message"]
    assert hook(page, "pycore-classifier", "status").text_content() == "ready"

    # three drops in a row: each replaces the one still waiting, so only the last one runs
    page.locator("pycore-classifier").evaluate(DROP_THREE, [f"{SAMPLES_URL}/{n}" for n in THREE])
    [*_, last] = wait_events(page, "prediction", 2, "pycore-classifier")
    assert last["detail"]["label"] in {"missile", "projectile"}, last
    assert shown(page, "pycore-classifier")[0] == last["detail"]["label"]
    assert hook(page, "pycore-classifier", "image-name").text_content() == "rocket.jpg"
    assert not message.is_visible()
    assert len(events(page, "prediction", "pycore-classifier")) == 2


THREE = ["chelsea.png", "coffee.png", "rocket.jpg"]
SAMPLES_URL = "/vendor/pycore/demos/classify/samples"
DROP_THREE = """async (widget, urls) => {
  const blobs = await Promise.all(urls.map(async (url) => (await fetch(url)).blob()));
  for (const [i, blob] of blobs.entries()) {  // in one task: none has started when the next comes
    const files = new DataTransfer();
    files.items.add(new File([blob], urls[i].split("/").pop(), { type: blob.type }));
    const init = { bubbles: true, composed: true, cancelable: true, dataTransfer: files };
    widget.shadowRoot.querySelector(".drop").dispatchEvent(new DragEvent("drop", init));
  }
}"""


def test_the_example_page_honours_the_backend_parameter(page, host):
    url, _ = host
    page.add_init_script(RECORD_EVENTS)
    page.goto(f"{url}/vendor/pycore/embed/index.html?backend=cpu")
    ready = wait_events(page, "ready", 2, timeout=120_000)
    for widget in ("pycore-digits", "pycore-classifier"):
        assert page.locator(widget).get_attribute("backend") == "cpu"
        assert hook(page, widget, "backend").text_content() == "cpu"
        # asked for cpu, not auto (which also lands on the CPU here, with a note saying why WebGPU
        # was not taken): the note names only the CPU kernels that run
        assert hook(page, widget, "backend-note").text_content().startswith("CPU: ")
    assert all(e["detail"]["note"].startswith("CPU: ") for e in ready)


@pytest.mark.parametrize("width", [390, 1280])
def test_the_copy_button_leaves_the_snippet_readable_on_a_phone(browser, host, width):
    url, _ = host
    context, external = local_context(browser, viewport={"width": width, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{url}/vendor/pycore/embed/index.html")
        button = page.locator("#copy").bounding_box()
        first = page.evaluate(
            """() => { const r = document.createRange(), text = document.getElementById('snippet').firstChild;
            r.setStart(text, 0); r.setEnd(text, text.data.indexOf('\\n'));
            return [...r.getClientRects()].map((b) => [b.left, b.top, b.right, b.bottom]); }"""
        )
        for left, top, right, bottom in first:  # the first line, and any part of it that wraps
            apart = bottom <= button["y"] or top >= button["y"] + button["height"]
            assert apart or right <= button["x"] or left >= button["x"] + button["width"], (first, button)
    finally:
        context.close()
    assert external == []


# The clipboard refused, as it is where the page has no permission: the button selects the snippet
@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_without_clipboard_access_copy_selects_the_snippet_and_says_what_to_do(browser, host, phone):
    url, _ = host
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
    context, external = local_context(browser, viewport=size, has_touch=phone, is_mobile=phone)
    page = context.new_page()
    page.add_init_script("navigator.clipboard.writeText = () => Promise.reject(new Error('denied'))")
    try:
        page.goto(f"{url}/vendor/pycore/embed/index.html")
        page.locator("#copy").click()
        said = page.locator("#copy").text_content()
        selected = page.evaluate("() => getSelection().toString()")
        assert said == ("Selected: copy it" if phone else "Selected: press Ctrl+C"), said
        assert selected.strip() == page.locator("#snippet").text_content().strip()
    finally:
        context.close()
    assert external == []
