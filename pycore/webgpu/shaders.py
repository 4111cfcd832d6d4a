"""WGSL sources: found next to the package (wheel) or at the repository's top level, rendered by
filling `{{ name }}` placeholders, never by generating code. A shader is a tuple of file stems
compiled after the shared prelude, e.g. ("matmul", "gemm") puts the tiled core after its hooks.
"""

import re
from functools import cache
from pathlib import Path

import pycore

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@cache
def folder():
    here = Path(pycore.__file__).resolve()
    for candidate in (here.parent / "shaders", here.parents[1] / "shaders"):
        if (candidate / "prelude.wgsl").is_file():
            return candidate
    raise FileNotFoundError(f"no shaders/ folder next to {here.parent} or in {here.parents[1]}")


@cache
def source(stem):
    return (folder() / f"{stem}.wgsl").read_text()


def render(files, fill):
    """The prelude then each file, with placeholders filled; a missing value is an error, not ''.
    The float kernels' element T is f32 unless `fill` says f16; a shader with an f16 anywhere
    starts by enabling it (a device without shader-f16 is never given one: backend.py)."""
    values = {"T": "f32", **fill}
    text = "\n".join(source(f) for f in ("prelude", *files))

    def value(m):
        if m.group(1) not in values:
            raise KeyError(f"shader {files}: no value for placeholder {{{{ {m.group(1)} }}}}")
        return str(values[m.group(1)])

    enable = "enable f16;\n" if "f16" in values.values() else ""
    return enable + PLACEHOLDER.sub(value, text)


STORAGE = re.compile(r"\bvar\s*<\s*storage\b[^>]*>\s*\w+\s*:\s*array\s*<\s*(?:vec\d\s*<\s*)?(\w+)")


@cache
def elements(k):
    """The element type of each storage buffer the shader of pipeline key k binds, in binding
    order (the prelude's alias T as filled)."""
    files, fill, overrides = k
    alias = {"T": dict(fill).get("T", "f32")}
    return [alias.get(e, e) for e in STORAGE.findall(render(files, dict(fill)))]


def key(step):
    """Pipelines are cached by (shader, template values, overrides)."""
    return (step.shader, tuple(sorted(step.fill.items())), tuple(sorted(step.overrides.items())))


def label(k):
    files, fill, overrides = k
    parts = ["+".join(files), *(f"{n}={v}" for n, v in fill + overrides)]
    return " ".join(parts)
