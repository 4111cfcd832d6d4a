"""pycore.load and Model, as a newcomer meets them: the folder or its model.json, one array or a dict
of named inputs, a repr that says what the model is, and errors that name what is wrong."""

import json
import math
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from graphs import doc, node

import pycore
from pycore import quantize, safetensors
from pycore.errors import InputError, ModelNotFound

ROOT = Path(__file__).resolve().parents[2]
MNIST = ROOT / "models" / "mnist"


def header(path):
    """weights.safetensors' JSON header, read here without pycore."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return {k: v for k, v in json.loads(data[8 : 8 + n]).items() if k != "__metadata__"}


def digit(seed=0):
    return np.random.default_rng(seed).random((1, 1, 28, 28), dtype=np.float32)


def two_inputs(folder):
    """A model with inputs a [2, 3] and b [3], outputs sum = a + b and product = a * b * w."""
    nodes = [node("Add", ["a", "b"], ["sum"], name="add"), node("Mul", ["a", "w"], ["aw"], name="mul1")]
    nodes.append(node("Mul", ["aw", "b"], ["product"], name="mul2"))
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps(doc(nodes, {"a": (2, 3), "b": (3,)}, ["sum", "product"])))
    w = np.array([1.0, 2.0, 3.0], np.float32)
    (folder / "weights.safetensors").write_bytes(safetensors.write({"w": w}))
    return pycore.load(folder), w


@pytest.fixture(scope="module")
def mnist():
    return pycore.load(MNIST)


def test_the_folder_and_its_model_json_load_the_same_model(mnist):
    x = digit()
    by_file = pycore.load(MNIST / "model.json")
    by_str = pycore.load(str(MNIST))
    np.testing.assert_array_equal(by_file.run(x), mnist.run(x))
    np.testing.assert_array_equal(by_str.run(x), mnist.run(x))


def test_one_array_gives_the_first_output_and_a_dict_gives_every_output(mnist):
    x = digit(1)
    probs = mnist.run(x)
    assert isinstance(probs, np.ndarray) and probs.shape == (1, 10)
    assert abs(float(probs.sum()) - 1) < 1e-5
    outputs = mnist.run({"image": x})
    assert list(outputs) == ["probabilities"]
    np.testing.assert_array_equal(outputs["probabilities"], probs)


def test_a_dict_runs_a_model_of_several_inputs_and_returns_every_output(tmp_path):
    model, w = two_inputs(tmp_path / "two")
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([10.0, -1.0, 0.5], np.float32)
    out = model.run({"b": b, "a": a})
    assert list(out) == ["sum", "product"]
    np.testing.assert_allclose(out["sum"], a + b)
    np.testing.assert_allclose(out["product"], a * w * b)


def test_a_model_without_inputs_runs_on_an_empty_dict(tmp_path):
    """A graph of constants (ONNX's test_constant) takes no inputs: {} runs it, an array is refused."""
    folder = tmp_path / "constant"
    folder.mkdir()
    nodes = [node("Identity", ["values"], ["y"])]
    (folder / "model.json").write_text(json.dumps(doc(nodes, {})))
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    (folder / "weights.safetensors").write_bytes(safetensors.write({"values": values}))
    model = pycore.load(folder)
    assert model.input is None and "takes no inputs -> y [2, 3]" in repr(model)
    np.testing.assert_array_equal(model.run({})["y"], values)
    with pytest.raises(InputError, match="takes no inputs: run it with {}"):
        model.run(values)


def test_input_errors_name_the_input(tmp_path, mnist):
    model, _ = two_inputs(tmp_path / "two")
    a, b = np.zeros((2, 3)), np.zeros(3)
    with pytest.raises(InputError, match=r"2 inputs \(a \[2, 3\], b \[3\]\): pass a dict"):
        model.run(a)
    with pytest.raises(InputError, match="input 'b' is missing"):
        model.run({"a": a})
    with pytest.raises(InputError, match="no input 'c'; its inputs: a"):
        model.run({"a": a, "b": b, "c": b})
    with pytest.raises(pycore.ShapeError, match=r"input 'b' must have shape \[3\], got \[4\]"):
        model.run({"a": a, "b": np.zeros(4)})
    with pytest.raises(InputError, match="input 'image' must be numbers"):
        mnist.run({"image": "a photo"})
    assert issubclass(pycore.ShapeError, InputError) and issubclass(InputError, pycore.PycoreError)


def test_repr_says_name_backend_shapes_labels_and_parameters(mnist):
    parameters = sum(math.prod(t["shape"]) for t in header(MNIST / "weights.safetensors").values())
    text = repr(mnist)
    assert text.startswith("<Model 'mnist-cnn' on cpu: image [1, 1, 28, 28] -> probabilities [1, 10]")
    assert "; 10 labels;" in text and f"{parameters:,} parameters (fp32)>" in text
    assert mnist.stored.parameters == parameters
    assert mnist.stored.bytes == (MNIST / "weights.safetensors").stat().st_size
    ops = [n["op"] for n in json.loads((MNIST / "model.json").read_text())["nodes"]]
    assert mnist.stored.ops == {op: ops.count(op) for op in dict.fromkeys(ops)}


@pytest.mark.parametrize("fmt", ["fp16", "int8"])
def test_stored_format_and_parameters_of_smaller_weights(tmp_path, fmt, mnist):
    doc_ = json.loads((MNIST / "model.json").read_text())
    weights = safetensors.read((MNIST / "weights.safetensors").read_bytes())
    shutil.copy(MNIST / "model.json", tmp_path / "model.json")
    (tmp_path / "weights.safetensors").write_bytes(safetensors.write(quantize.quantize(doc_, weights, fmt)))
    model = pycore.load(tmp_path)
    stored = header(tmp_path / "weights.safetensors")
    assert model.stored.format == fmt
    assert (
        model.stored.parameters
        == mnist.stored.parameters
        == sum(math.prod(t["shape"]) for k, t in stored.items() if not k.endswith("::scale"))
    )
    assert f"parameters ({fmt})>" in repr(model)
    assert {t["dtype"] for t in stored.values()} >= {"F16" if fmt == "fp16" else "I8"}


def test_load_names_what_is_not_a_model(tmp_path):
    with pytest.raises(ModelNotFound, match="no such model folder or file"):
        pycore.load(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):  # ModelNotFound is one, as open()'s error was
        pycore.load(tmp_path / "missing")
    with pytest.raises(ModelNotFound, match="has no model.json.*pycore convert"):
        pycore.load(tmp_path)
    (tmp_path / "net.onnx").write_bytes(b"\x08\x07")
    with pytest.raises(ModelNotFound, match="is an ONNX model: convert it first"):
        pycore.load(tmp_path / "net.onnx")
    with pytest.raises(ModelNotFound, match="give its folder, or the model.json in it"):
        pycore.load(MNIST / "weights.safetensors")
    shutil.copy(MNIST / "model.json", tmp_path / "model.json")
    with pytest.raises(ModelNotFound, match="has no weights.safetensors beside it"):
        pycore.load(tmp_path / "model.json")
    (tmp_path / "model.json").write_bytes(b"\xff\xfe\x00binary")
    shutil.copy(MNIST / "weights.safetensors", tmp_path / "weights.safetensors")
    with pytest.raises(pycore.GraphError, match="model.json: not valid JSON"):
        pycore.load(tmp_path)


def test_labels_must_name_every_class_of_the_first_output(tmp_path):
    d = json.loads((MNIST / "model.json").read_text())
    weights = (MNIST / "weights.safetensors").read_bytes()
    d["labels"] = ["zero", "one"]
    with pytest.raises(
        pycore.GraphError, match=r"2 labels, but output 'probabilities' \(shape \[1, 10\]\) has 10"
    ):
        pycore.Model.from_bytes(json.dumps(d), weights)
    d["labels"] = list(range(10))
    with pytest.raises(pycore.GraphError, match="labels must be a list of strings"):
        pycore.Model.from_bytes(json.dumps(d), weights)


def test_top_k_refuses_values_its_labels_do_not_cover(mnist):
    probs = mnist.run(digit(2))
    best = mnist.top_k(probs, 3)
    assert [label for label, _ in best] == [str(i) for i in np.argsort(-probs[0])[:3]]
    with pytest.raises(pycore.ShapeError, match="the 10 values of one item, got 20"):
        mnist.top_k(np.concatenate([probs, probs]))
