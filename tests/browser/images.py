"""Images for the classify tests without Pillow: a small PNG writer (zlib + numpy); the reader and
the numpy reference of the ImageNet preprocessing the page does in web/image.js are pycore.image's.
"""

import struct
import zlib

import numpy as np

from pycore.image import PNG, read_png  # noqa: F401  (the tests import read_png and preprocess from here)
from pycore.image import imagenet as preprocess  # noqa: F401


def write_png(pixels):
    """uint8 array (h, w) or (h, w, 1|2|3|4) -> PNG bytes (filter 0, fast compression)."""
    pixels = np.asarray(pixels, np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return (
        PNG + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b"")
    )
