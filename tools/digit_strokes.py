"""Mouse-drawn digits 0-9 for the MNIST page tests and tools/train_mnist.py, with a numpy reference
of what the page does.

STROKES[d] is a list of strokes; a stroke is a polyline of (x, y) points in CSS pixels on the
280x280 canvas (y grows downwards), a point every ~7 px, ordered the way a person drags the mouse:
"4" is two strokes (the open angle, then the downstroke), "5" draws its body first and the top
bar last, "7" is one stroke (bar, then diagonal), "0" one loop that overlaps where it started.
Each stroke is written as a few key points a hand would pass through, joined by a Catmull-Rom
spline (pieces meet at sharp corners), so the ink is smooth the way a dragged mouse is.

The page draws each stroke as white ink on black, lineWidth 20, round caps and joins, then
web/digits.js (toMnist) turns the canvas into the model input; `preprocess_canvas`
(pycore.image.mnist) mirrors it:
  1. ink = canvas intensity in [0, 1] (the page reads the red channel / 255);
  2. crop to the bounding box of pixels with ink > 0.05;
  3. s = 20 / max(crop height, crop width); resize the crop to round(h*s) x round(w*s) (so the
     longer side is 20 px, aspect kept) by area averaging: each output pixel is the mean of the
     source pixels it covers, weighted by overlap;
  4. centre of mass (cy, cx) of the resized crop, pixel i having centre i + 0.5;
  5. paste it into a black 28x28 image at the whole-pixel offset round(14 - c) (JS Math.round,
     halves round up), so the centre of mass lands within half a pixel of coordinate 14.0.
"""

import numpy as np

from pycore.image import mnist as preprocess_canvas  # noqa: F401  (the tests import it from here)

SPACING = 7.0  # px between stored points: dense enough to look like mouse events


def _spline(keys, spacing=SPACING):
    """Catmull-Rom through `keys`, resampled to points `spacing` px apart along the curve."""
    p = np.asarray(keys, np.float64)
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0, 1, 40, endpoint=False)[:, None]
    dense = []
    for i in range(len(p) - 1):
        p0, p1, p2, p3 = ext[i : i + 4]
        dense.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    dense.append(p[-1:])
    return _resample(np.vstack(dense), spacing)


def _resample(pts, spacing):
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    arc = np.concatenate([[0], np.cumsum(seg)])
    n = max(1, round(arc[-1] / spacing))
    at = np.linspace(0, arc[-1], n + 1)
    return np.stack([np.interp(at, arc, pts[:, 0]), np.interp(at, arc, pts[:, 1])], axis=1)


def stroke(*pieces):
    """Joins pieces (each a list of key points; two points make a straight line) at corners."""
    out = []
    for keys in pieces:
        pts = _spline(keys)
        out.extend(pts[1:] if out else pts)
    return [(round(float(x), 1), round(float(y), 1)) for x, y in out]


def _ellipse(cx, cy, rx, ry, start, sweep, tilt=0.0):
    """An elliptical loop (angles in degrees, screen axes), as a hand draws an "0"."""
    a = np.radians(np.linspace(start, start + sweep, 400))
    x, y = rx * np.cos(a), ry * np.sin(a)
    c, s = np.cos(np.radians(tilt)), np.sin(np.radians(tilt))
    pts = np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)
    return [(round(float(x), 1), round(float(y), 1)) for x, y in _resample(pts, SPACING)]


STROKES = {
    # counter-clockwise from the top, closing with a little overlap, slightly slanted
    0: [_ellipse(140, 140, 58, 86, -95, -375, tilt=8)],
    1: [stroke([(150, 50), (142, 140), (134, 230)])],
    2: [
        stroke(
            [(86, 98), (104, 63), (145, 50), (184, 68), (189, 108), (160, 152), (120, 190), (86, 224)],
            [(86, 224), (200, 221)],
        )
    ],
    3: [
        stroke(
            [(88, 76), (125, 52), (170, 58), (183, 92), (163, 125), (124, 137)],
            [(124, 137), (174, 150), (192, 190), (166, 222), (120, 229), (82, 210)],
        )
    ],
    4: [stroke([(128, 50), (70, 168)], [(70, 168), (210, 165)]), stroke([(178, 62), (170, 232)])],
    5: [
        stroke(
            [(110, 55), (100, 130)],
            [(100, 130), (140, 117), (182, 138), (193, 180), (170, 216), (125, 229), (85, 212)],
        ),
        stroke([(110, 55), (195, 52)]),
    ],
    6: [
        stroke(
            [
                (182, 58),
                (140, 60),
                (105, 100),
                (90, 150),
                (98, 200),
                (135, 228),
                (175, 212),
                (188, 175),
                (165, 145),
                (125, 145),
                (98, 168),
            ]
        )
    ],
    7: [stroke([(72, 58), (205, 58)], [(205, 58), (128, 232)])],
    8: [
        stroke(
            [
                (180, 74),
                (145, 50),
                (102, 60),
                (98, 100),
                (140, 136),
                (184, 170),
                (182, 214),
                (140, 232),
                (96, 213),
                (96, 172),
                (140, 136),
                (178, 102),
                (180, 70),
            ]
        )
    ],
    9: [
        stroke(
            [(182, 80), (150, 54), (108, 62), (92, 98), (110, 128), (150, 130), (182, 100)],
            [(182, 100), (178, 160), (168, 232)],
        )
    ],
}


def render_strokes(strokes, size=280, width=20):
    """Anti-aliased ink (0..1) of round-capped, round-joined polylines: the union of capsules.

    A pixel's coverage is approximated by its centre's distance d to the nearest segment:
    1 inside (d <= w/2 - 0.5), 0 outside (d >= w/2 + 0.5), linear in between, like canvas AA.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dist = np.full((size, size), np.inf, np.float32)
    for stroke in strokes:
        pts = np.asarray(stroke, np.float32)
        if len(pts) == 1:
            pts = np.vstack([pts, pts])
        for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
            dx, dy = bx - ax, by - ay
            t = ((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-12)
            t = np.clip(t, 0.0, 1.0)
            np.minimum(dist, np.hypot(xx - ax - t * dx, yy - ay - t * dy), out=dist)
    return np.clip(width / 2 + 0.5 - dist, 0.0, 1.0)
