"""Baseline JPEG decoding with numpy, for photos in CPython without Pillow (the build's sample
thumbnails, `python3 -m pycore run MODEL --input photo.jpg`).

What it reads: baseline sequential JPEG (SOF0/SOF1, 8-bit, Huffman coded), grey or YCbCr with any
chroma subsampling, one interleaved scan, restart intervals. What it refuses with
NotImplementedError, so the caller can hand the file to Pillow: progressive, lossless or arithmetic
coded files, several scans, CMYK, and an EXIF orientation other than upright (browsers would turn
the photo; this decoder does not). Broken files raise ValueError.

The steps are the standard's (ITU T.81): Huffman-decode each 8x8 block's quantised coefficients,
multiply by the quantisation table, inverse DCT (one matrix product for all blocks), assemble the
planes, repeat subsampled chroma, convert YCbCr to RGB as JFIF does.
"""

import re
import struct

import numpy as np

# the zigzag scan order: ZIGZAG[i] is the natural (row-major) index of the i-th coded coefficient
ZIGZAG = np.array(
    sorted(range(64), key=lambda k: (k // 8 + k % 8, k // 8 if (k // 8 + k % 8) % 2 else k % 8))
)
# the 1-d inverse DCT basis: x = IDCT[x, u] @ F[u]
IDCT = np.array(
    [
        [(np.sqrt(0.5) if u == 0 else 1.0) * np.cos((2 * x + 1) * u * np.pi / 16) / 2 for u in range(8)]
        for x in range(8)
    ]
)


def read_jpeg(data):
    """JPEG bytes -> uint8 array (height, width, 1 or 3)."""
    try:
        return _read(data)
    except (IndexError, struct.error):
        raise ValueError("the JPEG data ends or breaks off early") from None


def _read(data):
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    quant, huffman, frame, restart, pos = {}, {}, None, 0, 2
    while True:
        marker, body, pos = _segment(data, pos)
        if marker in (0xC0, 0xC1):
            frame = _frame(body)
        elif 0xC2 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            raise NotImplementedError(f"JPEG coding SOF{marker - 0xC0} (only baseline is decoded here)")
        elif marker == 0xDB:
            _quant_tables(body, quant)
        elif marker == 0xC4:
            _huffman_tables(body, huffman)
        elif marker == 0xDD:
            (restart,) = struct.unpack(">H", body[:2])
        elif marker == 0xE1 and body.startswith(b"Exif\0\0") and _orientation(body[6:]) not in (None, 1):
            raise NotImplementedError("a JPEG turned by its EXIF orientation")
        elif marker == 0xDA:
            break
    if frame is None:
        raise ValueError("JPEG without a frame header before its scan")
    height, width, comps = frame
    if len(comps) not in (1, 3):
        raise NotImplementedError(f"JPEG with {len(comps)} components")
    scan = [(body[1 + 2 * i], body[2 + 2 * i] >> 4, body[2 + 2 * i] & 15) for i in range(body[0])]
    if [c for c, _, _ in scan] != [c["id"] for c in comps]:
        raise NotImplementedError("a JPEG in several scans")
    for (_, dc, ac), c in zip(scan, comps):
        if (0, dc) not in huffman or (1, ac) not in huffman or c["q"] not in quant:
            raise ValueError("JPEG scan uses a table it does not define")
        c["dc"], c["ac"] = huffman[0, dc], huffman[1, ac]
    blocks = _decode_scan(data, pos, comps, width, height, restart)
    planes = []
    hmax, vmax = max(c["h"] for c in comps), max(c["v"] for c in comps)
    for c, coef in zip(comps, blocks):
        pixels = IDCT @ (coef * quant[c["q"]]).reshape(-1, 8, 8) @ IDCT.T + 128  # (blocks, 8, 8)
        rows, cols = c["rows"], c["cols"]
        plane = pixels.reshape(rows, cols, 8, 8).transpose(0, 2, 1, 3).reshape(rows * 8, cols * 8)
        plane = plane.repeat(vmax // c["v"], 0).repeat(hmax // c["h"], 1)
        planes.append(plane[:height, :width])
    if len(planes) == 1:
        return np.clip(np.rint(planes[0]), 0, 255).astype(np.uint8)[:, :, None]
    y, cb, cr = planes[0], planes[1] - 128, planes[2] - 128
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _segment(data, pos):
    """(marker, body, position after it) of the marker segment at `pos`."""
    while pos < len(data) and data[pos] == 0xFF and data[pos + 1] == 0xFF:
        pos += 1  # fill bytes
    if pos + 4 > len(data) or data[pos] != 0xFF:
        raise ValueError(f"JPEG marker expected at byte {pos}")
    marker, (length,) = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])
    if length < 2 or pos + 2 + length > len(data):
        raise ValueError("JPEG segment runs past the end of the file")
    return marker, data[pos + 4 : pos + 2 + length], pos + 2 + length


def _frame(body):
    precision, height, width, n = struct.unpack(">BHHB", body[:6])
    if precision != 8:
        raise NotImplementedError(f"{precision}-bit JPEG")
    if not height or not width:
        raise NotImplementedError("a JPEG whose height is given after its scan")
    comps = [
        {"id": body[6 + 3 * i], "h": body[7 + 3 * i] >> 4, "v": body[7 + 3 * i] & 15, "q": body[8 + 3 * i]}
        for i in range(n)
    ]
    hmax, vmax = max(c["h"] for c in comps), max(c["v"] for c in comps)
    mcu_cols, mcu_rows = -(-width // (8 * hmax)), -(-height // (8 * vmax))
    for c in comps:
        if not c["h"] or not c["v"] or hmax % c["h"] or vmax % c["v"]:
            raise NotImplementedError(f"JPEG sampling factors {[(c['h'], c['v']) for c in comps]}")
        c["rows"], c["cols"] = mcu_rows * c["v"], mcu_cols * c["h"]
    return height, width, comps


def _quant_tables(body, quant):
    pos = 0
    while pos < len(body):
        wide, table = body[pos] >> 4, body[pos] & 15
        size = 128 if wide else 64
        values = np.frombuffer(body[pos + 1 : pos + 1 + size], ">u2" if wide else np.uint8)
        natural = np.empty(64)
        natural[ZIGZAG] = values
        quant[table] = natural
        pos += 1 + size


def _huffman_tables(body, huffman):
    """Each table as two 65536-entry lookups indexed by the next 16 bits: symbol and code length."""
    pos = 0
    while pos < len(body):
        kind, table = body[pos] >> 4, body[pos] & 15
        counts = body[pos + 1 : pos + 17]
        symbols = body[pos + 17 : pos + 17 + sum(counts)]
        pos += 17 + sum(counts)
        lookup_symbol, lookup_length = np.zeros(1 << 16, np.int32), np.zeros(1 << 16, np.int32)
        code, k = 0, 0
        for length in range(1, 17):
            for _ in range(counts[length - 1]):
                span = 1 << (16 - length)
                lookup_symbol[code * span : (code + 1) * span] = symbols[k]
                lookup_length[code * span : (code + 1) * span] = length
                code, k = code + 1, k + 1
            code <<= 1
        huffman[kind, table] = (lookup_symbol.tolist(), lookup_length.tolist())


def _orientation(tiff):
    """The EXIF orientation tag (0x0112) of IFD0, or None."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        if len(entry) == 12 and struct.unpack(order + "H", entry[:2])[0] == 0x0112:
            return struct.unpack(order + "H", entry[8:10])[0]
    return None


def _entropy_segments(data, pos):
    """The scan's entropy-coded bytes, unstuffed (FF 00 -> FF), split at its restart markers."""
    end = data.find(b"\xff\xd9", pos)
    coded = data[pos : end if end >= 0 else len(data)]
    return [p.replace(b"\xff\x00", b"\xff") for p in re.split(rb"\xff[\xd0-\xd7]", coded)]


def _windows(segment):
    """For each bit position of `segment`, the 16 bits from there on (zeros past its end), as ints."""
    bits = np.unpackbits(np.frombuffer(segment + b"\0\0\0", np.uint8)).astype(np.int64)
    n = len(bits) - 16
    window = np.zeros(n, np.int64)
    for k in range(16):
        window = (window << 1) | bits[k : k + n]
    return window.tolist()


def _decode_scan(data, pos, comps, width, height, restart):
    """The quantised coefficients of every block, natural order, one (rows * cols, 64) array a component."""
    mcu_rows, mcu_cols = comps[0]["rows"] // comps[0]["v"], comps[0]["cols"] // comps[0]["h"]
    out = [np.zeros((c["rows"] * c["cols"], 64)) for c in comps]
    total = mcu_rows * mcu_cols
    per_segment = restart or total
    segments = _entropy_segments(data, pos)
    if len(segments) < -(-total // per_segment):
        raise ValueError("JPEG scan ends before its last block")
    for first in range(0, total, per_segment):
        window, bit, preds = _windows(segments[first // per_segment]), 0, [0] * len(comps)
        for mcu in range(first, min(first + per_segment, total)):
            my, mx = divmod(mcu, mcu_cols)
            for ci, c in enumerate(comps):
                (dc_sym, dc_len), (ac_sym, ac_len) = c["dc"], c["ac"]
                for by in range(c["v"]):
                    for bx in range(c["h"]):
                        coef = out[ci][(my * c["v"] + by) * c["cols"] + mx * c["h"] + bx]
                        if bit >= len(window):
                            raise ValueError("JPEG scan ends before its last block")
                        code = window[bit]
                        s, bit = dc_sym[code], bit + dc_len[code]
                        if s:
                            v, bit = window[bit] >> (16 - s), bit + s
                            preds[ci] += v if v >= 1 << (s - 1) else v - (1 << s) + 1
                        coef[0] = preds[ci]
                        k = 1
                        while k < 64:
                            code = window[bit]
                            rs, bit = ac_sym[code], bit + ac_len[code]
                            r, s = rs >> 4, rs & 15
                            if not s:
                                if r != 15:
                                    break  # end of block
                                k += 16
                                continue
                            k += r
                            if k > 63:
                                raise ValueError("JPEG block has more than 64 coefficients")
                            v, bit = window[bit] >> (16 - s), bit + s
                            coef[ZIGZAG[k]] = v if v >= 1 << (s - 1) else v - (1 << s) + 1
                            k += 1
    return out
