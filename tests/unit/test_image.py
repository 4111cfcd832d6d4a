"""pycore.image: PNG decoding (every row filter), the model-input preparation model.json asks for,
and clear errors for files it cannot read."""

import struct
import sys
import zlib

import numpy as np
import pytest

from pycore import image
from pycore.errors import InputError


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def encode(pixels, filters, depth=8, colour=None):
    """PNG bytes of uint8 pixels (h, w, c), row y filtered with filters[y % len(filters)] (0-4)."""
    h, w, c = pixels.shape
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[c] if colour is None else colour
    rows, prev = [], np.zeros(w * c, np.int64)
    for y in range(h):
        line = pixels[y].reshape(-1).astype(np.int64)
        left = np.concatenate([np.zeros(c, np.int64), line[:-c]])
        up_left = np.concatenate([np.zeros(c, np.int64), prev[:-c]])
        kind = filters[y % len(filters)]
        pred = [0, left, prev, (left + prev) // 2, paeth(left, prev, up_left)][kind]
        rows.append(bytes([kind]) + ((line - pred) & 255).astype(np.uint8).tobytes())
        prev = line

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    return (
        image.PNG + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("filters", [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]])
def test_png_rows_decode_under_every_filter(channels, filters):
    pixels = np.random.default_rng(channels).integers(0, 256, (7, 9, channels), dtype=np.uint8)
    np.testing.assert_array_equal(image.read_png(encode(pixels, filters)), pixels)


def test_read_sniffs_the_file_not_its_name(tmp_path):
    pixels = np.random.default_rng(5).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    path = tmp_path / "photo.jpg"  # a PNG under a misleading name
    path.write_bytes(encode(pixels, [4]))
    np.testing.assert_array_equal(image.read(path), pixels)


def test_not_an_image_and_a_broken_png_are_image_errors(tmp_path):
    (tmp_path / "notes.png").write_text("not pixels")
    with pytest.raises(image.ImageError, match=r"notes.png is not an image \(PNG, JPEG"):
        image.read(tmp_path / "notes.png")
    good = encode(np.zeros((8, 8, 3), np.uint8), [0])
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(image.ImageError, match="cut.png looks like a PNG file but cannot be decoded"):
        image.read(tmp_path / "cut.png")
    assert issubclass(image.ImageError, InputError)


def test_formats_beyond_plain_png_need_pillow(tmp_path, monkeypatch):
    """Without Pillow (hidden here, whether this machine has it or not) the error says how to get it."""
    monkeypatch.setitem(sys.modules, "PIL", None)  # `import PIL` now raises ImportError
    gif = tmp_path / "photo.gif"
    gif.write_bytes(b"GIF89a" + bytes(64))  # a GIF's start: pycore has no GIF decoder of its own
    sixteen = tmp_path / "deep.png"
    sixteen.write_bytes(encode(np.zeros((2, 2, 1), np.uint8), [0], depth=16))
    for path, kind in ((gif, "GIF"), (sixteen, "PNG")):
        with pytest.raises(
            image.ImageError, match=f"is a {kind} file that needs Pillow .*pip install pillow"
        ):
            image.read(path)


def test_imagenet_preparation_of_a_solid_colour():
    rgb = np.array([200, 127, 0], np.uint8)
    x = image.to_input(np.broadcast_to(rgb, (300, 400, 3)), {"kind": "imagenet", "crop": 224})
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 100, 100], (rgb.astype(np.float32) - 127) / 128, atol=1e-6)
    np.testing.assert_allclose(x.std(axis=(2, 3)), 0, atol=1e-6)
    grey_alpha = np.zeros((256, 256, 2), np.uint8)  # fully transparent: white, as the page composites it
    np.testing.assert_allclose(image.to_input(grey_alpha, {"kind": "imagenet"}), (255 - 127) / 128)


def test_imagenet_crop_takes_the_centre_of_the_shorter_side():
    pixels = np.zeros((256, 512, 3), np.uint8)
    pixels[:, 128:384] = 255  # white centre, black sides: only the centre survives a 256 crop
    x = image.to_input(pixels, {"kind": "imagenet", "resize": 256, "crop": 256, "mean": 0, "scale": 255})
    assert x.min() > 0.99


@pytest.mark.parametrize("ground", ["black", "white", "transparent"])
def test_a_digit_is_prepared_the_same_on_any_ground(ground):
    ink = np.zeros((100, 80))
    ink[20:80, 35:45] = 1.0  # a "1": a bar
    want = image.mnist(ink)
    if ground == "black":
        pixels = (ink * 255).astype(np.uint8)[:, :, None]
    elif ground == "white":
        pixels = ((1 - ink) * 255).astype(np.uint8)[:, :, None]
    else:  # black ink on a transparent ground
        pixels = np.stack([np.zeros_like(ink), (ink * 255)], axis=2).astype(np.uint8)
    x = image.to_input(pixels, {"kind": "mnist", "size": 28, "fit": 20, "range": [0, 1]})
    assert x.shape == (1, 1, 28, 28)
    np.testing.assert_allclose(x[0, 0], want, atol=1e-6)
    rows = np.nonzero(want.max(axis=1) > 0.5)[0]
    assert rows.max() - rows.min() + 1 == 20  # the longer side fitted to 20 pixels


def test_an_input_without_preprocess_takes_no_image():
    with pytest.raises(
        InputError, match=r"input 'x' takes no image file \(model.json gives it no preprocess\)"
    ):
        image.to_input(np.zeros((4, 4, 3), np.uint8), {}, "input 'x'")
    with pytest.raises(InputError, match="its preprocess kind is 'audio'"):
        image.to_input(np.zeros((4, 4, 3), np.uint8), {"kind": "audio"})
