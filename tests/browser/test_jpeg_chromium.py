"""pycore/jpeg.py against Chromium's own JPEG decoder (libjpeg-turbo) on the classify demo's rocket
photo, without colour management on either side: the two integer/float inverse DCTs round apart by
a level or two at most, so the mean difference must stay under half a level and the worst under 8."""

import base64

import numpy as np

import build
from pycore.jpeg import read_jpeg

DECODE = """async () => {
  const blob = await (await fetch("samples/rocket.jpg")).blob();
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let text = "";
  for (let i = 0; i < rgba.length; i += 8192) text += String.fromCharCode(...rgba.subarray(i, i + 8192));
  return [bitmap.height, bitmap.width, btoa(text)];
}"""


def test_baseline_jpeg_decodes_as_chromium_decodes_it(page, site):
    page.goto(f"{site}/demos/classify/index.html")
    height, width, data = page.evaluate(DECODE)
    theirs = np.frombuffer(base64.b64decode(data), np.uint8).reshape(height, width, 4)[:, :, :3]
    ours = read_jpeg((build.DIST / "demos/classify/samples/rocket.jpg").read_bytes())
    diff = np.abs(ours.astype(int) - theirs)
    assert ours.shape == theirs.shape
    print(f"mean difference {diff.mean():.3f} levels, worst {diff.max()}")
    assert diff.mean() < 0.5 and diff.max() < 8, (diff.mean(), diff.max())
