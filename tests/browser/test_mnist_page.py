"""The MNIST demo in real Chromium: boot, draw all ten digits with the mouse, both paths, bad files."""

import pytest
from digit_strokes import STROKES
from pages import draw, settled_prediction

from tools.browser import wait_ready


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
    return results


def test_cpu_path_reads_all_ten_drawn_digits(page, site):
    assert open_demo(page, site, "cpu") == "ready"
    assert page.get_by_test_id("backend").text_content() == "cpu"
    for digit, (label, probs) in draw_all_digits(page).items():
        assert label == str(digit), f"drew {digit}, page says {label} ({probs})"
        assert sorted(probs) == [str(i) for i in range(10)]
        assert abs(sum(probs.values()) - 1) < 1e-3
    latency = float(page.get_by_test_id("latency-ms").text_content())
    assert 0 < latency < 1000


def test_webgpu_path_gives_the_same_predictions(page, site):
    assert open_demo(page, site, "webgpu") == "ready"
    assert page.get_by_test_id("backend").text_content() == "webgpu", page.get_by_test_id(
        "backend-note"
    ).text_content()
    gpu = draw_all_digits(page)
    page.get_by_label("Execution backend").select_option("cpu")
    page.wait_for_function("() => document.querySelector('[data-testid=backend]').textContent === 'cpu'")
    cpu = draw_all_digits(page)
    for digit in STROKES:
        assert gpu[digit][0] == cpu[digit][0] == str(digit)
        for label, p in gpu[digit][1].items():
            assert p == pytest.approx(cpu[digit][1][label], abs=1e-4)


def test_empty_canvas_and_clear_show_no_prediction(page, site):
    open_demo(page, site)
    assert page.get_by_test_id("prediction").text_content() == ""
    draw(page, STROKES[1])
    assert settled_prediction(page)[0] == "1"
    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("prediction").text_content() == ""
    assert page.get_by_test_id("probabilities").locator("li").count() == 0


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
