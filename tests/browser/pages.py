"""Helpers shared by the browser tests."""


def wait_ready(page, timeout=90_000):
    """Waits until the status hook says ready (or error) and returns its text."""
    page.wait_for_function(
        "() => { const s = document.querySelector('[data-testid=status]')?.textContent || '';"
        " return s === 'ready' || s.startsWith('error'); }",
        timeout=timeout,
    )
    return page.get_by_test_id("status").text_content()
