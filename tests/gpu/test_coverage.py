"""Checks that need no GPU: every CPU op has a WebGPU kernel, and WGSL lives only in shaders/."""

import re
from pathlib import Path

from pycore.cpu import KERNELS as CPU_KERNELS
from pycore.webgpu import KERNELS as GPU_KERNELS
from pycore.webgpu import shaders
from pycore.webgpu.kernels import PENDING

ROOT = Path(__file__).resolve().parents[2]


def test_every_cpu_op_has_a_gpu_kernel():
    """Except the ops kernels.PENDING names; a new one there fails, and so does one that got its kernel."""
    missing = set(CPU_KERNELS) - set(GPU_KERNELS)
    assert sorted(missing - PENDING) == [], "ops with a CPU kernel but no WebGPU kernel"
    assert sorted(PENDING - missing) == [], "ops with a WebGPU kernel now: take them out of PENDING"


def test_wgsl_lives_in_shader_files():
    wgsl = re.compile(r"@compute|@workgroup_size|var<storage|@group\(")
    for path in (ROOT / "pycore/webgpu").glob("*.py"):
        assert not wgsl.search(path.read_text()), f"{path.name} holds WGSL; put it in shaders/"


def test_every_shader_renders_with_its_placeholders_only():
    """Each file's placeholders are plain names; render() refuses a missing value."""
    for path in shaders.folder().glob("*.wgsl"):
        for name in shaders.PLACEHOLDER.findall(path.read_text()):
            assert name in {"dtype", "op", "init", "step", "finish"}, f"{path.name}: {{{{ {name} }}}}"


def test_gemm_tiles_fit_default_workgroup_memory():
    """Browsers give 16 KiB of workgroup memory by default; wgpu-native does not check it."""
    from pycore.webgpu import nn, tensor

    for tile in (nn.GEMM_TILE, tensor.WIDE, tensor.ROW):
        floats = tile["TK"] * (tile["WG_M"] + tile["WG_N"]) * 4  # vec4 slices of A and B
        assert floats * 4 <= 16384, tile
        assert tile["WG_M"] * tile["WG_N"] <= 256, tile


def test_shaders_are_found_inside_the_package_first(tmp_path):
    """The site's wheel carries shaders/ as pycore/shaders/; that copy wins over the repo's."""
    import shutil
    import subprocess
    import sys

    shutil.copytree(ROOT / "pycore", tmp_path / "pycore", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "shaders", tmp_path / "pycore/shaders")
    code = "from pycore.webgpu import shaders; print(shaders.folder())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(tmp_path / "pycore/shaders")
