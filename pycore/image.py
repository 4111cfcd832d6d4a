"""Image files to model input in CPython, as the demo pages prepare them: photos as web/image.js
does (`"preprocess": {"kind": "imagenet", ...}` in model.json), drawn digits as web/digits.js does
(`"kind": "mnist"`). The browser tests check the pages against these functions.

PNG is decoded here, with zlib and numpy, and baseline JPEG by pycore/jpeg.py; other JPEGs, GIF,
BMP and WebP go through Pillow if it is installed (pycore itself needs only numpy).
"""

import struct
import zlib

import numpy as np

from .errors import InputError
from .jpeg import read_jpeg

PNG = b"\x89PNG\r\n\x1a\n"
SIGNATURES = [("PNG", PNG), ("JPEG", b"\xff\xd8\xff"), ("GIF", b"GIF8"), ("BMP", b"BM")]
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel (palettes go to Pillow)


class ImageError(InputError):
    """A file that is not an image pycore can read; the message names the file."""


def sniff(head):
    """The image format named by a file's first 12 bytes, or "" when it is none of those above."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for name, sig in SIGNATURES if head.startswith(sig)), "")


def read(path):
    """An image file -> uint8 array (height, width, channels), channels 1 (grey) to 4 (RGBA)."""
    with open(path, "rb") as f:
        data = f.read()
    kind = sniff(data[:12])
    if not kind:
        raise ImageError(f"{path} is not an image (PNG, JPEG, GIF, BMP or WebP)")
    if kind in ("PNG", "JPEG"):
        try:
            return read_png(data) if kind == "PNG" else read_jpeg(data)
        except NotImplementedError:
            pass  # a palette PNG, a progressive JPEG, ...: Pillow reads those
        except (ValueError, zlib.error, struct.error) as e:
            raise ImageError(f"{path} looks like a {kind} file but cannot be decoded ({e})") from None
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise ImageError(
            f"{path} is a {kind} file that needs Pillow to read (pip install pillow; pycore itself "
            "reads PNG and baseline JPEG), or pass the pixels as a .npy array"
        ) from None
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)  # as browsers do: the photo the way it was taken
            return np.asarray(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
    except (OSError, ValueError) as e:
        raise ImageError(f"{path} looks like a {kind} file but cannot be decoded ({e})") from None


def read_png(data):
    """8-bit, non-interlaced PNG bytes -> uint8 array (h, w, channels); NotImplementedError for
    other PNGs, ValueError for broken ones."""
    if data[:8] != PNG:
        raise ValueError("not a PNG")
    at, idat, header = 8, [], None
    while at < len(data):
        (n,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + n]
        if kind == b"IHDR":
            header = w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace or colour not in CHANNELS:
                raise NotImplementedError(f"PNG of depth {depth}, colour {colour}, interlace {interlace}")
        elif kind == b"IDAT":
            idat.append(body)
        at += 12 + n
    if header is None:
        raise ValueError("no IHDR chunk")
    c = CHANNELS[colour]
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
    if raw.size != h * (1 + w * c):
        raise ValueError(f"{raw.size} bytes of pixel data for {w}x{h}x{c}")
    raw = raw.reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), np.int32)
    prev = np.zeros(w * c, np.int32)
    for y in range(h):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + prev) & 255
        elif kind == 1:  # Sub: a running sum along each channel
            row = np.cumsum(line.reshape(w, c), axis=0).reshape(-1) & 255
        elif kind in (3, 4):  # Average and Paeth depend on the decoded pixel to the left: one at a time
            row = np.zeros_like(line)
            for x in range(w * c):
                a = row[x - c] if x >= c else 0
                b, d = prev[x], prev[x - c] if x >= c else 0
                if kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - d
                    pa, pb, pd = abs(p - a), abs(p - b), abs(p - d)
                    pred = a if pa <= pb and pa <= pd else b if pb <= pd else d
                row[x] = (line[x] + pred) & 255
        else:
            raise ValueError(f"unknown filter {kind} on row {y}")
        out[y] = prev = row
    return out.astype(np.uint8).reshape(h, w, c)


def to_input(pixels, preprocess, name="this input"):
    """Pixels (h, w, channels) -> the (1, C, H, W) float32 input `preprocess` (model.json) describes;
    `name` says which input in the error for one that takes no images."""
    kind = preprocess.get("kind")
    if kind == "imagenet":
        keys = ("resize", "crop", "mean", "scale")
        return imagenet(pixels, **{k: preprocess[k] for k in keys if k in preprocess})
    if kind == "mnist":
        grey = to_rgb(pixels, background=_contrasting(pixels)).mean(axis=2) / 255
        if np.median(grey) > 0.5:  # dark ink on light paper: the model was trained on light on dark
            grey = 1 - grey
        lo, hi = preprocess.get("range", (0, 1))
        digit = mnist(grey, preprocess.get("size", 28), preprocess.get("fit", 20))
        return (lo + (hi - lo) * digit)[None, None]
    what = f"its preprocess kind is {kind!r}" if kind else "model.json gives it no preprocess"
    raise InputError(f"{name} takes no image file ({what}): pass a .npy array")


def _contrasting(pixels):
    """Black or white, whichever stands out from the opaque pixels (ink on a transparent ground)."""
    pixels = np.asarray(pixels, np.float64)
    if pixels.ndim < 3 or pixels.shape[2] not in (2, 4):
        return 0
    alpha = pixels[..., -1] / 255
    ink = (pixels[..., :-1].mean(axis=2) * alpha).sum() / max(alpha.sum(), 1e-9)
    return 255 if ink < 128 else 0


def to_rgb(pixels, background=255):
    """Grey, grey+alpha, RGB or RGBA uint8 -> float RGB, alpha composited on `background` (white,
    as web/image.js does)."""
    pixels = np.asarray(pixels, np.float64)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    colour, alpha = (pixels[..., :-1], pixels[..., -1:] / 255) if pixels.shape[2] in (2, 4) else (pixels, 1.0)
    rgb = np.broadcast_to(colour, (*colour.shape[:2], 3)) if colour.shape[2] == 1 else colour
    return rgb * alpha + background * (1 - alpha)


def resize_weights(n, m):
    """(m, n) matrix of an antialiased linear (triangle) filter from n samples to m, as Pillow's BILINEAR."""
    scale = n / m
    support = max(scale, 1.0)
    centre = (np.arange(m) + 0.5) * scale
    x = np.arange(n) + 0.5
    w = np.clip(1 - np.abs(x[None, :] - centre[:, None]) / support, 0, None)
    return w / w.sum(axis=1, keepdims=True)


def imagenet(pixels, resize=256, crop=224, mean=127.0, scale=128.0):
    """Shorter side to `resize`, centre `crop`, (p - mean) / scale, NCHW float32 (1, 3, crop, crop);
    mean and scale are numbers or per-channel [r, g, b] lists in pixel units."""
    rgb = to_rgb(pixels)
    h, w = rgb.shape[:2]
    s = resize / min(w, h)
    tw, th = max(resize, round(w * s)), max(resize, round(h * s))
    small = np.einsum("yh,hwc,xw->yxc", resize_weights(h, th), rgb, resize_weights(w, tw), optimize=True)
    left, top = (tw - crop) // 2, (th - crop) // 2
    small = np.clip(np.round(small[top : top + crop, left : left + crop]), 0, 255)
    return ((small - np.asarray(mean)) / np.asarray(scale)).astype(np.float32).transpose(2, 0, 1)[None]


def write_png(pixels, level=1):
    """uint8 array (h, w) or (h, w, 1|2|3|4) -> PNG bytes (filter 0, zlib at `level`: fast)."""
    pixels = np.asarray(pixels, np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    data = zlib.compress(raw.tobytes(), level)
    return PNG + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def thumbnail(pixels, side):
    """The image shrunk by area averaging so its shorter side is `side` px (never enlarged)."""
    pixels = np.asarray(pixels, np.float64)
    h, w = pixels.shape[:2]
    s = min(1.0, side / min(h, w))
    th, tw = max(1, round(h * s)), max(1, round(w * s))
    small = np.einsum("yh,hw...,xw->yx...", area_matrix(h, th), pixels, area_matrix(w, tw), optimize=True)
    return np.clip(np.round(small), 0, 255).astype(np.uint8)


def area_matrix(n_in, n_out):
    """R[o, i]: weight of source sample i in output sample o when shrinking n_in to n_out."""
    step = n_in / n_out
    lo = np.arange(n_out)[:, None] * step
    i = np.arange(n_in)[None, :]
    return np.clip(np.minimum(lo + step, i + 1) - np.maximum(lo, i), 0.0, None) / step


def mnist(ink, size=28, fit=20, threshold=0.05):
    """Ink (H, W) in [0, 1], light on dark -> (size, size) MNIST-style image in [0, 1]: crop to the
    ink (> threshold), longer side to `fit` by area averaging, centre of mass to the centre."""
    ink = np.asarray(ink, np.float64)
    rows, cols = np.nonzero(ink > threshold)
    out = np.zeros((size, size), np.float32)
    if rows.size == 0:
        return out
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    scale = fit / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = area_matrix(h, nh) @ crop @ area_matrix(w, nw).T
    mass = small.sum()
    cy = small.sum(axis=1) @ (np.arange(nh) + 0.5) / mass
    cx = small.sum(axis=0) @ (np.arange(nw) + 0.5) / mass
    oy, ox = (int(np.floor(size / 2 - c + 0.5)) for c in (cy, cx))  # Math.round: halves go up
    # paste with clipping, as the page does for a digit pushed past the border
    ys, xs = slice(max(0, -oy), min(nh, size - oy)), slice(max(0, -ox), min(nw, size - ox))
    out[ys.start + oy : ys.stop + oy, xs.start + ox : xs.stop + ox] = np.minimum(small[ys, xs], 1.0)
    return out


def affine_theta(p):
    """(B, 2, 3) affine matrices from per-image parameters (arrays of B): "angle" (radians),
    "scale", "aspect" (x scale over y scale), "shear", "shift" ((B, 2), in grid units, 2 / side
    to a pixel). They map output grid coordinates to input ones, so they hold the inverse
    transform, as F.affine_grid takes them."""
    cos, sin = np.cos(p["angle"]), np.sin(p["angle"])
    sx, sy = p["scale"] * p["aspect"], p["scale"]
    m = np.stack([np.stack([cos / sx, sin / sx + p["shear"]], 1), np.stack([-sin / sy, cos / sy], 1)], 1)
    return np.concatenate([m, p["shift"][:, :, None]], 2).astype(np.float32)


def warp(x, th):
    """F.grid_sample(x, F.affine_grid(th, x.shape)) for (B, H, W) x: bilinear, zeros outside,
    align_corners=False throughout."""
    b, h, w = x.shape
    gx = (2 * np.arange(w, dtype=np.float32) + 1) / w - 1
    gy = (2 * np.arange(h, dtype=np.float32) + 1) / h - 1
    gx, gy = gx[None, None, :], gy[None, :, None]
    t = th[:, :, :, None, None]
    sx = t[:, 0, 0] * gx + t[:, 0, 1] * gy + t[:, 0, 2]  # (B, H, W) in [-1, 1] grid units
    sy = t[:, 1, 0] * gx + t[:, 1, 1] * gy + t[:, 1, 2]
    ix = ((sx + 1) * w - 1) / 2
    iy = ((sy + 1) * h - 1) / 2
    x0, y0 = np.floor(ix), np.floor(iy)
    fx, fy = ix - x0, iy - y0
    # a one-pixel zero border: every corner outside the image reads a zero from it
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1))).reshape(-1)
    row = w + 2
    base = (np.arange(b, dtype=np.int64) * ((h + 2) * row))[:, None, None]
    cx0 = np.clip(x0, -1, w).astype(np.int64) + 1
    cx1 = np.clip(x0 + 1, -1, w).astype(np.int64) + 1
    cy0 = (np.clip(y0, -1, h).astype(np.int64) + 1) * row + base
    cy1 = (np.clip(y0 + 1, -1, h).astype(np.int64) + 1) * row + base
    top = padded[cy0 + cx0] * (1 - fx) + padded[cy0 + cx1] * fx
    bottom = padded[cy1 + cx0] * (1 - fx) + padded[cy1 + cx1] * fx
    return top * (1 - fy) + bottom * fy
