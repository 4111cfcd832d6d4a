"""Driving Debian Chromium over playwright, for the browser tests and the tools that measure in a
browser alike: the flags (SwiftShader WebGPU), a directory served on 127.0.0.1, contexts that let
no request leave it, and the demo pages' status hook.

It lives under tools/ because tools are scripts run without pytest, and tests may import tools
(they already import the conformance runner); tools importing tests/browser/conftest.py pulled a
pytest plugin file in as a library.
"""

import contextlib
import functools
import http.server
import shutil
import threading

import build

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-unsafe-webgpu",
]
LOCAL = ("http://127.0.0.1:", "data:", "blob:")


@contextlib.contextmanager
def served(directory, handler=build.Handler):
    """The directory served on 127.0.0.1 at a free port, in a thread, while the block runs: its URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def launch(browser_type):
    """Chromium with FLAGS, from playwright's `chromium` browser type."""
    return browser_type.launch(executable_path=CHROMIUM, args=FLAGS)


def launch_persistent(browser_type, profile):
    """Chromium with FLAGS and a profile on disk, as a returning visitor has: a context."""
    return browser_type.launch_persistent_context(profile, executable_path=CHROMIUM, args=FLAGS)


def local_context(browser, **options):
    """A new context (playwright's options) that refuses every request leaving 127.0.0.1:
    (context, the list it appends each refused URL to)."""
    context, external = browser.new_context(**options), []

    def check(route):
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    context.route("**/*", check)
    return context, external


# The first element with a data-testid in the page or in any open shadow root (a widget's).
FIND_HOOK = """(id) => { const find = (root) => root.querySelector(`[data-testid="${id}"]`)
  || [...root.querySelectorAll("*")].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
  return find(document); }"""


def wait_ready(page, timeout=90_000):
    """Waits until a demo page's status hook (in the page or its widget) says ready (or error) and
    returns its text."""
    page.wait_for_function(
        f"() => {{ const s = ({FIND_HOOK})('status')?.textContent || '';"
        " return s === 'ready' || s.startsWith('error'); }",
        timeout=timeout,
    )
    return page.evaluate(f"() => ({FIND_HOOK})('status').textContent")


def adapter(page):
    """The page's WebGPU adapter, in words ('none' without one)."""
    return page.evaluate(
        "async () => { const a = await navigator.gpu?.requestAdapter(); return a ? "
        "`${a.info.vendor} ${a.info.architecture} ${a.info.description}`.trim() : 'none'; }"
    )
