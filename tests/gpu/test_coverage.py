"""Checks that need no GPU: every op record has a kernel on both devices, and WGSL lives only in shaders/."""

import re
from pathlib import Path

from pycore import ops
from pycore.cpu import KERNELS as CPU_KERNELS
from pycore.webgpu import PLANNERS as GPU_PLANNERS
from pycore.webgpu import shaders

ROOT = Path(__file__).resolve().parents[2]


def test_every_op_record_has_a_kernel_on_both_devices():
    """And every kernel has a record: pycore/ops holds the op set that both tables implement."""
    for table, device in ((CPU_KERNELS, "CPU kernel"), (GPU_PLANNERS, "WebGPU planner")):
        assert sorted(set(ops.OPS) - set(table)) == [], f"op records with no {device}"
        assert sorted(set(table) - set(ops.OPS)) == [], f"{device}s with no op record"


def test_wgsl_lives_in_shader_files():
    wgsl = re.compile(r"@compute|@workgroup_size|var<storage|@group\(")
    for path in (ROOT / "pycore/webgpu").glob("*.py"):
        assert not wgsl.search(path.read_text()), f"{path.name} holds WGSL; put it in shaders/"


def test_every_shader_renders_with_its_placeholders_only():
    """Each file's placeholders are plain names; render() refuses a missing value."""
    for path in shaders.folder().glob("*.wgsl"):
        for name in shaders.PLACEHOLDER.findall(path.read_text()):
            known = {"op", "act", "taps", "init", "step", "finish"}
            known |= {"T", "type", "x_type", "y_type", "a_type", "b_type", "c_type"}  # element types
            known |= {"x_math", "a_math", "b_math", "y_math"}  # the types they are loaded into
            known |= {"flag"}  # the binding of int64_checked.wgsl's overflow word, after the kernel's
            assert name in known, f"{path.name}: {{{{ {name} }}}}"


def test_gemm_tiles_fit_default_workgroup_memory():
    """Browsers give 16 KiB of workgroup memory by default; wgpu-native does not check it."""
    from pycore.webgpu import nn

    for tile in (nn.GEMM_TILE, nn.WIDE, nn.ROW):
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
