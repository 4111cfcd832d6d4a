"""python -m pycore run and bench on the native WebGPU path, as a user runs them: the same answer as
the CPU path, and nothing on stderr, not even libwayland's XDG_RUNTIME_DIR complaint, which Mesa's
device-select layer provokes on a host without a Wayland session (pycore drops that line only)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from gpu_harness import DEVICE  # noqa: F401  (skips this module where no adapter exists)

import pycore

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from images import write_png  # noqa: E402

from tools.digit_strokes import STROKES, render_strokes  # noqa: E402

MNIST = ROOT / "models" / "mnist"
ENV = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "WAYLAND_DISPLAY")}


def python(*args):
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=ENV
    )


def test_run_on_webgpu_agrees_with_the_cpu_and_prints_nothing_on_stderr(tmp_path):
    (tmp_path / "four.png").write_bytes(write_png((render_strokes(STROKES[4]) * 255).astype(np.uint8)))
    runs = {
        b: python("-m", "pycore", "run", MNIST, "--input", tmp_path / "four.png", "--backend", b)
        for b in ("cpu", "webgpu")
    }
    for r in runs.values():
        assert r.returncode == 0 and r.stderr == "", r.stderr
    rows = {b: re.findall(r"^ +([\d.]+)  (\S+)$", r.stdout, re.M) for b, r in runs.items()}
    assert (
        rows["webgpu"][0][1] == "4"
        and [label for _, label in rows["webgpu"]][:3] == [label for _, label in rows["cpu"]][:3]
    )
    np.testing.assert_allclose(*[[float(p) for p, _ in rows[b]] for b in ("cpu", "webgpu")], atol=2e-4)


def test_bench_on_webgpu_names_the_adapter():
    r = python("-m", "pycore", "bench", MNIST, "--backend", "webgpu", "--runs", 3)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("mnist-cnn on webgpu, ") and "wgpu-py" in first
    assert re.search(r"3 runs after 1 warm-up: median [\d.]+ ms", r.stdout)


def test_only_the_wayland_line_is_held_back(tmp_path):
    """Everything else written to fd 2 while the adapter is requested still comes out, in order."""
    code = (
        "import os\n"
        "from pycore.webgpu.native import WAYLAND_PROBE, without_wayland_probe_line\n"
        "with without_wayland_probe_line():\n"
        "    os.write(2, b'first real problem\\n' + WAYLAND_PROBE + b'second real problem\\n')\n"
        "    os.write(2, WAYLAND_PROBE)\n"
        "    print('from python', file=__import__('sys').stderr)\n"
        "os.write(2, b'after\\n')\n"
    )
    r = python("-c", code)
    assert r.returncode == 0
    assert r.stderr == "first real problem\nsecond real problem\nfrom python\nafter\n"


def test_the_model_api_on_webgpu_says_where_it_runs():
    model = pycore.load(MNIST, backend="webgpu")
    assert repr(model).startswith(
        "<Model 'mnist-cnn' on webgpu: image [1, 1, 28, 28] -> probabilities [1, 10]"
    )
    x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    out = model.run({"image": x})
    np.testing.assert_allclose(out["probabilities"], pycore.load(MNIST).run(x), atol=1e-5)
