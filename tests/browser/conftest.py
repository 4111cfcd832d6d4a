"""Browser fixtures: the built site served on 127.0.0.1 and Debian Chromium driven by playwright.

Every page fixture fails its test if the page logs a console error, throws, or requests anything
outside 127.0.0.1; a test that provokes an error on purpose empties `page.errors` after checking it.
"""

import functools
import http.server
import shutil
import threading

import pytest

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


def serve(directory, handler=build.Handler):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def site():
    build.build()
    server, url = serve(build.DIST)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.errors, page.external = [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))

    def check(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            page.external.append(url)
            route.abort()

    context.route("**/*", check)
    yield page
    context.close()
    assert page.external == [], f"requests left 127.0.0.1: {page.external}"
    assert page.errors == [], f"console errors: {page.errors}"
