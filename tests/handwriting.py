"""Two personal handwriting styles that the shipped MNIST model misreads, for the teaching tests
(tests/unit/test_teach_digits.py checks that it does, natively; tests/browser/test_teach_page.py
draws them with the mouse, teaches them and checks they then read right):

- a continental "1": a long up-stroke from the lower left, then the stem (the model reads a 7);
- a "7" whose foot hooks to the right (the model reads a 2).

`drawing(style, seed)` is one drawing of a style as a hand makes it: the whole figure moved (up
to 12 px), turned (6 degrees) and scaled (8%), every key point off by up to 5 px, the seed
choosing how. The tests teach seeds 0-3 and check new seeds 100 and up.
"""

import numpy as np

from tools.digit_strokes import stroke

# style -> (digit, strokes); a stroke is pieces of key points that tools.digit_strokes.stroke joins
STYLES = {
    "continental 1": (1, [[[(70, 110), (165, 45)], [(165, 45), (158, 235)]]]),
    "hooked 7": (
        7,
        [[[(70, 62), (205, 58)], [(205, 58), (150, 150), (120, 210), (130, 236), (175, 238), (200, 220)]]],
    ),
}
TAUGHT = range(4)  # seeds of the drawings taught
NEW = range(100, 106)  # seeds of drawings never taught


def drawing(style, seed):
    """The strokes of one drawing of `style` (polylines in pad pixels, as STROKES holds them)."""
    rng = np.random.default_rng(seed)
    angle = np.radians(rng.uniform(-6, 6))
    scale, shift = 1 + rng.uniform(-0.08, 0.08), rng.uniform(-12, 12, 2)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])

    def moved(keys):
        return [
            tuple(turn @ ((np.array(k) - 140) * scale) + 140 + shift + rng.uniform(-5, 5, 2)) for k in keys
        ]

    return [stroke(*[moved(piece) for piece in pieces]) for pieces in STYLES[style][1]]
