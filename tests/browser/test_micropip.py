"""The pycore wheel installs with micropip, as in any Pyodide app.

In someone else's app: the README's page, as written, on a host serving dist/ as /pycore/; micropip
installs the wheel from there (numpy, its requirement, from Pyodide's lock: nothing from PyPI), the
example trains a small MLP and runs its exported model, and every line it prints matches what the
same Python prints in CPython. In the site's own worker: micropip and the wheel go through the
download wrapper, so they show in the progress and a second visit fetches neither.
"""

import contextlib
import io
import re
import time

import pytest
from pages import CACHED, RECORD_PROGRESS

import build
from tools.browser import served, wait_ready

README = (build.ROOT / "README.md").read_text()
SNIPPET = re.search(
    r"```html\n(.*?)```", README.split("## pycore in your own Pyodide app\n", 1)[1], re.S
).group(1)
PYTHON = re.search(r"runPythonAsync\(`\n(.*?)`\)", SNIPPET, re.S).group(1)
PRINTED = re.compile(r"^(\d+ \d+\.\d+|accuracy .+)$")  # the example's own lines, not Pyodide's


@pytest.fixture(scope="module")
def host(site, tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    page = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>A Pyodide app</title>'
    (root / "index.html").write_text(f"{page}</head><body>\n{SNIPPET}</body></html>\n")
    (root / "pycore").symlink_to(build.DIST)
    with served(root) as url:
        yield url


def test_the_readme_page_installs_the_wheel_with_micropip_trains_and_runs_the_export(
    page, host, tmp_path, monkeypatch
):
    wheel = re.search(r"/pycore/wheels/([\w.-]+\.whl)", SNIPPET).group(1)
    assert (build.DIST / "wheels" / wheel).exists(), f"the README names {wheel}; the build makes another"
    requested, printed = [], []
    page.on("request", lambda r: requested.append(r.url.removeprefix(host)))
    page.on("console", lambda m: m.type == "log" and PRINTED.match(m.text) and printed.append(m.text))
    with page.expect_console_message(lambda m: m.text.startswith("accuracy"), timeout=120_000):
        page.goto(f"{host}/index.html")
    assert f"/pycore/wheels/{wheel}" in requested
    numpy = next((build.DIST / "pyodide").glob("numpy-*.whl")).name
    assert f"/pycore/pyodide/{numpy}" in requested  # micropip found numpy in Pyodide's lock

    monkeypatch.chdir(tmp_path)
    native = io.StringIO()
    with contextlib.redirect_stdout(native):
        exec(compile(PYTHON, "README.md", "exec"), {})
    expected = native.getvalue().splitlines()
    assert len(expected) == 6 and float(expected[-1].split()[1]) >= 0.95, expected
    losses = [float(line.split()[1]) for line in expected[:-1]]
    assert losses[-1] < 0.1 * losses[0], losses
    assert printed[-1] == expected[-1]
    assert [line.split()[0] for line in printed[:-1]] == [line.split()[0] for line in expected[:-1]]
    got = [float(line.split()[1]) for line in printed[:-1]]
    assert got == pytest.approx(losses, abs=2e-4), (printed, expected)


def test_the_worker_installs_micropip_and_the_wheel_through_the_download_wrapper(page, site):
    requested = []
    page.on("request", lambda r: r.url.endswith(".whl") and requested.append(r.url))
    page.add_init_script(RECORD_PROGRESS)
    page.goto(f"{site}/demos/mnist/index.html?backend=cpu")
    assert wait_ready(page) == "ready"
    names = sorted(url.split("/")[-1].split("-")[0] for url in requested)
    assert names == ["micropip", "numpy", "packaging", "pycore"], requested
    labels = ", ".join(page.evaluate("progressLabels"))
    assert "micropip" in labels and "pycore" in labels, labels
    deadline = time.monotonic() + 30
    while not all(any(c.startswith(f"{url}?sha256=") for c in page.evaluate(CACHED)) for url in requested):
        assert time.monotonic() < deadline, page.evaluate(CACHED)
        time.sleep(0.2)
    requested.clear()
    page.reload()
    assert wait_ready(page) == "ready"
    assert requested == []  # Cache API hits make no request


class NoWheel(build.Handler):
    def do_GET(self):
        if self.path.endswith(".whl") and "/wheels/" in self.path:
            self.send_error(404)
        else:
            super().do_GET()


def test_a_missing_wheel_is_named_on_the_page(page, site):
    with served(build.DIST, NoWheel) as url:
        page.goto(f"{url}/demos/mnist/index.html?backend=cpu")
        status = wait_ready(page)
    assert status.startswith("error") and "could not install pycore from /wheels/pycore-" in status, status
