"""The classify demo's Camera button (web/camera.js in <pycore-classifier>) in Chromium with a fake
camera (its test pattern): a photo taken is classified like a dropped file, Cancel takes none, a
refused camera says so without a console error, the camera stops every time, and where the browser
has no camera there is no button."""

import pytest
from pages import PHONE, checked_page

from tools.browser import FAKE_CAMERA, launch, wait_ready

# Every stream the page gets from getUserMedia, to check that each one's camera was stopped.
RECORD_STREAMS = """window.streams = [];
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await getUserMedia(constraints);
  streams.push(stream);
  return stream;
};"""
ALL_STOPPED = "streams.every((s) => s.getTracks().every((t) => t.readyState === 'ended'))"
WIDGET = "document.querySelector('pycore-classifier').shadowRoot"


@pytest.fixture(scope="module")
def camera_browser(playwright):
    chromium = launch(playwright.chromium, FAKE_CAMERA)
    yield chromium
    chromium.close()


def open_classify(page, site, allow):
    if allow:
        page.context.grant_permissions(["camera"])
    page.add_init_script(RECORD_STREAMS)
    page.goto(f"{site}/demos/classify/index.html?backend=cpu")
    widget = page.locator("pycore-classifier")
    widget.get_by_test_id("camera").wait_for(state="visible")
    return widget


def open_preview(widget):
    widget.get_by_test_id("camera").click()
    widget.get_by_test_id("camera-preview").wait_for(state="visible")
    assert widget.locator(".drop").is_hidden() and widget.locator(".choose").is_hidden()


def closed(page, widget, streams):
    """The preview gave way to the drop zone again, after `streams` cameras were opened, all stopped."""
    assert widget.get_by_test_id("camera-preview").is_hidden() and widget.locator(".drop").is_visible()
    assert page.evaluate("streams.length") == streams and page.evaluate(ALL_STOPPED)
    assert page.evaluate(f"{WIDGET}.querySelector('video').srcObject") is None


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_photo_taken_is_classified_and_the_camera_stops(camera_browser, site, device):
    options = PHONE if device == "phone" else {"viewport": {"width": 1280, "height": 800}}
    with checked_page(camera_browser, **options) as page:
        widget = open_classify(page, site, allow=True)
        assert wait_ready(page, timeout=180_000) == "ready"
        open_preview(widget)
        take = widget.get_by_test_id("take-photo")
        page.wait_for_function(f"() => !{WIDGET}.querySelector('[data-testid=take-photo]').disabled")
        if device == "phone":  # the preview takes the width, its buttons in view under it
            preview = widget.get_by_test_id("camera-preview").bounding_box()
            assert preview["width"] >= 300 and take.bounding_box()["y"] + 40 < 844, preview
        take.click()
        page.wait_for_selector("pycore-classifier >> .result[aria-busy=false]:not(.empty)")
        assert widget.get_by_test_id("image-name").text_content() == "camera photo.jpg"
        assert widget.get_by_test_id("image-size").text_content() == "1280 × 960"  # the size asked for
        bars = widget.get_by_test_id("probabilities").locator("li")
        assert bars.count() == 5 and widget.get_by_test_id("prediction").text_content()
        closed(page, widget, 1)
        if device == "desktop":  # Cancel: no photo, no run, the result shown stays
            shown = widget.get_by_test_id("prediction").text_content()
            open_preview(widget)
            assert widget.locator(".info").is_hidden()  # the photo's caption goes with the photo
            widget.get_by_test_id("cancel-photo").click()
            widget.get_by_test_id("camera-preview").wait_for(state="hidden")
            closed(page, widget, 2)
            assert widget.get_by_test_id("prediction").text_content() == shown
            assert widget.get_by_test_id("image-name").is_visible()
            assert widget.get_by_test_id("image-name").text_content() == "camera photo.jpg"


def test_a_refused_camera_says_so_and_the_page_keeps_working(camera_browser, site):
    with checked_page(camera_browser, viewport={"width": 1280, "height": 800}) as page:
        widget = open_classify(page, site, allow=False)
        widget.get_by_test_id("camera").click()
        message = widget.get_by_test_id("message")
        message.wait_for(state="visible")
        assert message.text_content().startswith("The camera was not allowed. To take a photo, allow")
        closed(page, widget, 0)  # getUserMedia gave no stream
        assert widget.get_by_test_id("camera").is_visible() and widget.locator(".choose").is_visible()


def test_without_a_camera_there_is_no_camera_button(page, site):
    page.goto(f"{site}/demos/classify/index.html?backend=cpu")
    page.evaluate("customElements.whenDefined('pycore-classifier')")
    # asked after the widget asked, so answered after it was
    kinds = page.evaluate("async () => (await navigator.mediaDevices.enumerateDevices()).map((d) => d.kind)")
    assert "videoinput" not in kinds  # this Chromium has no camera
    assert page.locator("pycore-classifier").get_by_test_id("camera").is_hidden()
