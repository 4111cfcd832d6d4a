"""Broken or unsupported ONNX input: a clear ConversionError at conversion time, and in the CLI an
`error: ...` line with exit status 2 and no traceback."""

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from pycore.__main__ import main
from pycore.onnx import ConversionError, convert

LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


def model(nodes, inputs=(("x", [1, 4]),), outputs=("y",), inits=(), opset=13, dtype=TensorProto.FLOAT):
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, dtype, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        list(inits),
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def write(tmp_path, data, name="m.onnx"):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.SerializeToString())
    return str(p)


def test_truncated_file(tmp_path):
    data = open(os.path.join(LIGHT, "light_squeezenet.onnx"), "rb").read()
    with pytest.raises(ConversionError, match="truncated"):
        convert(write(tmp_path, data[: len(data) // 2]))


@pytest.mark.parametrize(
    "data, why",
    [
        (b"", "empty"),
        (b"hello, this is not a model\n" * 20, "not a readable ONNX model|not an ONNX model"),
        (b"PK\x03\x04" + bytes(100), "zip archive"),
        (bytes(range(256)) * 4, "not a readable ONNX model|not an ONNX model"),
    ],
)
def test_not_onnx(tmp_path, data, why):
    with pytest.raises(ConversionError, match=why):
        convert(write(tmp_path, data))


def test_missing_file(tmp_path):
    with pytest.raises(ConversionError, match="no such file"):
        convert(str(tmp_path / "absent.onnx"))


def test_cycle():
    m = model(
        [
            helper.make_node("Relu", ["b"], ["a"], name="A"),
            helper.make_node("Add", ["x", "a"], ["b"], name="B"),
        ]
    )
    m.graph.output[0].name = "b"
    with pytest.raises(ConversionError, match="cycle.*'A'.*'B'|cycle.*'B'.*'A'"):
        convert(m)


def test_dangling_input():
    m = model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add1")])
    with pytest.raises(ConversionError, match="'add1'.*'ghost'.*dangling"):
        convert(m)


def test_output_nobody_produces():
    m = model([helper.make_node("Relu", ["x"], ["z"])])
    with pytest.raises(ConversionError, match="output 'y' is produced by no node"):
        convert(m)


def _external_model(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"])], inits=[w])
    path = str(tmp_path / "ext.onnx")
    onnx.save_model(m, path, save_as_external_data=True, location="ext.bin", size_threshold=0)
    return path, tmp_path / "ext.bin"


def test_external_data_present_converts(tmp_path):
    path, _ = _external_model(tmp_path)
    g = convert(path)
    assert g.weights["w"].shape == (4, 4) and float(g.weights["w"].sum()) == 16.0


def test_external_data_missing(tmp_path):
    path, data = _external_model(tmp_path)
    data.unlink()
    with pytest.raises(ConversionError, match="'w'.*external file 'ext.bin'.*missing"):
        convert(path)


def test_external_data_truncated(tmp_path):
    path, data = _external_model(tmp_path)
    data.write_bytes(data.read_bytes()[:10])
    with pytest.raises(ConversionError, match="'ext.bin'.*truncated"):
        convert(path)


def test_unsupported_op_names_op_node_and_opset():
    m = model([helper.make_node("Det", ["x"], ["y"], name="det")], opset=13)
    with pytest.raises(ConversionError, match=r"node 'det' \(Det, opset 13\).*Det is not supported"):
        convert(m)


def test_every_problem_is_listed_up_front():
    nodes = [
        helper.make_node("Det", ["x"], ["a"], name="n1"),
        helper.make_node("Relu", ["a"], ["b"], name="n2", flavour=3),
        helper.make_node("TopK", ["b", "k"], ["y", "i"], name="n3"),
    ]
    with pytest.raises(ConversionError) as e:
        convert(model(nodes, inputs=(("x", [1, 4]), ("k", [1]))))
    msg = str(e.value)
    assert (
        msg.startswith("3 unsupported")
        and "'n1' (Det" in msg
        and "['flavour']" in msg
        and "'n3' (TopK" in msg
    )


A23, A3 = [("a", [2, 3])], [("a", [3])]
REFUSED = [
    (
        "Einsum",
        [(n, [2, 2]) for n in "abc"],
        {"equation": "ij,jk,kl->il"},
        "'ij,jk,kl->il': Einsum of 3 operands",
    ),
    ("Einsum", [("a", [3, 3])], {"equation": "ii->i"}, r"a letter repeated in 'ii' \(a diagonal\)"),
    ("Einsum", [*A23, ("b", [4, 5])], {"equation": "ij,jk->ik"}, "'j' is 3 in one operand and 4"),
    ("Einsum", A23, {"equation": "ijk->i"}, "term 'ijk' does not fit an operand of rank 2"),
    ("Einsum", A23, {"equation": "ij->iz"}, r"output letters \['z'\] are in no operand"),
    ("Gelu", A23, {"approximate": "fast"}, "Gelu approximate='fast' is not supported"),
    ("Mod", [*A23, ("b", [3])], {"fmod": 2}, "Mod fmod=2 is not supported"),
    ("LayerNormalization", [*A23, ("s", [3])], {"stash_type": 10}, "stash_type=10 is not supported"),
    ("LayerNormalization", [*A23, ("s", [3])], {"axis": 2}, "axis 2 for rank 2"),
    ("GroupNormalization", [("a", [2, 6, 4]), ("s", [6]), ("b", [6])], {"num_groups": 4}, "4 groups do not"),
    ("Trilu", A3, {}, r"rank 2 or more, got shape \[3\]"),
    ("Trilu", [("a", [3, 3]), ("k", [])], {}, "k must be a constant"),
    ("Clip", [*A3, ("lo", [2])], {}, r"min must hold one value, got shape \[2\]"),
    ("ReduceL2", [*A3, ("axes", [1])], {}, "axes must be a constant"),
]


@pytest.mark.parametrize("op, inputs, attrs, message", REFUSED, ids=[f"{r[0]}-{r[3][:20]}" for r in REFUSED])
def test_new_ops_refuse_clearly(op, inputs, attrs, message):
    node = helper.make_node(op, [n for n, _ in inputs], ["y"], name="n", **attrs)
    with pytest.raises(ConversionError, match=rf"node 'n' \({op}, opset 20\): .*" + message):
        convert(model([node], inputs=inputs, opset=20))


def test_cast_of_a_run_time_tensor_to_a_dtype_pycore_lacks_is_refused():
    m = model([helper.make_node("Cast", ["x"], ["y"], name="n", to=TensorProto.BFLOAT16)], opset=19)
    with pytest.raises(ConversionError, match="cast of a run-time tensor to"):
        convert(m)


def test_unsupported_version():
    nodes = [helper.make_node("Tile", ["x", "t", "a"], ["y"], name="tile")]
    m = model(nodes, inputs=(("x", [1, 4]), ("t", [1]), ("a", [1])), opset=5)
    with pytest.raises(ConversionError, match=r"'tile' \(Tile, opset 5\): Tile-1 is not supported"):
        convert(m)


def test_foreign_domain():
    node = helper.make_node("FusedGemm", ["x"], ["y"], name="f", domain="com.microsoft")
    with pytest.raises(ConversionError, match="domain 'com.microsoft'"):
        convert(model([node]))


def test_unsupported_dtype():
    with pytest.raises(ConversionError, match="input 'x' has dtype BFLOAT16; pycore's inputs are bool"):
        convert(model([helper.make_node("Relu", ["x"], ["y"])], dtype=TensorProto.BFLOAT16))


def test_runtime_shape_is_refused_at_conversion():
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], name="r")]
    with pytest.raises(ConversionError, match=r"'r' \(Reshape, opset 13\): shape must be a constant"):
        convert(model(nodes, inputs=(("x", [1, 4]), ("s", [2]))))


def test_dynamic_input_needs_a_shape():
    m = model([helper.make_node("Relu", ["x"], ["y"])], inputs=(("x", ["N", 4]),))
    with pytest.raises(ConversionError, match="dynamic.*--shape x=1,4"):
        convert(m)
    assert convert(m, shapes={"x": (3, 4)}).inputs[0].shape == (3, 4)
    assert convert(m, shapes={None: (2, 4)}).inputs[0].shape == (2, 4)
    with pytest.raises(ConversionError, match="fixed at 4"):
        convert(m, shapes={"x": (3, 5)})


def test_cli_prints_error_and_exits_2(tmp_path, capsys):
    bad = write(tmp_path, b"\x08\x07garbage" * 10)
    assert main(["convert", bad, str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_cli_subprocess_has_no_traceback(tmp_path):
    bad = write(tmp_path, b"PK\x03\x04 not really a zip")
    r = subprocess.run(
        [sys.executable, "-m", "pycore", "convert", bad, str(tmp_path / "o")], capture_output=True, text=True
    )
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


@pytest.mark.parametrize("weights", ["fp32", "fp16", "int8"])
def test_cli_converts_and_loads(tmp_path, weights):
    import pycore

    w = numpy_helper.from_array(np.diag([1.0, 2.0, 0.5, -1.0]).astype(np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    src = write(tmp_path, model(nodes, inputs=(("x", ["N", 4]),), inits=[w]))
    assert main(["convert", src, str(tmp_path / "out"), "--shape", "x=2,4", "--weights", weights]) == 0
    out = pycore.load(str(tmp_path / "out")).run(np.array([[-1, 2, -3, 4]] * 2, np.float32))
    np.testing.assert_allclose(out, [[0, 4, 0, 0]] * 2, rtol=1e-2)


def pad_model():
    """A Pad whose pads are a graph input: they decide the output's shape."""
    nodes = [helper.make_node("Pad", ["x", "pads"], ["y"])]
    m = model(nodes, inputs=(("x", [1, 4]),))
    m.graph.input.append(helper.make_tensor_value_info("pads", TensorProto.INT64, [4]))
    return m


def test_a_shape_deciding_input_is_named_and_given_at_conversion(tmp_path):
    import pycore
    from pycore.onnx import ValueNeeded

    with pytest.raises(ValueNeeded, match="from graph input 'pads'.*--value pads=") as e:
        convert(pad_model())
    assert e.value.inputs == ["pads"]
    g = convert(pad_model(), values={"pads": [0, 1, 0, 2]})
    assert [i.name for i in g.inputs] == ["x"] and g.shapes["y"] == (1, 7)
    with pytest.raises(ConversionError, match="not int64"):
        convert(pad_model(), values={"pads": [0, 0.5, 0, 2]})
    src = write(tmp_path, pad_model())
    assert main(["convert", src, str(tmp_path / "out"), "--value", "pads=0,1,0,2"]) == 0
    out = pycore.load(str(tmp_path / "out")).run(np.array([[1, 2, 3, 4]], np.float32))
    np.testing.assert_array_equal(out, [[0, 1, 2, 3, 4, 0, 0]])
    with pytest.raises(SystemExit) as e:
        main(["convert", src, str(tmp_path / "o2"), "--value", "pads=a"])
    assert e.value.code == 2
