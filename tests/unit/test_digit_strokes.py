"""The mouse-drawn digits of the browser test, rendered and preprocessed like the page does.

If the model misreads one here it would misread it in the browser too; the > 0.6 margin leaves
room for the small differences between this rasteriser and the browser's canvas.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import pycore
from tools.digit_strokes import STROKES, preprocess_canvas, render_strokes

ROOT = Path(__file__).resolve().parents[2]


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
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5, (d, cy, cx)
        rows, cols = np.nonzero(img > 0.05)
        extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
        assert 19 <= extent <= 20, (d, extent)


def test_preprocess_blank_canvas():
    assert not preprocess_canvas(np.zeros((280, 280))).any()


@pytest.mark.parametrize("digit", range(10))
def test_model_reads_stroke_digit(model, images, digit):
    probs = model.run(images[digit][None, None]).reshape(-1)
    assert probs.argmax() == digit, f"digit {digit} read as {probs.argmax()}: {np.round(probs, 3)}"
    assert probs[digit] > 0.6, f"digit {digit} only p={probs[digit]:.3f}"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_reference_matches_page_preprocessing(tmp_path):
    """preprocess_canvas is only a valid stand-in while it computes what web/digits.js computes."""
    ink = np.stack([np.round(render_strokes(STROKES[d]) * 255).astype(np.uint8) for d in (1, 4, 8)])
    ink.tofile(tmp_path / "ink.u8")
    script = f"""
        import {{ readFileSync, writeFileSync }} from "fs";
        import {{ toMnist }} from {json.dumps((ROOT / "web" / "digits.js").as_uri())};
        const ink = readFileSync({json.dumps(str(tmp_path / "ink.u8"))});
        const out = new Float32Array({len(ink)} * 784);
        for (let d = 0; d < {len(ink)}; d++) {{
          const data = new Uint8ClampedArray(280 * 280 * 4).fill(255);
          for (let i = 0; i < 280 * 280; i++) data.fill(ink[d * 78400 + i], 4 * i, 4 * i + 3);
          out.set(toMnist({{ data, width: 280, height: 280 }}), d * 784);
        }}
        writeFileSync({json.dumps(str(tmp_path / "out.f32"))}, Buffer.from(out.buffer));
    """
    subprocess.run(["node", "--input-type=module", "-e", script], check=True, capture_output=True)
    page = np.fromfile(tmp_path / "out.f32", np.float32).reshape(-1, 28, 28)
    ours = np.stack([preprocess_canvas(i / 255.0) for i in ink])
    np.testing.assert_allclose(page, ours, atol=1e-5)
