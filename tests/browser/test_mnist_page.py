"""The MNIST demo in real Chromium: boot, draw all ten digits with the mouse, both paths, bad files."""

import re

import numpy as np
import pytest
from pages import (
    PHONE,
    RECORD_RESULT,
    assert_model_facts,
    assert_never_passed_off,
    draw,
    model_input,
    settled_prediction,
    wait_hook,
)

import build
from tools.browser import local_context, wait_ready
from tools.digit_strokes import STROKES

LATENCY = re.compile(r"^\d+\.\d$")  # milliseconds, one decimal, on every page and widget


def open_demo(page, site, backend="cpu", **params):
    query = "&".join(f"{k}={v}" for k, v in {"backend": backend, **params}.items())
    page.goto(f"{site}/demos/mnist/index.html?{query}")
    return wait_ready(page)


def draw_all_digits(page):
    results = {}
    for digit, strokes in STROKES.items():
        page.get_by_test_id("clear").click()
        draw(page, strokes)
        results[digit] = settled_prediction(page)
        caveat = page.get_by_test_id("caveat")
        assert not caveat.is_visible(), f"drew {digit}: {caveat.text_content()}"
    return results


def test_cpu_path_reads_all_ten_drawn_digits(page, site):
    assert open_demo(page, site, "cpu") == "ready"
    assert page.get_by_test_id("backend").text_content() == "cpu"
    for digit, (label, probs) in draw_all_digits(page).items():
        assert label == str(digit), f"drew {digit}, page says {label} ({probs})"
        assert sorted(probs) == [str(i) for i in range(10)]
        assert abs(sum(probs.values()) - 1) < 1e-3
    latency = page.get_by_test_id("latency-ms").text_content()
    assert LATENCY.match(latency) and 0 < float(latency) < 1000, latency


def test_webgpu_path_gives_the_same_predictions(page, site):
    assert open_demo(page, site, "webgpu") == "ready"
    assert page.get_by_test_id("backend").text_content() == "webgpu", page.get_by_test_id(
        "backend-note"
    ).text_content()
    gpu = draw_all_digits(page)
    page.get_by_label("Execution backend").select_option("cpu")
    wait_hook(page, "backend", "cpu")
    cpu = draw_all_digits(page)
    for digit in STROKES:
        assert gpu[digit][0] == cpu[digit][0] == str(digit)
        for label, p in gpu[digit][1].items():
            assert p == pytest.approx(cpu[digit][1][label], abs=1e-4)


def test_empty_canvas_and_clear_show_no_prediction(page, site):
    open_demo(page, site)
    assert page.get_by_test_id("prediction").text_content() == ""
    assert not page.get_by_test_id("prediction").is_visible()  # a sentence says what to do instead
    assert page.get_by_text("Draw a digit, 0 to 9: the model reads it as you draw.").is_visible()
    draw(page, STROKES[1])
    assert settled_prediction(page)[0] == "1"
    assert LATENCY.match(page.get_by_test_id("latency-ms").text_content())
    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("prediction").text_content() == ""
    assert page.get_by_test_id("probabilities").locator("li").count() == 0
    assert page.get_by_test_id("latency-ms").text_content() == ""  # cleared with the result
    assert not page.get_by_text("Latency").is_visible()


# Drawings unlike a digit, and what the page must say about each (the bars stay).
ODD_DRAWINGS = {
    "dot": ([[(140, 140), (142, 141)]], "Draw bigger"),
    "scribble": (
        [
            [
                (140 + 60 * np.sin(t * 1.7) + 20 * np.sin(t * 5), 140 + 60 * np.cos(t * 2.3))
                for t in np.linspace(0, 12, 120)
            ]
        ],
        "blot or a scribble",
    ),
    "horizontal line": ([[(50, 140), (230, 140)]], "Not sure"),
}


@pytest.mark.parametrize("name", ODD_DRAWINGS)
def test_the_page_says_when_a_drawing_is_unlike_a_digit_or_the_model_is_unsure(page, site, name):
    strokes, words = ODD_DRAWINGS[name]
    open_demo(page, site)
    draw(page, strokes)
    label, probs = settled_prediction(page)
    caveat = page.get_by_test_id("caveat")
    print(f"{name}: {label} at {max(probs.values()):.2f}; {caveat.text_content()!r}")
    assert caveat.is_visible() and words in caveat.text_content(), (label, probs, caveat.text_content())
    assert len(probs) == 10 and page.get_by_test_id("probabilities").is_visible()
    page.get_by_test_id("clear").click()
    assert not caveat.is_visible()
    draw(page, STROKES[3])
    assert settled_prediction(page)[0] == "3" and not caveat.is_visible()


def digit(d):
    return model_input(STROKES[d])


PREDICT = """async ([x, clear]) => { const w = document.querySelector("pycore-digits");
  shown.length = 0;  // what was on screen from here on
  const run = w.predict(Float32Array.from(x));
  const given = recordResult();
  if (clear) w.clear();
  return [given, await run]; }"""


def test_a_new_drawing_marks_the_old_result_stale_and_clear_drops_a_run_in_flight(page, site):
    open_demo(page, site)
    draw(page, STROKES[1])
    assert settled_prediction(page)[0] == "1"
    page.evaluate(RECORD_RESULT, "pycore-digits")
    given, detail = page.evaluate(PREDICT, [digit(7), False])
    assert given["prediction"] == "1" and given["stale"], given  # at once, in the same task
    assert detail["label"] == "7"
    shown = page.evaluate("shown")
    assert_never_passed_off(shown, lambda r: r["prediction"] == "1")
    assert shown[-1]["prediction"] == "7" and not shown[-1]["stale"] and shown[-1]["labelOpacity"] == 1
    # Clear while a run is in flight: its result must not appear on the empty pad
    given, detail = page.evaluate(PREDICT, [digit(3), True])
    assert detail is None
    settled_prediction(page)
    assert page.get_by_test_id("prediction").text_content() == ""
    assert page.get_by_test_id("latency-ms").text_content() == ""


SELECT = "() => { const s = document.getElementById('backend-select'); return [s.value, s.disabled]; }"


def test_the_backend_select_shows_the_path_asked_for_and_waits_for_the_load(page, site):
    held = []
    page.route("**/models/mnist/weights.safetensors", lambda route: held.append(route))
    page.goto(f"{site}/demos/mnist/index.html?backend=cpu")
    for _ in range(600):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the weights were never requested"
    assert page.evaluate(SELECT) == ["cpu", True]  # the path asked for, not auto; no picking yet
    assert page.get_by_test_id("status").text_content() == "loading"
    held[0].continue_()
    assert wait_ready(page) == "ready"
    assert page.evaluate(SELECT) == ["cpu", False]
    assert page.get_by_test_id("backend").text_content() == "cpu"
    page.get_by_label("Execution backend").select_option("webgpu")
    assert page.evaluate(SELECT)[1] is True  # disabled while the widget switches
    wait_hook(page, "backend", "webgpu")
    page.wait_for_function("() => !document.getElementById('backend-select').disabled")
    assert page.evaluate(SELECT) == ["webgpu", False]
    assert "backend=webgpu" in page.url
    draw(page, STROKES[2])
    assert settled_prediction(page)[0] == "2"


def test_the_backend_select_works_after_a_bad_backend_parameter(page, site):
    status = open_demo(page, site, "gpu")
    assert status.startswith("error:") and "unknown backend 'gpu'" in status, status
    assert page.evaluate(SELECT) == ["", False]  # none of its paths was asked for; still usable
    page.get_by_label("Execution backend").select_option("cpu")
    wait_hook(page, "status", "ready")
    assert page.get_by_test_id("backend").text_content() == "cpu"
    assert "backend=cpu" in page.url
    draw(page, STROKES[4])
    assert settled_prediction(page)[0] == "4"


@pytest.mark.parametrize(
    "body, why",
    [
        (lambda b: b[:5], "too short"),
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b[:8] + b"{not json" + b[17:], "not valid JSON"),
    ],
)
def test_corrupt_weights_give_a_clear_error_naming_the_file(page, site, body, why):
    real = page.request.get(f"{site}/models/mnist/weights.safetensors").body()
    page.route("**/models/mnist/weights.safetensors", lambda route: route.fulfill(body=body(real)))
    status = open_demo(page, site)
    assert status.startswith("error:") and "mnist/weights.safetensors" in status and why in status, status


def test_missing_model_file_gives_a_clear_error(page, site):
    page.route("**/models/mnist/model.json", lambda route: route.fulfill(status=404, body="gone"))
    status = open_demo(page, site)
    assert status.startswith("error:") and "mnist/model.json" in status and "404" in status, status
    page.errors.clear()  # the browser itself logs the 404


def test_landing_page_links_the_demos(page, site):
    page.goto(f"{site}/index.html")
    hrefs = [a.get_attribute("href") for a in page.locator("a.panel").all()]
    assert "demos/mnist/index.html" in hrefs
    for href in hrefs:
        assert page.request.get(f"{site}/{href}").ok, href
    # no copy of the landing page (with links one level too deep) under /demos/, and no listing
    for path in ("demos/", "demos/index.html", "demos/embed/index.html"):
        assert page.request.get(f"{site}/{path}").status == 404, path


def test_the_page_says_which_model_runs_and_links_the_readme_and_source(page, site):
    open_demo(page, site)
    size = (build.DIST / "models/mnist/weights.safetensors").stat().st_size
    assert_model_facts(page, site, "mnist", f"fp32 weights, {size / 1e6:.1f} MB")


def test_on_a_phone_the_pad_takes_the_width_and_the_reading_stays_beside_it(browser, site):
    context, external = local_context(browser, **PHONE)
    page = context.new_page()
    try:
        assert open_demo(page, site) == "ready"
        pad = page.get_by_test_id("canvas").bounding_box()
        assert pad["width"] >= 300 and pad["y"] + pad["height"] <= 844, pad  # 390 less the margins
        reading = page.get_by_test_id("reading")
        assert not reading.is_visible()  # nothing read yet
        draw(page, STROKES[7])
        label, probs = settled_prediction(page)
        assert label == "7", probs
        assert reading.text_content() == f"reads 7 · {probs['7'] * 100:.0f}%"
        box = reading.bounding_box()
        assert reading.is_visible() and box["y"] + box["height"] <= 844, box  # with the pad, in view
        page.get_by_test_id("clear").click()
        assert not reading.is_visible()
    finally:
        context.close()
    assert external == []


def test_on_a_desktop_the_result_beside_the_pad_needs_no_copy(page, site):
    open_demo(page, site)
    draw(page, STROKES[7])
    assert settled_prediction(page)[0] == "7"
    assert not page.get_by_test_id("reading").is_visible()
    assert page.get_by_test_id("canvas").bounding_box()["width"] == 280


def test_on_a_phone_the_landing_page_keeps_the_backend_parameter_whole(browser, site):
    context, external = local_context(browser, **PHONE)
    page = context.new_page()
    try:
        page.goto(f"{site}/index.html")
        code = page.locator("code", has_text="?backend=")
        assert code.evaluate("(e) => e.getClientRects().length") == 1  # one piece: no break after the "?"
        assert code.bounding_box()["x"] + code.bounding_box()["width"] <= 390
    finally:
        context.close()
    assert external == []
