"""Driving Debian Chromium over playwright, for the browser tests and the tools that measure in a
browser alike: the flags (SwiftShader WebGPU), a directory served on 127.0.0.1, contexts that let
no request leave it, the demo pages' status hook, and a bare Pyodide running the site's wheel.

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
# A camera showing a test pattern, for the camera tests' own browser (no other test sees a camera).
# A context allows it with grant_permissions(["camera"]); without that the browser refuses it.
FAKE_CAMERA = ["--use-fake-device-for-media-stream"]


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


def launch(browser_type, extra=()):
    """Chromium with FLAGS (and `extra` flags), from playwright's `chromium` browser type."""
    return browser_type.launch(executable_path=CHROMIUM, args=[*FLAGS, *extra])


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


# A bare Pyodide with the site's pycore wheel installed by micropip (numpy, its requirement, from
# Pyodide's lock), models copied into its /models/<name>/, running `code`: what a Pyodide app that
# installs the wheel gets, without the demos' worker.
PYODIDE_RUN = """async ([wheel, models, code]) => {
  const { loadPyodide } = await import("/pyodide/pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: "/pyodide/" });
  await pyodide.loadPackage("micropip");
  await pyodide.pyimport("micropip").install(new URL(wheel, location.href).href);
  for (const [name, url] of Object.entries(models)) {
    pyodide.FS.mkdirTree(`/models/${name}`);
    for (const file of ["model.json", "weights.safetensors"]) {
      const bytes = new Uint8Array(await (await fetch(`/${url}/${file}`)).arrayBuffer());
      pyodide.FS.writeFile(`/models/${name}/${file}`, bytes);
    }
  }
  return await pyodide.runPythonAsync(code);
}"""


def run_in_pyodide(page, code, models=None):
    """Runs `code` in a bare Pyodide in `page` (already on the served site) with the site's pycore
    wheel installed by micropip; `models` maps a name to the site folder copied into
    /models/<name>/. Returns the value of the code's last expression."""
    wheel = next((build.DIST / "wheels").glob("pycore-*.whl")).name
    return page.evaluate(PYODIDE_RUN, [f"/wheels/{wheel}", models or {}, code])
