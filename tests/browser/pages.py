"""Helpers shared by the browser tests."""

import numpy as np


def wait_ready(page, timeout=90_000):
    """Waits until the status hook says ready (or error) and returns its text."""
    page.wait_for_function(
        "() => { const s = document.querySelector('[data-testid=status]')?.textContent || '';"
        " return s === 'ready' || s.startsWith('error'); }",
        timeout=timeout,
    )
    return page.get_by_test_id("status").text_content()


def draw(page, strokes, step=4.0):
    """Moves the real mouse along each stroke, a point every `step` px, as a person would."""
    box = page.get_by_test_id("canvas").bounding_box()
    for stroke in strokes:
        points = np.asarray(stroke, dtype=float)
        dense = [points[0]]
        for a, b in zip(points, points[1:]):
            n = max(1, int(np.hypot(*(b - a)) // step))
            dense += [a + (b - a) * (i / n) for i in range(1, n + 1)]
        page.mouse.move(box["x"] + dense[0][0], box["y"] + dense[0][1])
        page.mouse.down()
        for x, y in dense[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()
