"""Canvas-like distortions of MNIST digits, in vectorised numpy (host-side data preparation).

A port of the PyTorch augmentation the MNIST demo CNN used to be trained with, same intent and
parameters: each digit is upsampled 2x (bilinear, like F.interpolate with align_corners=False),
its strokes thickened or thinned (5x5 max filter / 3x3 min filter at 2x, i.e. up to 1 px and
0.5 px per side at 28x28, blended in by a random amount), then warped by a random affine
(rotation +-15 deg, scale 0.8-1.2, aspect +-10%, shear +-0.15, shift +-2.5 px) sampled
bilinearly with zero padding (F.affine_grid + F.grid_sample, align_corners=False), averaged
2x2 back to 28x28, renormalised to a peak of 1, and half of the digits sharpened, 15% blurred.

`augment(x, rng)` draws the random parameters from a numpy Generator and `distort(x, params)`
applies them, so the warp itself is deterministic and can be checked against a reference.
"""

import math

import numpy as np

from pycore.image import affine_theta, warp

F32 = np.float32


def draw(b, rng):
    """The random parameters of `b` distortions, one value (or pair, for shift) per digit."""
    u = lambda *shape: rng.random(shape, dtype=F32)  # noqa: E731
    return {
        "mode": rng.integers(0, 3, b),  # 0 as is, 1 thicker, 2 thinner
        "amount": u(b),
        "angle": (u(b) * 2 - 1) * F32(math.radians(15)),
        "scale": F32(0.8) + F32(0.4) * u(b),
        "aspect": F32(0.9) + F32(0.2) * u(b),
        "shear": (u(b) * 2 - 1) * F32(0.15),
        "shift": (u(b, 2) * 2 - 1) * F32(2.5 / 14),  # in grid units: 2.5 px of 28
        "gain": F32(1.5) + u(b),  # contrast of the sharpened digits
        "edge": u(b),  # < 0.5 sharpen, < 0.65 blur, else leave
    }


def augment(x, rng):
    """Random distortions of a batch (B, 28, 28) float32 in [0, 1]; `rng` makes them reproducible."""
    return distort(x, draw(len(x), rng))


def distort(x, p):
    x = np.asarray(x, F32)
    up = upsample2(x)
    thick = _filter(up, 5, np.maximum, -np.inf)
    thin = _filter(up, 3, np.minimum, np.inf)
    amount = p["amount"][:, None, None]
    mode = p["mode"][:, None, None]
    up = np.where(mode == 1, up + amount * (thick - up), up)
    up = np.where(mode == 2, up + amount * (thin - up), up)
    x = downsample2(warp(up, affine_theta(p)))
    # resampling softens the ink: bring the peak back to 1, as on the canvas, then sharpen half of
    # the digits (crisp canvas anti-aliasing) and blur a few (softer pens)
    x = x / np.maximum(x.max((1, 2), keepdims=True), F32(1e-3))
    gain = p["gain"][:, None, None]
    sharp = np.maximum(np.clip((x - F32(0.5)) * gain + F32(0.5), 0, 1), x * F32(0.5))
    edge = p["edge"][:, None, None]
    x = np.where(edge < 0.5, sharp, np.where(edge < 0.65, blur3(x), x))
    return np.clip(x, 0, 1).astype(F32, copy=False)


def upsample2(x):
    """2x bilinear upsampling with align_corners=False (edge values repeat past the border)."""
    for axis in (1, 2):
        xp = np.concatenate([_take(x, axis, [0]), x, _take(x, axis, [-1])], axis)
        n = x.shape[axis]
        prev, mid, nxt = (_take(xp, axis, slice(i, i + n)) for i in range(3))
        even = F32(0.25) * prev + F32(0.75) * mid
        odd = F32(0.75) * mid + F32(0.25) * nxt
        x = np.stack([even, odd], axis + 1).reshape(*x.shape[:axis], 2 * n, *x.shape[axis + 1 :])
    return x


def _take(x, axis, index):
    return x[:, index] if axis == 1 else x[:, :, index]


def _filter(x, k, reduce, pad):
    """k x k max (or min) filter, stride 1, 'same' size, the padding never winning (max_pool2d)."""
    r = k // 2
    b, h, w = x.shape
    xp = np.pad(x, ((0, 0), (r, r), (0, 0)), constant_values=pad)
    rows = xp[:, 0:h].copy()
    for i in range(1, k):
        reduce(rows, xp[:, i : i + h], out=rows)
    xp = np.pad(rows, ((0, 0), (0, 0), (r, r)), constant_values=pad)
    out = xp[:, :, 0:w].copy()
    for j in range(1, k):
        reduce(out, xp[:, :, j : j + w], out=out)
    return out


def downsample2(x):
    """2x2 average pooling, stride 2."""
    return F32(0.25) * (x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2])


def blur3(x):
    """[1 2 1] / 4 in each direction, zero padding (a 3x3 conv with padding 1)."""
    xp = np.pad(x, ((0, 0), (1, 1), (0, 0)))
    x = F32(0.25) * xp[:, :-2] + F32(0.5) * xp[:, 1:-1] + F32(0.25) * xp[:, 2:]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1)))
    return F32(0.25) * xp[:, :, :-2] + F32(0.5) * xp[:, :, 1:-1] + F32(0.25) * xp[:, :, 2:]
