"""Images for the classify tests without Pillow: the PNG reader and writer (zlib + numpy) and the
numpy reference of the ImageNet preprocessing the page does in web/image.js are pycore.image's.
"""

from pycore.image import imagenet as preprocess  # noqa: F401
from pycore.image import read_png, write_png  # noqa: F401  (the tests import them from here)
