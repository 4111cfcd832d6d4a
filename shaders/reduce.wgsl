// Reductions (ReduceSum/Mean/Max/Min/Prod, GlobalAveragePool, GlobalMaxPool): one workgroup per
// output value combines every input value that maps to it, then a tree through workgroup memory. The
// input index is split into kept dimensions (which output) and reduced ones (which term), each
// with its own shape and input strides; the host merges dimensions first so ranks stay small.
// The op table of the input's element type in pycore/webgpu/reduce.py fills `{{ init }}`,
// `{{ step }}` (combines `a` and `b`) and `{{ finish }}` (in `acc` and `count`). `{{ x_type }}` is
// the input's element type and `{{ y_type }}` the output's; the terms are combined in `{{ y_math }}`
// (the output's type, i32 for a bool's ReduceSum whose result is int64; f32 for an f16 output).

struct Params {
    outputs: u32,
    count: u32,  // terms per output
    kept_rank: u32,
    reduced_rank: u32,
    kept_shape: array<vec4<u32>, 2>,
    kept_strides: array<vec4<u32>, 2>,
    reduced_shape: array<vec4<u32>, 2>,
    reduced_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{ x_type }}>;
@group(0) @binding(2) var<storage, read_write> dst: array<{{ y_type }}>;

override WG: u32 = 64;  // a power of two

var<workgroup> part: array<{{ y_math }}, WG>;

fn combine(a: {{ y_math }}, b: {{ y_math }}) -> {{ y_math }} {
    return {{ step }};
}

fn offset(i: u32, rank: u32, shape: array<vec4<u32>, 2>, strides: array<vec4<u32>, 2>) -> u32 {
    var rest = i;
    var at = 0u;
    for (var d = rank; d > 0u; d--) {
        let size = at8(shape, d - 1u);
        at += (rest % size) * at8(strides, d - 1u);
        rest = rest / size;
    }
    return at;
}

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let out = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so barriers below are legal
    let base = offset(min(out, p.outputs - 1u), p.kept_rank, p.kept_shape, p.kept_strides);
    var acc: {{ y_math }} = {{ init }};
    for (var i = li; i < p.count; i += WG) {
        let term = x[base + offset(i, p.reduced_rank, p.reduced_shape, p.reduced_strides)];
        acc = combine(acc, {{ y_math }}(term));
    }
    part[li] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if li < s {
            part[li] = combine(part[li], part[li + s]);
        }
        workgroupBarrier();
    }
    if li == 0u && out < p.outputs {
        let acc = part[0];
        let count = {{ y_math }}(p.count);
        dst[out] = {{ y_type }}({{ finish }});
    }
}
