"""Models of the kinds users bring (tools/user_models.py: MobileNetV3-, ConvNeXt-, ViT- and
U-Net-style, each exported by torch.onnx.export's TorchScript exporter at opset 17 and its dynamo
exporter at opset 18; the files are fixtures) convert and match onnxruntime on the CPU path.
tests/gpu/test_user_models_webgpu.py runs them on WebGPU."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from pycore import passes
from pycore.cpu import CPUBackend
from pycore.onnx import convert

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "user_models"
FILES = sorted(p.name for p in FIXTURES.glob("*.onnx"))
# the ops each is there for, as the exporters write them (GELU is Erf at opsets 17 and 18): a
# fixture that lost one (exported another way, say) would no longer test it
PATTERNS = {
    "mobilenetv3": {"HardSwish", "HardSigmoid", "ReduceMean", "Mul"},
    "convnext": {"LayerNormalization", "Erf", "Transpose", "Conv"},
    "vit": {"LayerNormalization", "Erf", "Softmax", "MatMul", "Concat", "Reshape"},
    "unet": {"ConvTranspose", "Concat", "Resize", "MaxPool"},
}


def example(session):
    shape = session.get_inputs()[0].shape
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def reference(name):
    """(input, onnxruntime's output) for a fixture."""
    data = (FIXTURES / name).read_bytes()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = example(session)
    return x, session.run(None, {session.get_inputs()[0].name: x})[0]


def loaded(name):
    model = onnx.load(FIXTURES / name)
    missing = PATTERNS[name.split("-")[0]] - {n.op_type for n in model.graph.node}
    assert not missing, f"{name} no longer holds {sorted(missing)}"
    return passes.optimize(convert(model))


def test_every_architecture_comes_from_both_exporters():
    assert FILES == sorted(f"{m}-{e}.onnx" for m in PATTERNS for e in ("dynamo", "torchscript"))


@pytest.mark.parametrize("name", FILES)
def test_user_model_matches_onnxruntime_on_the_cpu_path(name):
    graph = loaded(name)
    x, want = reference(name)
    got = CPUBackend(graph).run_sync({graph.inputs[0].name: x})[graph.outputs[0]]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(np.abs(want).max()))
