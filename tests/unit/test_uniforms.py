"""Each WGSL kernel's `struct Params` is its uniform's only declaration: pycore/webgpu/uniforms.py
lays it out by WGSL's rules and packs the planners' named values into it. Here every shader's
Params is read, its layout checked against offsets worked out by hand from the WGSL spec, and one
case of every op on the WebGPU path is planned (no GPU needed) to check that each planner names
exactly the members its shader declares, with values of the declared types."""

import json
import struct
from numbers import Integral, Real

import numpy as np
import pytest
from graphs import doc

from pycore.graph import Graph
from pycore.webgpu import PLANNERS, lazy, shaders, uniforms
from pycore.webgpu.backend import PlanContext
from pycore.webgpu.step import Step
from tests.op_cases import CASES


def planned(nodes, shapes):
    outputs = [t for n in nodes for t in n["outputs"]]
    graph = Graph.from_json(json.dumps(doc(nodes, shapes, outputs)), {})
    ctx, steps = PlanContext(graph.shapes), []
    for n in graph.nodes:
        out = PLANNERS[n.op](n, ctx)
        steps += out if isinstance(out, list) else []
    return steps


# the tensor device's float16 storage steps, which no op plans
HALF_STEPS = [lazy._pack("t0.f32", "t0.half", 5), lazy._unpack("t0.half", "t0", 5)]


# ops of integer tensors only, which these float32 cases cannot plan: their steps are the unary and
# binary ones reached above (tests/gpu/test_dtypes_webgpu.py runs them)
INTEGER_ONLY = {"BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot"}


def test_the_cases_reach_every_op_and_every_shader_that_takes_a_uniform():
    assert sorted(set(PLANNERS) - INTEGER_ONLY - {n["op"] for nodes, _ in CASES for n in nodes}) == []
    with_uniform = {p.stem for p in shaders.folder().glob("*.wgsl") if "var<uniform>" in p.read_text()}
    reached = {f for case in CASES for s in planned(*case) for f in s.shader}
    reached |= {f for s in HALF_STEPS for f in s.shader}
    assert sorted(with_uniform - reached) == []


def _check(fields, values, where):
    """Names and types of a planner's values against the declared members (a reference for what
    uniforms.pack enforces)."""
    assert sorted(values) == sorted(f.name for f in fields), where
    for f in fields:
        v = values[f.name]
        if f.members:
            assert isinstance(v, dict), f"{where}.{f.name}"
            _check(f.members, v, f"{where}.{f.name}")
            continue
        items = list(v) if f.vector else [v]
        assert len(items) <= f.count, f"{where}.{f.name}: {len(items)} values for {f.type}"
        for item in items:
            if f.code == "f":
                assert isinstance(item, Real) and not isinstance(item, bool), f"{where}.{f.name}: {item!r}"
            else:
                assert isinstance(item, Integral) and (f.code != "I" or item >= 0), (
                    f"{where}.{f.name}: {item!r}"
                )


def test_the_float16_storage_steps_name_the_members_their_shaders_declare():
    for step in HALF_STEPS:
        _check(uniforms.layout(step.shader).fields, step.params, "+".join(step.shader))


@pytest.mark.parametrize("case", CASES, ids=lambda case: "+".join(n["op"] for n in case[0]))
def test_each_planner_names_the_members_its_shader_declares(case):
    steps = planned(*case)  # a Step packs its values as it is made: a mismatch fails here already
    for step in steps:
        params = uniforms.layout(step.shader)
        _check(params.fields, step.params, "+".join(step.shader))
        assert len(step.uniform) == -(-params.size // 16) * 16


def _offsets(files):
    return {f.name: f.offset for f in uniforms.layout(files).fields}


def test_layouts_follow_the_wgsl_uniform_rules():
    """Offsets worked out by hand: scalars take 4 bytes, vec4 and array<vec4<u32>, 2> start on 16,
    the Epilogue member on 16 by its @align(16); the size rounds up to the largest alignment."""
    matmul = _offsets(("epilogue", "matmul", "gemm"))
    assert matmul["c_col"] == 36 and matmul["has_residual"] == 40 and matmul["alpha"] == 44
    want = {"batch": 48, "a_batch": 64, "b_batch": 80, "beta": 96, "ep": 112}
    assert {k: matmul[k] for k in want} == want
    assert uniforms.layout(("epilogue", "matmul", "gemm")).size == 128
    assert _offsets(("binary",)) == {"n": 0, "rank": 4, "shape": 16, "a_strides": 48, "b_strides": 80}
    assert uniforms.layout(("binary",)).size == 112
    assert _offsets(("epilogue", "conv2d", "gemm"))["ep"] == 64
    assert uniforms.layout(("arg_reduce",)).size == 12
    assert uniforms.layout(("lrn",)).size == 28


def test_pack_writes_each_value_at_its_offset():
    got = uniforms.pack(
        ("binary",), {"n": 6, "rank": 2, "shape": [2, 3], "a_strides": [3, 1], "b_strides": [0, 1]}
    )
    want = struct.pack("<2I8x8I8I8I", 6, 2, 2, 3, *[0] * 6, 3, 1, *[0] * 6, 0, 1, *[0] * 6)
    assert got == want
    unary = uniforms.pack(("unary",), {"n": np.int64(5), "alpha": 0.5, "beta": 0.25, "lo": -1, "hi": 2.0})
    assert unary == struct.pack("<I4f12x", 5, 0.5, 0.25, -1.0, 2.0)  # 20 bytes, bound as two rows
    short = uniforms.pack(("arg_reduce",), {"outputs": 1, "length": 2, "inner": True})
    assert short == struct.pack("<3I4x", 1, 2, 1)  # a 12-byte struct, bound as one 16-byte row
    values = {"c": 1, "h": 2, "w": 3, "m": 4, "oh": 5, "ow": 6, "kh": 7, "kw": 8, "stride_h": 9}
    values |= {"stride_w": 10, "pad_t": 11, "pad_l": 12, "dil_h": 13, "dil_w": 14, "groups": 15}
    values |= {"has_residual": False, "ep": {"alpha": 0.25, "beta": 0.5, "lo": -3.0, "hi": 6.0}}
    conv = uniforms.pack(("epilogue", "conv2d", "gemm"), values)
    assert struct.unpack("<16I4f", conv) == (*range(1, 16), 0, 0.25, 0.5, -3.0, 6.0)


UNARY = {"n": 4, "alpha": 0.0, "beta": 0.0, "lo": 0.0, "hi": 0.0}


@pytest.mark.parametrize(
    "files,values,error,match",
    [
        (("unary",), {"n": 4, "alpha": 0.0, "beta": 0.0, "lo": 0.0}, TypeError, r"missing \['hi'\]"),
        (("unary",), {**UNARY, "gamma": 1.0}, TypeError, r"unknown \['gamma'\]"),
        (("unary",), {**UNARY, "n": 4.0}, TypeError, r"shader unary: Params.n is u32: got 4.0"),
        (("unary",), {**UNARY, "alpha": "0.1"}, TypeError, "alpha is f32"),
        (("unary",), {**UNARY, "n": -1}, ValueError, "out of range"),
        (("unary",), {**UNARY, "n": 2**32}, ValueError, "out of range"),
        (("softmax",), {"rows": 1, "len": 2}, TypeError, r"missing \['inner'\]"),
        (
            ("binary",),
            {"n": 1, "rank": 9, "shape": [1] * 9, "a_strides": [], "b_strides": []},
            ValueError,
            "9 values do not fit array<vec4<u32>, 2>",
        ),
        (
            ("epilogue", "depthwise_conv2d"),
            {f.name: 0 for f in uniforms.layout(("epilogue", "depthwise_conv2d")).fields},
            TypeError,
            "ep: a struct takes a dict",
        ),
    ],
)
def test_pack_refuses_missing_unknown_and_mistyped_values(files, values, error, match):
    with pytest.raises(error, match=match):
        uniforms.pack(files, values)


def test_a_step_naming_a_member_wrong_fails_as_it_is_planned():
    with pytest.raises(TypeError, match=r"shader softmax: Params: missing \['len'\], unknown \['length'\]"):
        Step(("softmax",), {"rows": 1, "length": 2, "inner": 1}, ["x"], "y", (1, 1, 1))


FAKE = {
    "vectors": "struct Params { a: u32, b: vec2<f32>, c: vec3<u32>, d: f32, }",
    "attrs": "struct S { x: f32, } struct Params { a: u32, @align(16) s: S, @align(16) b: u32, "
    "@size(8) c: u32, d: u32 }",
    "unaligned": "struct S { x: f32, } struct Params { a: u32, s: S, }",
    "crowded": "struct S { x: f32, } struct Params { @align(16) s: S, b: u32 }",
    "narrow": "struct Params { a: array<vec2<u32>, 4>, }",
    "twice": "struct Params { a: u32, } struct Params { b: u32, }",
    "unknown": "struct Params { @location(0) a: u32, }",
    "none": "struct Other { a: u32, }",
}


@pytest.fixture
def fake_shaders(monkeypatch):
    real = shaders.source
    monkeypatch.setattr(shaders, "source", lambda stem: FAKE[stem] if stem in FAKE else real(stem))
    uniforms.layout.cache_clear()
    yield
    uniforms.layout.cache_clear()


def test_layout_of_vectors_struct_members_and_attributes(fake_shaders):
    assert _offsets(("vectors",)) == {"a": 0, "b": 8, "c": 16, "d": 28}
    assert uniforms.layout(("vectors",)).size == 32
    assert _offsets(("attrs",)) == {"a": 0, "s": 16, "b": 32, "c": 36, "d": 44}
    assert uniforms.layout(("attrs",)).size == 48


@pytest.mark.parametrize(
    "stem,match",
    [
        ("unaligned", r"Params.s starts at byte 4; it needs @align\(16\)"),
        ("crowded", "Params.b starts at byte 4, in the row of a struct"),
        ("narrow", "a uniform array needs vec4 elements"),
        ("twice", "struct Params is declared twice"),
        ("unknown", r"attribute\(s\) \['location'\]"),
        ("none", "no struct Params"),
    ],
)
def test_layout_refuses_what_a_uniform_cannot_hold(fake_shaders, stem, match):
    with pytest.raises(ValueError, match=match):
        uniforms.layout((stem,))
