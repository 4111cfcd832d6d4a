"""Browser fixtures: the built site served on 127.0.0.1 and Debian Chromium driven by playwright
(tools/browser.py, which the tools that measure in Chromium share).

Every page fixture fails its test if the page logs a console error, throws, or requests anything
outside 127.0.0.1; a test that provokes an error on purpose empties `page.errors` after checking it.
"""

import pytest

import build
from tools.browser import launch, local_context, served


@pytest.fixture(scope="session")
def site():
    build.build()
    with served(build.DIST) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p.chromium)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context, external = local_context(browser, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.errors, page.external = [], external
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()
    assert page.external == [], f"requests left 127.0.0.1: {page.external}"
    assert page.errors == [], f"console errors: {page.errors}"
