"""Bad input gives a clear pycore error that names the file, tensor, node or shape at fault."""

import json
import struct

import numpy as np
import pytest
from graphs import doc, node

import pycore
from pycore import safetensors
from pycore.graph import Graph
from pycore.model import Model

NAME = "mnist/weights.safetensors"


def weights_file():
    return safetensors.write(
        {
            "conv.weight": np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3),
            "conv.bias": np.ones(2, np.float32),
            "fc.weight": np.zeros((5, 7), np.float32),
        }
    )


def raw(header, data=b"", pad=True):
    """A safetensors file with the given header (a dict, or bytes taken as they are)."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + data


def bad(data, *words):
    """Reading `data` fails with a SafetensorsError naming the file and every one of `words`."""
    with pytest.raises(pycore.SafetensorsError) as e:
        safetensors.read(data, NAME)
    msg = str(e.value)
    assert NAME in msg, msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    assert isinstance(e.value, pycore.PycoreError)
    return msg


# --- safetensors --------------------------------------------------------------------------------


def test_safetensors_error_is_a_pycore_error():
    assert issubclass(pycore.SafetensorsError, pycore.PycoreError)
    assert issubclass(pycore.SafetensorsError, ValueError)


@pytest.mark.parametrize("cut", [0, 1, 7])
def test_truncated_inside_the_length(cut):
    bad(weights_file()[:cut], "truncated")


@pytest.mark.parametrize("where", [0.0, 0.3, 0.5, 0.99])
def test_truncated_inside_the_header(where):
    data = weights_file()
    (n,) = struct.unpack("<Q", data[:8])
    bad(data[: 8 + int(n * where)], "truncated")


@pytest.mark.parametrize("missing", [1, 4, 17, 36])
def test_truncated_inside_the_data(missing):
    data = weights_file()
    bad(data[:-missing], "truncated")


def test_every_truncation_is_caught():
    """Whatever byte the download stops at, the result is an error, never a short array."""
    data = weights_file()
    for cut in range(len(data)):
        with pytest.raises(pycore.SafetensorsError, match=NAME):
            safetensors.read(data[:cut], NAME)


def test_header_length_larger_than_the_file():
    data = weights_file()
    bad(struct.pack("<Q", len(data) * 3) + data[8:], "header", "truncated")


def test_header_length_absurd():
    bad(struct.pack("<Q", 2**63) + b"{}", "header")


@pytest.mark.parametrize(
    "header",
    [b"{not json}", b'{"a": ', b"\xff\xfe\x00garbage", b"", b"<html><body>404</body></html>"],
)
def test_header_not_json(header):
    bad(raw(header), "JSON")


@pytest.mark.parametrize("header", [[1, 2], "weights", 3, None])
def test_header_not_an_object(header):
    bad(raw(header), "JSON object")


def test_html_error_page_instead_of_weights():
    """A server answering 404 with a page: the first 8 bytes read as a huge header length."""
    bad(b"<!DOCTYPE html><html><body>Not Found</body></html>", "header")


def test_offsets_beyond_the_data():
    header = {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    bad(raw(header, b"\0" * 8), "'w'", "16")


def test_offsets_start_after_end():
    header = {"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}
    bad(raw(header, b"\0" * 8), "'w'")


def test_negative_offsets():
    header = {"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}
    bad(raw(header, b"\0" * 8), "'w'")


@pytest.mark.parametrize(
    "dtype,shape,span",
    [("F32", [2, 3], 20), ("F32", [2, 3], 28), ("F16", [4], 16), ("I64", [], 4), ("U8", [0], 1)],
)
def test_offsets_span_differs_from_dtype_and_shape(dtype, shape, span):
    header = {"w": {"dtype": dtype, "shape": shape, "data_offsets": [0, span]}}
    bad(raw(header, b"\0" * 32), "'w'", dtype, str(span))


@pytest.mark.parametrize("dtype", ["F8", "Q4", "f32", "float32", "", 7, None])
def test_unknown_dtype(dtype):
    header = {"w": {"dtype": dtype, "shape": [1], "data_offsets": [0, 4]}}
    bad(raw(header, b"\0" * 4), "'w'", "dtype")


def test_overlapping_tensors():
    header = {
        "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
    }
    bad(raw(header, b"\0" * 16), "'a'", "'b'", "overlap")


@pytest.mark.parametrize("shape", [[-1], [2, -3], ["2"], [1.5], "4", None, {"0": 4}, [[2]]])
def test_invalid_shape(shape):
    header = {"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 8]}}
    bad(raw(header, b"\0" * 8), "'w'", "shape")


@pytest.mark.parametrize(
    "shape,span", [([2**40, 2**40, 2**40], 8), ([2**64], 8), ([2**63 - 1, 2], 8), ([2**62, 4], 0)]
)
def test_shape_too_large(shape, span):
    """An element count that does not fit in 64 bits must not wrap around to the span given."""
    header = {"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, span]}}
    bad(raw(header, b"\0" * 8), "'w'")


@pytest.mark.parametrize("offsets", [[0], [0, 4, 8], "0-4", [0.0, 4.0], None])
def test_invalid_offsets(offsets):
    header = {"w": {"dtype": "F32", "shape": [1], "data_offsets": offsets}}
    bad(raw(header, b"\0" * 8), "'w'", "data_offsets")


@pytest.mark.parametrize(
    "info", [{"dtype": "F32", "shape": [1]}, {"shape": [1], "data_offsets": [0, 4]}, [1], "F32"]
)
def test_incomplete_tensor_entry(info):
    bad(raw({"w": info}, b"\0" * 4), "'w'")


def test_corrupt_weights_through_model_from_bytes():
    """The name the user sees is the model folder's file, as the page would show it."""
    model_json = json.dumps(doc([node("Relu", ["x"])], {"x": (1, 4)}))
    with pytest.raises(pycore.PycoreError) as e:
        Model.from_bytes(model_json, weights_file()[:50], source="mnist")
    assert isinstance(e.value, pycore.SafetensorsError)
    assert NAME in str(e.value)


def test_write_refuses_unstorable_dtype():
    with pytest.raises(pycore.SafetensorsError, match="'z'"):
        safetensors.write({"z": np.zeros(3, np.complex64)})


# --- model.json ---------------------------------------------------------------------------------

SOURCE = "mnist/model.json"


def graph_error(document, weights=None, *words):
    text = document if isinstance(document, (str, bytes)) else json.dumps(document)
    with pytest.raises(pycore.GraphError) as e:
        Graph.from_json(text, weights or {}, SOURCE)
    msg = str(e.value)
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    return msg


def small(nodes=None, outputs=("y",)):
    nodes = nodes if nodes is not None else [node("Conv", ["x", "conv.weight", "conv.bias"], name="conv1")]
    return doc(nodes, {"x": (1, 1, 28, 28)}, outputs)


WEIGHTS = {"conv.weight": np.zeros((2, 1, 3, 3), np.float32), "conv.bias": np.zeros(2, np.float32)}


def test_valid_graph_loads():
    g = Graph.from_json(json.dumps(small()), WEIGHTS, SOURCE)
    assert g.shapes["y"] == (1, 2, 26, 26)


def test_missing_weight_names_tensor_and_node():
    nodes = [node("Conv", ["x", "conv.weights", "conv.bias"], name="conv1")]
    graph_error(small(nodes), WEIGHTS, SOURCE, "'conv.weights'", "'conv1'")


def test_tensor_read_before_it_is_produced():
    nodes = [node("Relu", ["r2"], ["r1"], name="first"), node("Relu", ["x"], ["r2"], name="second")]
    graph_error(small(nodes, ["r1"]), {}, "'r2'", "'first'")


def test_unknown_op_is_named():
    nodes = [node("FancyConv", ["x"], name="conv1")]
    graph_error(small(nodes), WEIGHTS, SOURCE, "'FancyConv'", "'conv1'")


def test_graph_output_never_produced():
    graph_error(small(outputs=["logits"]), WEIGHTS, SOURCE, "'logits'")


@pytest.mark.parametrize("text", ["{", '{"format": "pycore/1",}', "", "null\n{}", b"\xff\xfe"])
def test_malformed_json(text):
    with pytest.raises(pycore.GraphError) as e:
        Graph.from_json(text, {}, SOURCE)
    assert SOURCE in str(e.value)


@pytest.mark.parametrize("fmt", [None, "pycore/2", "onnx", 1])
def test_wrong_format(fmt):
    d = small()
    if fmt is None:
        del d["format"]
    else:
        d["format"] = fmt
    graph_error(d, WEIGHTS, SOURCE, "pycore/1")


@pytest.mark.parametrize("document", [[], "pycore/1", 3])
def test_document_not_an_object(document):
    graph_error(document, {}, SOURCE)


def test_unknown_attribute_is_named():
    nodes = [node("Conv", ["x", "conv.weight", "conv.bias"], name="conv1", stride=[2, 2])]
    graph_error(small(nodes), WEIGHTS, "'stride'", "'conv1'")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("nodes"),
        lambda d: d.pop("inputs"),
        lambda d: d.pop("outputs"),
        lambda d: d["nodes"][0].pop("op"),
        lambda d: d["nodes"][0].pop("inputs"),
        lambda d: d["nodes"][0].pop("outputs"),
        lambda d: d["inputs"][0].pop("shape"),
        lambda d: d["inputs"][0].update(shape=28),
        lambda d: d.update(nodes=[["Conv"]]),
        lambda d: d.update(nodes=None),
        lambda d: d.update(inputs=[7]),
        lambda d: d["nodes"][0].update(attrs=[1, 2]),
        lambda d: d["nodes"][0].update(attrs="group"),
        lambda d: d["nodes"][0].update(inputs=7),
    ],
)
def test_malformed_graph_fields(mutate):
    d = small()
    mutate(d)
    graph_error(d, WEIGHTS, SOURCE)


def test_shapes_that_do_not_fit_name_the_node():
    w = {"conv.weight": np.zeros((2, 3, 3, 3), np.float32), "conv.bias": np.zeros(2, np.float32)}
    graph_error(small(), w, "'conv1'", "Conv")


def test_window_larger_than_input_names_the_node():
    nodes = [node("MaxPool", ["x"], name="pool", kernel_shape=[30, 30])]
    graph_error(small(nodes), {}, "'pool'")


def test_missing_required_attribute_names_the_node():
    nodes = [node("Reshape", ["x"], name="reshape")]
    graph_error(small(nodes), {}, "'reshape'")


@pytest.mark.parametrize("target", [[5, -1], [-1, -1], [784, 2]])
def test_impossible_reshape_names_the_node(target):
    nodes = [node("Reshape", ["x"], name="reshape", shape=target)]
    graph_error(small(nodes), {}, "'reshape'")


def test_unsupported_auto_pad():
    nodes = [node("Conv", ["x", "conv.weight"], name="conv1", auto_pad="SAME")]
    graph_error(small(nodes), WEIGHTS, "auto_pad", "'SAME'")


@pytest.mark.parametrize(
    "bad_node, words",
    [
        (node("Gelu", ["x"], name="g", approximate="fast"), ["'g' (Gelu)", "approximate='fast'", "'tanh'"]),
        (node("Mod", ["x", "x"], name="m", fmod=3), ["'m' (Mod)", "fmod=3", "only 0 or 1"]),
        (node("Resize", ["x"], name="r", sizes=[1, 1, 9, 9], scales=[1, 1, 0.3, 0.3], mode="cube"), ["cube"]),
        (node("Resize", ["x"], name="r", sizes=[9, 9], scales=[0.3, 0.3]), ["'r'", "sizes [9, 9] and"]),
        (node("LayerNormalization", ["x"], name="ln", axis=4), ["'ln'", "axis 4 for rank 4"]),
        (node("LayerNormalization", ["x", "s"], name="ln", axis=2), ["'ln'", "scale [28] is not the"]),
    ],
)  # fmt: skip
def test_unsupported_attributes_of_the_newer_ops(bad_node, words):
    graph_error(small([bad_node]), {"s": np.ones(28, np.float32)}, *words)


def test_unsupported_pad_mode():
    nodes = [node("Pad", ["x"], name="pad", pads=[0, 0, 1, 1, 0, 0, 1, 1], mode="wrap")]
    graph_error(small(nodes), {}, "'wrap'")


@pytest.mark.parametrize(
    "bad_node",
    [
        node("Softmax", ["x"], name="bad", axis=4),
        node("Softmax", ["x"], name="bad", axis=-5),
        node("Concat", ["x", "x"], name="bad", axis=4),
        node("Concat", ["x", "x"], name="bad"),  # axis is required
        node("Flatten", ["x"], name="bad", axis=5),
        node("Flatten", ["x"], name="bad", axis=-5),
        node("Pad", ["x"], name="bad", pads=[0, 0, -1, 0, 0, 0, 1, 0]),  # cropping: Slice's job
        node("Pad", ["x"], name="bad", pads=[1, 1]),
    ],
)
def test_attribute_out_of_range_names_the_node(bad_node):
    graph_error(small([bad_node]), {}, "'bad'")


def test_graph_error_through_model_from_bytes():
    nodes = [node("Conv", ["x", "conv.weights"], name="conv1")]
    blob = safetensors.write(WEIGHTS)
    with pytest.raises(pycore.GraphError) as e:
        Model.from_bytes(json.dumps(small(nodes)), blob, source="mnist")
    assert SOURCE in str(e.value) and "'conv.weights'" in str(e.value)


# --- predict ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_like():
    nodes = [
        node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="conv1"),
        node("Relu", ["c"], ["r"], name="relu"),
        node("Flatten", ["r"], ["f"], name="flat"),
    ]
    d = doc(nodes, {"image": (1, 1, 28, 28)}, ["f"])
    d["nodes"][0]["inputs"][0] = "image"
    return Model.from_bytes(json.dumps(d), safetensors.write(WEIGHTS), source="mnist")


@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28), (1, 1, 28, 27), (2, 1, 28, 28), (1, 784), (0,)])
def test_wrong_input_shape(mnist_like, shape):
    with pytest.raises(pycore.ShapeError) as e:
        mnist_like.run(np.zeros(shape, np.float32))
    msg = str(e.value)
    assert "[1, 1, 28, 28]" in msg, msg
    assert str(list(shape)) in msg, msg
    assert "'image'" in msg


def test_right_input_shape_runs(mnist_like):
    assert mnist_like.run(np.zeros((1, 1, 28, 28))).shape == (1, 2 * 26 * 26)


def test_nested_lists_are_accepted(mnist_like):
    x = np.ones((1, 1, 28, 28)).tolist()
    assert mnist_like.run(x).shape == (1, 2 * 26 * 26)
