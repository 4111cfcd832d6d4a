"""A kernel's uniform is declared once, as the `struct Params` in its WGSL files; this module reads
that declaration and packs a planner's values into it by name, laid out by WGSL's rules for the
uniform address space (https://www.w3.org/TR/WGSL/#memory-layouts). A missing or unknown name, a
float for a u32 or too many values for a vector is an error while planning, not a wrong number on
the GPU.

Values: a number for u32, i32 or f32; a sequence for vecN<T> or array<vec4<T>, N> (flat, padded
with zeros); a dict for a struct member (the Epilogue of epilogue.wgsl).
"""

import operator
import re
import struct
from dataclasses import dataclass, replace
from functools import cache
from numbers import Real

from . import shaders

SCALARS = {"u32": "I", "i32": "i", "f32": "f"}
RANGES = {"I": (0, 2**32 - 1), "i": (-(2**31), 2**31 - 1)}
STRUCT = re.compile(r"\bstruct\s+(\w+)\s*\{([^}]*)\}")
MEMBER = re.compile(r"((?:@\w+\(\s*\d+\s*\)\s*)*)(\w+)\s*:\s*(.+)")
ATTRIBUTE = re.compile(r"@(\w+)\(\s*(\d+)\s*\)")
VECTOR = re.compile(r"vec([234])<(\w+)>")
ARRAY = re.compile(r"array<(.+),\s*(\d+)>")


@dataclass(frozen=True)
class Field:
    name: str
    offset: int  # bytes from the start of the struct that holds it
    type: str  # as the WGSL declares it
    code: str = ""  # struct.pack code of its scalars ("" for a struct)
    count: int = 1  # scalars it holds; 1 with vector False is a plain scalar
    vector: bool = False
    members: tuple = ()  # a struct's own fields


@dataclass(frozen=True)
class Struct:
    name: str
    align: int
    size: int
    fields: tuple


def declarations(files):
    """{struct name: [(attributes, member, type)]} of the prelude and the files, comments dropped."""
    text = re.sub(r"//[^\n]*", "", "\n".join(shaders.source(f) for f in ("prelude", *files)))
    out = {}
    for name, body in STRUCT.findall(text):
        if name in out:
            raise ValueError(f"shader {_name(files)}: struct {name} is declared twice")
        members = []
        for part in _split(body):
            m = MEMBER.fullmatch(part)
            if not m:
                raise ValueError(f"shader {_name(files)}: cannot read member {part!r} of struct {name}")
            members.append((dict(ATTRIBUTE.findall(m[1])), m[2], m[3].strip()))
        out[name] = members
    return out


def _split(body):
    """A struct body's members: split on the commas outside <...>."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return [p.strip() for p in parts if p.strip()]


def _name(files):
    return "+".join(files)


def _up(n, align):
    return -(-n // align) * align


def _struct(name, decls, where):
    if name not in decls:
        raise ValueError(f"shader {where}: no struct {name}")
    at, align, fields, row_end = 0, 1, [], 0
    for attrs, member, wgsl_type in decls[name]:
        unknown = set(attrs) - {"align", "size"}
        if unknown:
            raise ValueError(f"shader {where}: {name}.{member} has attribute(s) {sorted(unknown)}")
        field, own_align, size = _field(member, wgsl_type, decls, where)
        own_align, size = int(attrs.get("align", own_align)), int(attrs.get("size", size))
        at = _up(at, own_align)
        # the uniform address space starts structs and arrays on 16 bytes (WGSL does not move them
        # there by itself: the shader says @align(16)), and nothing shares a struct member's last row
        if (field.members or wgsl_type.startswith("array")) and at % 16:
            raise ValueError(f"shader {where}: {name}.{member} starts at byte {at}; it needs @align(16)")
        if at < row_end:
            raise ValueError(f"shader {where}: {name}.{member} starts at byte {at}, in the row of a struct")
        fields.append(replace(field, offset=at))
        row_end = at + _up(size, 16) if field.members else 0
        at += size
        align = max(align, own_align)
    return Struct(name, align, _up(at, align), tuple(fields))


def _field(member, wgsl_type, decls, where):
    """(Field at offset 0, alignment, size) of one member's type."""
    if wgsl_type in SCALARS:
        return Field(member, 0, wgsl_type, SCALARS[wgsl_type]), 4, 4
    if m := VECTOR.fullmatch(wgsl_type):
        n = int(m[1])
        return Field(member, 0, wgsl_type, SCALARS[m[2]], n, True), 8 if n == 2 else 16, 4 * n
    if m := ARRAY.fullmatch(wgsl_type):
        element, align, size = _field(member, m[1].strip(), decls, where)
        if not element.vector or size % 16:
            # uniform arrays step 16 bytes per element; vec4 elements fill them with no gaps
            raise ValueError(f"shader {where}: {member}: a uniform array needs vec4 elements")
        n = int(m[2])
        return Field(member, 0, wgsl_type, element.code, element.count * n, True), align, size * n
    inner = _struct(wgsl_type, decls, where)
    return Field(member, 0, wgsl_type, members=inner.fields), inner.align, inner.size


@cache
def layout(files):
    """The `struct Params` a shader (its tuple of file stems) declares, laid out for a uniform."""
    return _struct("Params", declarations(files), _name(files))


def pack(files, values):
    """The uniform bytes of `values` (a dict by member name) in the shader's Params, padded to a
    multiple of 16 bytes: a uniform binding is read in 16-byte rows."""
    params = layout(files)
    out = bytearray(_up(params.size, 16))
    _fill(out, 0, params.fields, values, f"shader {_name(files)}: Params")
    return bytes(out)


def _fill(out, base, fields, values, where):
    names = [f.name for f in fields]
    if not isinstance(values, dict):
        raise TypeError(f"{where}: a struct takes a dict of {names}, got {type(values).__name__}")
    missing, extra = [n for n in names if n not in values], sorted(set(values) - set(names))
    if missing or extra:
        raise TypeError(f"{where}: missing {missing}, unknown {extra}; it declares {names}")
    for f in fields:
        value, at = values[f.name], base + f.offset
        if f.members:
            _fill(out, at, f.members, value, f"{where}.{f.name}")
            continue
        items = list(value) if f.vector else [value]
        if len(items) > f.count:
            raise ValueError(f"{where}.{f.name}: {len(items)} values do not fit {f.type}")
        items += [0] * (f.count - len(items))
        struct.pack_into(f"<{f.count}{f.code}", out, at, *(_scalar(v, f, where) for v in items))


def _scalar(v, f, where):
    if f.code == "f":
        if isinstance(v, bool) or not isinstance(v, Real):
            raise TypeError(f"{where}.{f.name} is {f.type}: got {v!r}")
        return float(v)
    try:
        v = operator.index(v)  # int, bool or numpy integer; a float is refused, not truncated
    except TypeError:
        raise TypeError(f"{where}.{f.name} is {f.type}: got {v!r}") from None
    lo, hi = RANGES[f.code]
    if not lo <= v <= hi:
        raise ValueError(f"{where}.{f.name} is {f.type}: {v} is out of range")
    return v
