"""pycore/jpeg.py on the scikit-image rocket (a baseline 4:4:4 JPEG) and on what it must refuse:
NotImplementedError for what Pillow should read instead (progressive coding, an EXIF turn), a
clear ValueError for broken data, and image.read's message when Pillow is missing. Its pixels are
checked against Chromium's own decoder in tests/browser/test_jpeg_chromium.py."""

import struct
import sys
import zipfile

import numpy as np
import pytest

from pycore import image
from pycore.jpeg import ZIGZAG, read_jpeg
from tools.fetch import pypi_file


@pytest.fixture(scope="module")
def rocket():
    with zipfile.ZipFile(pypi_file("scikit-image")) as z:
        return z.read("skimage/data/rocket.jpg")


def test_the_zigzag_order_walks_the_diagonals():
    assert sorted(ZIGZAG) == list(range(64))
    assert list(ZIGZAG[:10]) == [0, 1, 8, 16, 9, 2, 3, 10, 17, 24]
    rows, cols = ZIGZAG // 8, ZIGZAG % 8
    assert (np.diff(rows + cols) >= 0).all() and ZIGZAG[-1] == 63


def test_a_baseline_photo_decodes_to_its_size_and_the_rocket_is_bright_on_a_dark_sky(rocket):
    x = read_jpeg(rocket)
    assert x.shape == (427, 640, 3) and x.dtype == np.uint8
    sky, rocket_body = x[20:80, 250:390].mean(), x[200:350, 312:328].mean()
    assert rocket_body > 150 > 90 > sky, (rocket_body, sky)
    assert x[20:80, 250:390, 2].mean() > x[20:80, 250:390, 0].mean() + 20  # a blue evening sky


def sof(data):
    return data.index(b"\xff\xc0")


def test_progressive_coding_is_left_to_pillow(rocket):
    i = sof(rocket)
    with pytest.raises(NotImplementedError, match="SOF2"):
        read_jpeg(rocket[:i] + b"\xff\xc2" + rocket[i + 2 :])


def exif(orientation):
    """An APP1 segment whose IFD0 holds one tag, the orientation."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    body = b"Exif\0\0MM\0*" + struct.pack(">IH", 8, 1) + entry + struct.pack(">I", 0)
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def test_an_exif_turn_is_left_to_pillow_and_upright_is_read(rocket):
    with pytest.raises(NotImplementedError, match="EXIF"):
        read_jpeg(rocket[:2] + exif(6) + rocket[2:])
    assert np.array_equal(read_jpeg(rocket[:2] + exif(1) + rocket[2:]), read_jpeg(rocket))


@pytest.mark.parametrize("cut", [0.3, 0.9, 0.999])
def test_a_file_cut_short_is_a_value_error(rocket, cut):
    with pytest.raises(ValueError):
        read_jpeg(rocket[: int(len(rocket) * cut)])


def test_image_read_names_the_file_and_says_what_pillow_is_for(rocket, tmp_path, monkeypatch):
    cut = tmp_path / "half.jpg"
    cut.write_bytes(rocket[: len(rocket) // 2])
    with pytest.raises(image.ImageError, match="half.jpg looks like a JPEG file but cannot be decoded"):
        image.read(cut)
    i = sof(rocket)
    progressive = tmp_path / "progressive.jpg"
    progressive.write_bytes(rocket[:i] + b"\xff\xc2" + rocket[i + 2 :])
    monkeypatch.setitem(sys.modules, "PIL", None)  # as where Pillow is not installed
    with pytest.raises(image.ImageError, match="progressive.jpg is a JPEG file that needs Pillow"):
        image.read(progressive)
    whole = tmp_path / "rocket.jpg"
    whole.write_bytes(rocket)
    assert image.read(whole).shape == (427, 640, 3)
