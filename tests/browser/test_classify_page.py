"""The classify demo in real Chromium: real photos through the file input on both paths, bad files,
odd images (grey, alpha, 1x1, 8000x8000), the other ways in (keyboard, drop, paste, samples), the
preprocessing in web/image.js against a numpy reference, and what a second visit downloads.
"""

import base64
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from images import preprocess, read_png, write_png
from pages import (
    CACHED,
    PHONE,
    RECORD_PROGRESS,
    RECORD_RESULT,
    assert_model_facts,
    assert_never_passed_off,
    inject_gpu_fault,
)

import build
from tools.browser import launch_persistent, local_context, wait_ready

CATS = {"tiger cat", "Egyptian cat", "tabby"}  # chelsea.png: PyTorch fp32 says 0.38 / 0.37 / 0.16
# The page is its <pycore-classifier>: every input it finishes ends in a prediction or an error event.
COUNT_RUNS = """if (!("runs" in window)) { window.runs = 0;
for (const type of ["prediction", "error"]) document.addEventListener(type, (e) => {
  if (e.target.localName === "pycore-classifier") runs++; }); }"""
DONE = """(before) => { const w = document.querySelector("pycore-classifier");
  return runs > before && w.shadowRoot.querySelector(".result").getAttribute("aria-busy") === "false"; }"""


def photo(name):
    """A real photo from the scikit-image wheel build.py caches (the demo's samples come from it)."""
    with zipfile.ZipFile(build.pypi_file("scikit-image")) as z:
        return z.read(f"skimage/data/{name}")


def as_file(name, data, mime=""):
    return {"name": name, "mimeType": mime, "buffer": data}


def open_demo(page, site, backend="cpu", query=""):
    page.add_init_script(COUNT_RUNS)
    page.goto(f"{site}/demos/classify/index.html?backend={backend}{query}")
    return wait_ready(page, timeout=180_000)


def runs(page):
    return page.evaluate("runs")


def settle(page, before, timeout=120_000):
    """Waits for the page to finish the input given after `before` runs; returns what it shows."""
    page.wait_for_function(DONE, arg=before, timeout=timeout)
    items = page.get_by_test_id("probabilities").locator("li").all()
    message = page.get_by_test_id("message")
    return {
        "prediction": page.get_by_test_id("prediction").text_content(),
        "probs": [(li.get_attribute("data-label"), float(li.get_attribute("data-prob"))) for li in items],
        "message": message.text_content() if message.is_visible() else "",
        "size": page.get_by_test_id("image-size").text_content(),
    }


def classify(page, file, timeout=120_000):
    """Uploads one file (a path or a {name, mimeType, buffer} payload) through the file input."""
    before = runs(page)
    page.get_by_test_id("file-input").set_input_files(file)
    return settle(page, before, timeout)


def assert_classified(shown, top1=None):
    assert shown["message"] == "", shown["message"]
    labels = [label for label, _ in shown["probs"]]
    probs = [p for _, p in shown["probs"]]
    assert len(labels) == 5 and shown["prediction"] == labels[0]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-4
    if top1 is not None:
        assert labels[0] in top1, shown


def test_cpu_path_names_real_photos(page, site):
    assert open_demo(page, site, "cpu") == "ready"
    assert page.get_by_test_id("backend").text_content() == "cpu"
    cat = classify(page, str(build.DIST / "demos/classify/samples/chelsea.png"))
    assert_classified(cat, CATS)
    assert cat["size"] == "451 × 300"
    assert 0 < float(page.get_by_test_id("latency-ms").text_content()) < 60_000
    assert_classified(classify(page, as_file("coffee.png", photo("coffee.png"), "image/png")), {"espresso"})
    assert_classified(classify(page, as_file("rocket.jpg", photo("rocket.jpg"))), {"missile", "projectile"})
    grey = classify(page, as_file("camera.png", photo("camera.png")))  # an 8-bit greyscale PNG
    assert_classified(grey, {"tripod"})
    assert page.get_by_test_id("status").text_content() == "ready"


def test_webgpu_path_names_the_cat_like_the_cpu_path(page, site):
    """One run on SwiftShader (slow), then the same input again on the CPU path via the switch."""
    assert open_demo(page, site, "webgpu") == "ready"
    note = page.get_by_test_id("backend-note")
    assert page.get_by_test_id("backend").text_content() == "webgpu", (
        f"fell back to the CPU: {note.text_content()}"
    )
    gpu = classify(page, str(build.DIST / "demos/classify/samples/chelsea.png"), timeout=300_000)
    assert_classified(gpu, CATS)
    before = runs(page)
    page.get_by_label("Execution backend").select_option("cpu")
    cpu = settle(page, before)
    assert page.get_by_test_id("backend").text_content() == "cpu"
    assert cpu["prediction"] == gpu["prediction"]
    for (label, p), (label_cpu, q) in zip(gpu["probs"], cpu["probs"]):
        assert label == label_cpu and p == pytest.approx(q, abs=2e-3)


def test_webgpu_request_falls_back_with_a_visible_note_when_webgpu_fails(page, site):
    inject_gpu_fault(page, "no-adapter")
    assert open_demo(page, site, "webgpu") == "ready"
    assert page.get_by_test_id("backend").text_content() == "cpu"
    note = page.get_by_test_id("backend-note")
    assert note.is_visible() and "CPU" in note.text_content(), note.text_content()
    assert_classified(classify(page, str(build.DIST / "demos/classify/samples/chelsea.png")), CATS)


def test_a_new_photo_marks_the_old_result_stale_until_its_own_result(page, site):
    """Cat, then coffee: while coffee runs, "tiger cat" may stay on screen only dimmed, beside
    "classifying…", with its latency dimmed too; then espresso, no longer stale."""
    open_demo(page, site)
    before = runs(page)
    page.get_by_role("button", name="cat", exact=True).click()
    cat = settle(page, before)
    assert_classified(cat, CATS)
    assert page.evaluate(RECORD_RESULT, "pycore-classifier")["working"] == 0
    before = runs(page)
    page.get_by_role("button", name="coffee", exact=True).click()
    coffee = settle(page, before)
    assert_classified(coffee, {"espresso"})
    shown = page.evaluate("shown")
    assert_never_passed_off(shown, lambda r: r["image"] == "coffee.png" and r["prediction"] in CATS)
    assert all(r["prediction"] != "espresso" or r["image"] == "coffee.png" for r in shown)
    last = shown[-1]
    assert last["prediction"] == "espresso" and not last["stale"], last
    assert last["labelOpacity"] == 1 and last["working"] == 0, last
    assert page.get_by_test_id("status").text_content() == "ready"


CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'"


def test_page_works_under_a_strict_content_security_policy(page, site):
    """No inline scripts or styles: the page boots and classifies with the CSP the site is meant for."""

    def with_csp(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    page.route("**/demos/classify/index.html*", with_csp)
    assert open_demo(page, site) == "ready"
    assert_classified(classify(page, str(build.DIST / "demos/classify/samples/chelsea.png")), CATS)
    assert page.get_by_test_id("probabilities").locator("li .bar").first.evaluate("e => e.style.width") != ""
    blocked = """() => new Promise((done) => {
      document.addEventListener('securitypolicyviolation', () => done(true));
      document.head.append(Object.assign(document.createElement('style'), {textContent: 'p {}'}));
      setTimeout(() => done(false), 2000); })"""
    assert page.evaluate(blocked), "the policy was not in force"
    assert all("Content Security Policy" in e for e in page.errors)
    page.errors.clear()  # the browser logs the violation provoked just above


def bad_files():
    rocket = photo("rocket.jpg")
    return [
        (as_file("x.jpg", np.random.default_rng(0).bytes(4000), "image/jpeg"), "not an image"),
        (as_file("half.jpg", rocket[: len(rocket) // 2], "image/jpeg"), "corrupt or cut short"),
        (as_file("empty.png", b"", "image/png"), "empty"),
        (as_file("notes.txt", b"a cat, probably\n", "text/plain"), "not an image"),
    ]


def test_bad_files_get_a_clear_message_and_the_page_keeps_working(page, site):
    open_demo(page, site)
    for file, why in bad_files():
        shown = classify(page, file)
        assert file["name"] in shown["message"] and why in shown["message"], shown["message"]
        assert shown["prediction"] == "" and shown["probs"] == []
        assert page.get_by_test_id("status").text_content() == "ready"
    assert_classified(classify(page, as_file("coffee.png", photo("coffee.png"))), {"espresso"})
    assert not page.get_by_test_id("message").is_visible()


def test_alpha_tiny_narrow_and_huge_images_classify(page, site):
    open_demo(page, site)
    coffee = read_png(photo("coffee.png"))
    alpha = np.dstack([coffee, np.full(coffee.shape[:2], 255, np.uint8)])
    alpha[:, :150, 3] = 0  # a transparent band, composited on white
    alpha[:100, :, 3] = 128
    shown = classify(page, as_file("alpha.png", write_png(alpha)))
    assert_classified(shown, {"espresso"})
    assert_classified(classify(page, as_file("one.png", write_png(np.array([[[200, 30, 30]]], np.uint8)))))
    assert page.get_by_test_id("image-size").text_content() == "1 × 1"
    grey_alpha = np.dstack(
        [np.arange(3000, dtype=np.uint8).reshape(3, 1000), np.full((3, 1000), 200, np.uint8)]
    )
    assert_classified(classify(page, as_file("strip.png", write_png(grey_alpha))))
    assert page.get_by_test_id("image-size").text_content() == "1000 × 3"

    huge = np.zeros((8000, 8000, 3), np.uint8)
    huge[:, :, 0] = np.linspace(0, 255, 8000, dtype=np.uint8)[None, :]  # a red ramp with a grey cross
    huge[3500:4500, :, 1:] = huge[:, 3500:4500, 1:] = 160
    start = time.perf_counter()
    shown = classify(page, as_file("huge.png", write_png(huge)))
    assert_classified(shown)
    assert shown["size"] == "8000 × 8000"
    prepared = float(page.get_by_test_id("preprocess-ms").text_content())
    took = time.perf_counter() - start
    print(f"8000x8000 PNG: decoded and downscaled in {prepared:.0f} ms; upload to result {took:.1f} s")
    assert prepared < 30_000


def test_keyboard_drop_paste_and_samples_all_classify(page, site):
    open_demo(page, site)
    before = runs(page)
    with page.expect_file_chooser() as chooser:  # the locator's press focuses, waits, then presses
        page.get_by_role("button", name="Image to classify").press("Enter")
    chooser.value.set_files(as_file("coffee.png", photo("coffee.png")))
    assert_classified(settle(page, before), {"espresso"})

    chelsea = base64.b64encode(photo("chelsea.png")).decode()
    make = "(b64) => { const d = new DataTransfer();"
    make += (
        " d.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], 'cat.png')); return d; }"
    )
    before = runs(page)
    drop = page.locator("pycore-classifier").locator(".drop")
    drop.dispatch_event("drop", {"dataTransfer": page.evaluate_handle(make, chelsea)})
    assert_classified(settle(page, before), CATS)

    before = runs(page)
    page.evaluate(
        f"(b64) => document.dispatchEvent(new ClipboardEvent('paste', {{clipboardData: ({make})(b64)}}))",
        base64.b64encode(photo("coffee.png")).decode(),
    )
    assert_classified(settle(page, before), {"espresso"})

    before = runs(page)
    page.get_by_role("button", name="cat").click()
    assert_classified(settle(page, before), CATS)
    assert page.get_by_test_id("image-name").text_content() == "chelsea.png"


# ---- web/image.js on its own (no model): the tensor against tests/browser/images.py ------------

B64 = """(u8) => { let s = ""; for (let i = 0; i < u8.length; i += 8192)
  s += String.fromCharCode(...u8.subarray(i, i + 8192)); return btoa(s); }"""
TENSOR = f"""async ([b64, name, preprocess]) => {{
  const {{ imageToTensor }} = await import('/web/image.js');
  const file = new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], name);
  const r = await imageToTensor(file, preprocess);
  r.preview.close();
  return {{ tensor: ({B64})(new Uint8Array(r.tensor.buffer)), width: r.width, height: r.height,
           crop: r.crop, decodeMs: r.decodeMs, resizeMs: r.resizeMs }};
}}"""
IMAGENET = {"kind": "imagenet", "resize": 256, "crop": 224, "mean": 127, "scale": 128}


def tensor_of(page, data, name="image.png", preprocess=IMAGENET):
    result = page.evaluate(TENSOR, [base64.b64encode(data).decode(), name, preprocess])
    crop = preprocess["crop"]
    result["tensor"] = np.frombuffer(base64.b64decode(result["tensor"]), np.float32).reshape(1, 3, crop, crop)
    return result


def test_numpy_reference_matches_the_pillow_crops_behind_the_pytorch_fixtures():
    fixtures = build.ROOT / "tests/fixtures/efficientnet"
    for name in ("chelsea", "coffee", "camera"):
        ours = preprocess(read_png(photo(f"{name}.png")))
        pillow = (np.load(fixtures / f"{name}.npy").astype(np.float32) - 127) / 128
        assert np.abs(ours - pillow.transpose(2, 0, 1)[None]).max() <= 1 / 128 + 1e-6, name


@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png", "camera.png", "alpha"])
def test_image_js_tensor_matches_the_numpy_reference(page, site, name):
    """Channel order, scaling, crop offset and alpha: the browser's filter differs, so compare loosely."""
    page.goto(f"{site}/index.html")
    if name == "alpha":
        pixels = np.dstack([read_png(photo("chelsea.png")), np.zeros((300, 451), np.uint8)])
        pixels[:, 200:, 3] = 255
        pixels[:150, :, 3] = 90
    else:
        pixels = read_png(photo(name))
    got = tensor_of(page, write_png(pixels) if name == "alpha" else photo(name), name)["tensor"]
    want = preprocess(pixels)
    diff = np.abs(got - want)
    assert diff.mean() < 0.02, f"mean abs {diff.mean():.4f} (about 0.006 measured)"
    assert np.abs(got.mean(axis=(2, 3)) - want.mean(axis=(2, 3))).max() < 0.01
    shifted = np.abs(got[..., 1:] - want[..., :-1]).mean()
    assert diff.mean() < shifted  # a crop one pixel off would match the shifted reference better


def test_image_js_per_channel_mean_and_scale(page, site):
    page.goto(f"{site}/index.html")
    solid = np.full((40, 60, 3), (10, 120, 250), np.uint8)
    pre = {"resize": 32, "crop": 16, "mean": [0, 100, 200], "scale": [10, 20, 50]}
    got = tensor_of(page, write_png(solid), preprocess=pre)["tensor"]
    assert got.shape == (1, 3, 16, 16)
    np.testing.assert_allclose(got[0, :, 8, 8], [1.0, 1.0, 1.0], atol=1e-6)


def test_image_js_takes_a_canvas_or_bitmap_as_well_as_a_file(page, site):
    page.goto(f"{site}/index.html")
    values = page.evaluate(
        """async () => { const { imageToTensor } = await import('/web/image.js');
        const c = new OffscreenCanvas(30, 20), x = c.getContext('2d');
        x.fillStyle = 'rgb(255, 127, 0)'; x.fillRect(0, 0, 30, 20);
        const out = [];
        for (const source of [c, await createImageBitmap(c), x.getImageData(0, 0, 30, 20)]) {
          const r = await imageToTensor(source, {resize: 16, crop: 8});
          r.preview.close();
          out.push([r.width, r.height, r.tensor.length, r.tensor[0], r.tensor[64], r.tensor[128]]);
        }
        return out; }"""
    )
    assert values == [[30, 20, 192, 1.0, 0.0, -127 / 128]] * 3


def test_image_js_downscales_huge_images_without_aliasing(page, site):
    """An 8000x8000 one-pixel checkerboard must come out flat grey: an unfiltered shrink gives stripes."""
    page.goto(f"{site}/index.html")
    board = ((np.indices((8000, 8000)).sum(axis=0) % 2) * 255).astype(np.uint8)
    result = tensor_of(page, write_png(board), "board.png")
    assert (result["width"], result["height"]) == (8000, 8000)
    assert np.abs(result["tensor"] - 0.5 / 128).max() < 0.1
    print(f"8000x8000 in image.js: decode {result['decodeMs']:.0f} ms, downscale {result['resizeMs']:.0f} ms")


def exif_orientation(jpeg, orientation):
    """Inserts an APP1 Exif segment holding only the Orientation tag right after the JPEG's SOI."""
    tiff = (
        b"MM\x00\x2a\x00\x00\x00\x08\x00\x01" + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + bytes(4)
    )
    body = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def test_image_js_respects_exif_orientation(page, site):
    page.goto(f"{site}/index.html")
    jpeg = page.evaluate(
        """async () => { const c = new OffscreenCanvas(64, 32), x = c.getContext('2d');
        x.fillStyle = '#f00'; x.fillRect(0, 0, 32, 32); x.fillStyle = '#00f'; x.fillRect(32, 0, 32, 32);
        const b = await c.convertToBlob({type: 'image/jpeg', quality: 0.95});
        return btoa(String.fromCharCode(...new Uint8Array(await b.arrayBuffer()))); }"""  # a small file
    )
    rotated = exif_orientation(base64.b64decode(jpeg), 6)  # 6: rotate 90 degrees clockwise to display
    result = tensor_of(page, rotated, "rotated.jpg")
    assert (result["width"], result["height"]) == (32, 64)
    red = result["tensor"][0, 0]
    assert red[:100].mean() > 0.9 and red[-100:].mean() < -0.8  # the left (red) half is now on top


# ---- downloads ----------------------------------------------------------------------------------


def visit_twice(context, site):
    """Opens the demo twice in one browser context; per visit: (bytes received, the 3 largest).

    Not through the `page` fixture: playwright turns the HTTP cache off in a context that routes
    requests, so requests leaving 127.0.0.1 are only watched here, not intercepted.
    """
    page, got, outside = context.new_page(), [], []
    page.on("requestfinished", lambda r: got.append((r.url, r.sizes()["responseBodySize"])))
    page.on("request", lambda r: r.url.startswith((site, "data:", "blob:")) or outside.append(r.url))
    visits = []
    try:
        for name in ("cold", "warm"):
            got.clear()
            start = time.perf_counter()
            assert open_demo(page, site) == "ready"
            took, total = time.perf_counter() - start, sum(n for _, n in got)
            print(f"classify page {name}: {total / 1e6:.2f} MB in {len(got)} requests, ready in {took:.1f} s")
            visits.append((total, sorted(got, key=lambda x: -x[1])[:3]))
    finally:
        context.close()
    assert not outside, outside
    return visits


def test_second_visit_downloads_nothing_large(browser, site, tmp_path):
    """A browser profile on disk, as a visitor has: the server's 304s leave nothing to download again."""
    context = launch_persistent(browser.browser_type, tmp_path)
    (cold, _), (warm, biggest) = visit_twice(context, site)
    assert cold > 5_000_000
    assert warm < 200_000, biggest


def test_second_visit_in_a_private_window_downloads_nothing_large(browser, site):
    """An in-memory HTTP cache forgets the 10 MB wasm; the worker's Cache API copy does not."""
    _, (warm, biggest) = visit_twice(browser.new_context(), site)
    assert warm < 200_000, biggest


def test_model_weights_go_through_the_download_wrapper(browser, site):
    """The 5 MB weights show in the progress, land in the Cache API, and a second visit in the same
    private window does not request them at all (a Cache API hit makes no request)."""
    context = browser.new_context()
    page, requested = context.new_page(), []
    page.on("request", lambda r: requested.append(r.url))
    page.add_init_script(RECORD_PROGRESS)
    weights = f"{site}/models/efficientnet-lite0/weights.safetensors"
    try:
        assert open_demo(page, site) == "ready"
        assert weights in requested
        assert "efficientnet-lite0 weights" in ", ".join(page.evaluate("progressLabels"))
        deadline = time.monotonic() + 30
        while not any(u.startswith(f"{weights}?sha256=") for u in page.evaluate(CACHED)):
            assert time.monotonic() < deadline, page.evaluate(CACHED)
            time.sleep(0.2)
        requested.clear()
        page.reload()
        assert wait_ready(page, timeout=180_000) == "ready"
        assert not [u for u in requested if "safetensors" in u], requested
    finally:
        context.close()


def test_the_page_says_when_an_image_is_tiny_or_the_model_is_unsure(page, site):
    """A 1x1 image is "very small"; noise and a grey ramp leave the model unsure (measured: 3% and
    8% for its best guess); real photos it knows get no caveat. The bars stay in every case."""
    open_demo(page, site)
    caveat = page.get_by_test_id("caveat")
    ramp = np.repeat(np.linspace(0, 255, 300, dtype=np.uint8)[None, :, None], 300, 0).repeat(3, 2)
    odd = {
        "one.png": (np.array([[[200, 30, 30]]], np.uint8), "This image is very small (1 × 1 px)"),
        "noise.png": (np.random.default_rng(0).integers(0, 256, (300, 300, 3), np.uint8), "Not sure"),
        "ramp.png": (ramp, "Not sure"),
    }
    for name, (pixels, words) in odd.items():
        shown = classify(page, as_file(name, write_png(pixels)))
        assert_classified(shown)  # the answer and its five bars are still shown
        assert caveat.is_visible() and words in caveat.text_content(), (name, shown, caveat.text_content())
        assert_classified(classify(page, as_file("coffee.png", photo("coffee.png"))), {"espresso"})
        assert not caveat.is_visible(), caveat.text_content()
    assert_classified(classify(page, as_file("chelsea.png", photo("chelsea.png"))), CATS)  # 41%
    assert not caveat.is_visible(), caveat.text_content()


THUMBS_SHOWN = (
    "() => [...document.querySelectorAll('.samples img')].every((i) => i.complete && i.naturalWidth)"
)


def test_sample_buttons_load_thumbnails_and_a_photo_only_when_picked(page, site):
    requested = []
    page.on("request", lambda r: "/samples/" in r.url and requested.append(r.url.split("/samples/")[1]))
    open_demo(page, site)
    page.locator(".samples").scroll_into_view_if_needed()
    page.wait_for_function(THUMBS_SHOWN)
    pngs = [f"{Path(name).stem}.png" for name in build.SAMPLE_PHOTOS]  # the JPEG's thumbnail too
    assert sorted(requested) == sorted(f"thumbs/{n}" for n in pngs), requested
    sizes = page.evaluate(
        "[...document.querySelectorAll('.samples img')].map((i) => [i.src, i.naturalHeight])"
    )
    assert all("/thumbs/" in src and h == build.THUMB_SIDE for src, h in sizes), sizes
    thumbs = sum((build.DIST / "demos/classify/samples/thumbs" / n).stat().st_size for n in pngs)
    assert thumbs < 400_000, thumbs  # the photos themselves are 2.3 MB
    requested.clear()
    before = runs(page)
    page.get_by_role("button", name="cat", exact=True).click()
    assert_classified(settle(page, before), CATS)
    assert requested == ["chelsea.png"], requested


def test_the_page_says_which_model_runs_and_links_the_readme_and_source(page, site):
    open_demo(page, site)
    size = (build.DIST / "models/efficientnet-lite0/weights.safetensors").stat().st_size
    assert_model_facts(page, site, "classify", f"int8 weights, {size / 1e6:.1f} MB")
    assert "EfficientNet-Lite0" in page.locator(".facts").text_content()


def test_on_a_phone_the_page_speaks_of_tapping_not_dropping_or_pasting(browser, site):
    context, external = local_context(browser, **PHONE)
    page = context.new_page()
    try:
        assert open_demo(page, site) == "ready"
        drop = page.locator("pycore-classifier").locator(".drop")
        assert drop.inner_text().startswith("Tap to choose a photo"), drop.inner_text()
        title = page.locator("#samples-title").inner_text()
        assert title == "Or try a sample photo:", title
        assert drop.bounding_box()["width"] >= 300
        assert_classified(classify(page, str(build.DIST / "demos/classify/samples/chelsea.png")), CATS)
    finally:
        context.close()
    assert external == []
    desktop = browser.new_page(viewport={"width": 1280, "height": 800})
    desktop.goto(f"{site}/demos/classify/index.html")
    wait_ready(desktop, timeout=180_000)
    assert desktop.locator("pycore-classifier").locator(".drop").inner_text().startswith("Drop or paste")
    assert "pasting" in desktop.locator("#samples-title").inner_text()
    desktop.close()
