"""Images for the classify tests without Pillow: a small PNG reader and writer (zlib + numpy) and a
numpy reference of the ImageNet preprocessing the page does in web/image.js.
"""

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel (palette images are not needed)


def read_png(data):
    """8-bit, non-interlaced PNG bytes -> uint8 array (h, w, channels)."""
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG")
    at, idat = 8, []
    while at < len(data):
        (n,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace or colour not in CHANNELS:
                raise ValueError(f"unsupported PNG: depth {depth}, colour {colour}, interlace {interlace}")
        elif kind == b"IDAT":
            idat.append(body)
        at += 12 + n
    c = CHANNELS[colour]
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), np.int32)
    prev = np.zeros(w * c, np.int32)
    for y in range(h):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + prev) & 255
        else:  # Sub, Average and Paeth depend on the pixel to the left: one pixel at a time
            row = np.zeros_like(line)
            for x in range(w * c):
                a = row[x - c] if x >= c else 0
                b, d = prev[x], prev[x - c] if x >= c else 0
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - d
                    pa, pb, pd = abs(p - a), abs(p - b), abs(p - d)
                    pred = a if pa <= pb and pa <= pd else b if pb <= pd else d
                row[x] = (line[x] + pred) & 255
        out[y] = prev = row
    return out.astype(np.uint8).reshape(h, w, c)


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
        SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1))
        + chunk(b"IEND", b"")
    )


def to_rgb(pixels):
    """Grey, grey+alpha, RGB or RGBA uint8 -> float RGB, alpha composited on white (as web/image.js)."""
    pixels = np.asarray(pixels, np.float64)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    colour, alpha = (pixels[..., :-1], pixels[..., -1:] / 255) if pixels.shape[2] in (2, 4) else (pixels, 1.0)
    rgb = np.broadcast_to(colour, (*colour.shape[:2], 3)) if colour.shape[2] == 1 else colour
    return rgb * alpha + 255 * (1 - alpha)


def resize_weights(n, m):
    """(m, n) matrix of an antialiased linear (triangle) filter from n samples to m, as Pillow's BILINEAR."""
    scale = n / m
    support = max(scale, 1.0)
    centre = (np.arange(m) + 0.5) * scale
    x = np.arange(n) + 0.5
    w = np.clip(1 - np.abs(x[None, :] - centre[:, None]) / support, 0, None)
    return w / w.sum(axis=1, keepdims=True)


def preprocess(pixels, resize=256, crop=224, mean=127.0, scale=128.0):
    """Shorter side to `resize`, centre `crop`, (p - mean) / scale, NCHW float32 (1, 3, crop, crop)."""
    rgb = to_rgb(pixels)
    h, w = rgb.shape[:2]
    s = resize / min(w, h)
    tw, th = max(resize, round(w * s)), max(resize, round(h * s))
    small = np.einsum("yh,hwc,xw->yxc", resize_weights(h, th), rgb, resize_weights(w, tw), optimize=True)
    left, top = (tw - crop) // 2, (th - crop) // 2
    small = np.clip(np.round(small[top : top + crop, left : left + crop]), 0, 255)
    return ((small - mean) / scale).astype(np.float32).transpose(2, 0, 1)[None]
