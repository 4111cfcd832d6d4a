"""The mouse-drawn digits of the browser test, rendered and preprocessed like the page does.

If the model misreads one here it would misread it in the browser too; the > 0.6 margin leaves
room for the small differences between this rasteriser and the browser's canvas.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from digit_strokes import STROKES, preprocess_canvas, render_strokes  # noqa: E402

import pycore  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return pycore.load(str(ROOT / "models" / "mnist"))


@pytest.fixture(scope="module")
def images():
    return {d: preprocess_canvas(render_strokes(STROKES[d])) for d in range(10)}


def test_strokes_are_mouse_like():
    assert sorted(STROKES) == list(range(10))
    for d, strokes in STROKES.items():
        for stroke in strokes:
            pts = np.asarray(stroke)
            assert pts.ndim == 2 and pts.shape[1] == 2 and len(pts) >= 2, d
            assert pts.min() >= 0 and pts.max() <= 280, d
            gaps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
            assert gaps.max() <= 10.5 and gaps.min() >= 3, (d, gaps.min(), gaps.max())


def test_preprocess_fits_and_centres(images):
    centres = np.arange(28) + 0.5
    for d, img in images.items():
        assert img.shape == (28, 28) and img.dtype == np.float32
        assert 0 <= img.min() and img.max() <= 1
        mass = img.sum()
        cy, cx = img.sum(axis=1) @ centres / mass, img.sum(axis=0) @ centres / mass
        assert abs(cy - 14) < 0.05 and abs(cx - 14) < 0.05, (d, cy, cx)
        rows, cols = np.nonzero(img > 0.05)
        extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
        assert 19 <= extent <= 21, (d, extent)


def test_preprocess_blank_canvas():
    assert not preprocess_canvas(np.zeros((280, 280))).any()


@pytest.mark.parametrize("digit", range(10))
def test_model_reads_stroke_digit(model, images, digit):
    probs = model.run(images[digit][None, None]).reshape(-1)
    assert probs.argmax() == digit, f"digit {digit} read as {probs.argmax()}: {np.round(probs, 3)}"
    assert probs[digit] > 0.6, f"digit {digit} only p={probs[digit]:.3f}"
