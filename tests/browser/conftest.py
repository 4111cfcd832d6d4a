"""Browser fixtures: the built site served on 127.0.0.1 and Debian Chromium driven by playwright
(tools/browser.py, which the tools that measure in Chromium share).

Every page fixture fails its test if the page logs a console error, throws, or requests anything
outside 127.0.0.1; a test that provokes an error on purpose empties `page.errors` after checking it.
"""

import pytest
from pages import checked_page

import build
from tools.browser import launch, served


@pytest.fixture(scope="session")
def site():
    build.build()
    with served(build.DIST) as url:
        yield url


@pytest.fixture(scope="session")
def playwright():
    """The one playwright a session may run (a second sync_playwright refuses to start)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    chromium = launch(playwright.chromium)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser):
    with checked_page(browser) as page:
        yield page
