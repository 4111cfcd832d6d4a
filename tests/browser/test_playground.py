"""The playground page: Python typed in the editor runs in the pycore worker, its output streams in
while it runs, plot() draws in the page, an error shows its last frames, Stop ends an endless loop
(by interrupting Python where the page is cross-origin isolated, as build.py's server makes it, and
otherwise by a fresh worker), every example runs, and the code survives a reload.

One page, booted once, serves the tests that run code; each test starts from the state the last
one left, which is what a visitor's page goes through too.
"""

import re

import pytest
from pages import PHONE, checked_page

import build
import pycore
from tools.browser import served, wait_ready

ENDLESS = "n = 0\nwhile True:\n    print(n)\n    n += 1\n"  # a flood of output, which the page must survive
OUTPUT = "document.querySelector('[data-testid=output]').textContent"


@pytest.fixture(scope="module")
def playground(browser, site):
    with checked_page(browser) as page:
        page.goto(f"{site}/demos/playground/index.html")
        assert wait_ready(page) == "ready"
        yield page


@pytest.fixture(autouse=True)
def no_errors(request):
    yield
    if "playground" in request.fixturenames:
        page = request.getfixturevalue("playground")
        assert page.external == [] and page.errors == [], (page.external, page.errors)


def enter(page, code):
    page.get_by_test_id("editor").fill(code)


def run(page, code=None, timeout=60_000):
    """Runs the editor's code (or `code`, typed in first) to its end: the output pane's text."""
    if code is not None:
        enter(page, code)
    page.get_by_test_id("run").click()
    finished(page, timeout)
    return page.get_by_test_id("output").text_content()


def finished(page, timeout=60_000):
    page.wait_for_function(
        f"() => /^(Finished|Failed|Stopped)/m.test({OUTPUT})"
        " && document.querySelector('[data-testid=status]').textContent === 'ready'",
        timeout=timeout,
    )


def pick(page, example):
    """Picks an example and waits until the editor holds its code (it may have to be fetched)."""
    page.get_by_test_id("examples").select_option(example)
    shows = "(name) => document.querySelector('[data-testid=editor]').dataset.example === name"
    page.wait_for_function(shows, arg=example)


def plotted(page):
    """{label: number of points drawn}, read from the chart's paths."""
    paths = page.get_by_test_id("plot").locator("path.series").all()
    return {p.get_attribute("data-label"): len(re.findall(r"[ML]", p.get_attribute("d"))) for p in paths}


def test_printed_lines_show_while_the_code_still_runs(playground):
    # a busy loop holds the worker's thread between the lines: they must arrive anyway
    enter(
        playground,
        """import time
for i in range(3):
    print("line", i)
    t = time.time()
    while time.time() - t < 0.4:
        pass
print("done")
""",
    )
    playground.get_by_test_id("run").click()
    output = playground.get_by_test_id("output")
    playground.wait_for_function(f"() => {OUTPUT}.includes('line 0')")
    assert "done" not in output.text_content()
    assert playground.get_by_test_id("status").text_content() == "running"
    assert playground.get_by_test_id("run").is_disabled() and playground.get_by_test_id("stop").is_enabled()
    finished(playground)
    text = output.text_content()
    assert text.startswith("line 0\nline 1\nline 2\ndone\n")
    assert re.search(r"^Finished in \d+\.\d s\.$", text, re.M), text


def test_plot_draws_each_series_with_its_points(playground):
    assert playground.get_by_test_id("plot").is_hidden()  # nothing plotted yet
    code = """from pycore.playground import plot
plot([3, 1, 2], label="a")
plot([5, 4, 3, 2, 1], label="a")
plot(range(7), label="b")
plot([1, float("nan"), 2, 3], label="gap")
"""
    run(playground, code)
    assert playground.get_by_test_id("plot").is_visible()
    # 'a' drawn again replaces its line; the gap leaves out the NaN
    assert plotted(playground) == {"a": 5, "b": 7, "gap": 3}
    legend = playground.get_by_test_id("plot").locator(".legend li").all_text_contents()
    assert legend == ["a (5)", "b (7)", "gap (4)"]
    run(playground, "print('no plot')")
    assert playground.get_by_test_id("plot").is_hidden()  # each run starts a clean chart


def test_an_error_shows_the_tracebacks_last_frames_in_the_output(playground):
    code = "def mean(xs):\n    return sum(xs) / len(xs)\n\nprint('start')\nmean([])\n"
    text = run(playground, code)
    error = playground.get_by_test_id("output").locator(".error").text_content()
    assert text.startswith("start\n") and error in text
    assert 'File "<playground>", line 5, in <module>' in error and "line 2, in mean" in error
    assert "return sum(xs) / len(xs)" in error
    assert error.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "_pyodide" not in error and "playground.py" not in error  # no frames above the code typed
    assert re.search(r"^Failed after \d+\.\d s\.$", text, re.M)


def test_stop_interrupts_an_endless_loop_and_the_next_run_works(playground):
    assert playground.evaluate("crossOriginIsolated")  # build.py's server sends COOP + COEP here
    workers = len(playground.workers)
    enter(playground, ENDLESS)
    playground.get_by_test_id("run").click()
    # more than the pane keeps: it holds the newest output only, and says so
    playground.wait_for_function(f"() => {OUTPUT}.startsWith('(earlier output dropped)')", timeout=30_000)
    assert playground.get_by_test_id("status").text_content() == "running"
    playground.get_by_test_id("stop").click(timeout=5_000)  # the page still answers in the flood
    finished(playground, timeout=10_000)
    text = playground.get_by_test_id("output").text_content()
    assert "KeyboardInterrupt" in text and 'File "<playground>", line' in text and "Stopped after" in text
    assert text.startswith("(earlier output dropped)\n") and len(text) < 60_000, text[:200]
    assert run(playground, "print('after', n if 'n' in dir() else 'a fresh namespace')").startswith(
        "after a fresh namespace\n"
    )
    assert len(playground.workers) == workers  # the same worker: Python was interrupted, not replaced


@pytest.mark.parametrize(
    "example, expected",
    [
        ("mlp", [r"^cpu: 40 steps, \d+ ms a step, loss 0\.0\d\d, accuracy 100%$", r"^webgpu: 40 steps"]),
        ("finetune", [r"^After 10 steps on 3 copies of each:$"]),
        ("timing", [r"^cpu: median [\d.]+ ms of 20 runs", r"^webgpu: median [\d.]+ ms of 20 runs"]),
    ],
)
def test_each_example_runs(playground, example, expected):
    pick(playground, example)
    restore = playground.get_by_test_id("restore")
    if restore.is_visible():  # an earlier test typed over it
        restore.click()
    text = run(playground, timeout=180_000)
    assert playground.get_by_test_id("output").locator(".error").count() == 0, text
    for pattern in expected:
        assert re.search(pattern, text, re.M), (pattern, text)
    if example == "mlp":  # the loss curves, one point a step on each path
        assert plotted(playground) == {"cpu": 40, "webgpu": 40}
        assert float(re.search(r"^webgpu: .* loss ([\d.]+)", text, re.M).group(1)) < 0.1
    if example == "finetune":  # the styles it misread before are read right after, the others still are
        before, after = text.split("After 10 steps")
        styles = ("9 with a hooked tail", "4 with a closed top")
        right = sum(int(re.search(rf"{style} .*\((\d) of 5 right\)", before).group(1)) for style in styles)
        assert right <= 4, before  # of 10 (2 when measured)
        assert re.findall(r"\((\d) of 5 right\)", after) == ["5"] * 8, after
    if example == "timing":
        difference = float(re.search(r"probabilities: ([\d.e+-]+)", text).group(1))
        assert difference < 1e-5, text


def test_the_code_typed_survives_a_reload_and_restore_brings_the_example_back(playground):
    pick(playground, "timing")
    editor = playground.get_by_test_id("editor")
    original = editor.input_value()
    editor.click()
    playground.keyboard.press("Control+End")
    # Enter keeps the indent and adds one after a colon; Tab indents, Shift+Tab dedents
    playground.keyboard.type("\nfor i in range(2):\n")
    playground.keyboard.type("print(i)\n")
    playground.keyboard.press("Shift+Tab")
    playground.keyboard.type("x = 1")
    playground.keyboard.press("Home")
    playground.keyboard.press("Tab")
    typed = editor.input_value()
    assert typed.endswith("\nfor i in range(2):\n    print(i)\n    x = 1") and typed.startswith(original)
    playground.reload()  # at once: the page keeps the code as it goes away, not only 0.3 s after a key
    assert wait_ready(playground) == "ready"
    assert playground.get_by_test_id("examples").input_value() == "timing"
    assert editor.input_value() == typed
    pick(playground, "mlp")
    pick(playground, "timing")
    assert editor.input_value() == typed  # each example keeps its own draft
    playground.get_by_test_id("restore").click()
    assert editor.input_value() == original and playground.get_by_test_id("restore").is_hidden()


class NotIsolated(build.Handler):
    isolate = False  # a static host that sends no COOP/COEP headers


def test_stop_starts_a_fresh_worker_where_python_cannot_be_interrupted(page):
    with served(build.DIST, NotIsolated) as url:
        page.goto(f"{url}/demos/playground/index.html")
        assert wait_ready(page) == "ready"
        assert not page.evaluate("crossOriginIsolated")
        run_button, output = page.get_by_test_id("run"), page.get_by_test_id("output")
        enter(page, ENDLESS)
        run_button.click()
        page.wait_for_timeout(500)
        page.get_by_test_id("stop").click()
        page.wait_for_function(f"() => /worker was ended/.test({OUTPUT})")
        assert "Python could not be interrupted here" in output.text_content()
        assert wait_ready(page) == "ready"
        fresh = run(page, "import pycore\nprint('fresh', pycore.__version__)")
        assert fresh.startswith(f"fresh {pycore.__version__}\n"), fresh


# Where the page's hooks lie each time the status changes, from before the page's modules run:
# window.layouts, [{status, width, boxes: {hook: {left, right}}}].
RECORD_LAYOUT = """document.addEventListener("DOMContentLoaded", () => {
  const hook = (id) => document.querySelector(`[data-testid=${id}]`);
  const ids = ["examples", "editor", "run", "stop", "status", "output"];
  window.layouts = [];
  new MutationObserver(() => layouts.push({
    status: hook("status").textContent,
    width: document.documentElement.scrollWidth,
    boxes: Object.fromEntries(ids.map((id) => { const r = hook(id).getBoundingClientRect();
      return [id, { left: r.left, right: r.right }]; })),
  })).observe(hook("status"), { childList: true, characterData: true, subtree: true });
});"""


def test_the_page_fits_a_phone(browser, site):
    """Nothing reaches past 390 px whatever the status says (a download line is the longest), and
    the editor takes the width."""
    with checked_page(browser, **PHONE) as page:
        page.add_init_script(RECORD_LAYOUT)
        page.goto(f"{site}/demos/playground/index.html")
        assert wait_ready(page) == "ready"
        layouts = page.evaluate("layouts")
        assert any(r["status"].startswith("downloading") for r in layouts), layouts
        for layout in layouts:
            assert layout["width"] <= 390, layout
            for hook, box in layout["boxes"].items():
                assert 0 <= box["left"] and box["right"] <= 390, (hook, layout)
        assert layouts[-1]["boxes"]["editor"]["right"] > 390 - 24, layouts[-1]  # to the page's margin


def test_the_landing_page_links_the_playground_and_the_playground_its_sources(page, site):
    page.goto(f"{site}/index.html")
    assert "demos/playground/index.html" in [a.get_attribute("href") for a in page.locator("a.panel").all()]
    page.goto(f"{site}/demos/playground/index.html")
    links = [a.get_attribute("href") for a in page.locator(".keys a").all()]
    assert "../../README.md" in links
    for href in links:
        assert page.request.get(f"{site}/demos/playground/{href}").ok, href
    wait_ready(page)  # the worker's boot ends before the page closes, so nothing is cut off mid-request
