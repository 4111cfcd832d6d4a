// ArgMax along one axis: one workgroup per output index, each invocation scanning a strided share of
// the axis, then a tree through workgroup memory. The input is viewed as (outer, length, inner);
// the index is written as `{{ y_type }}`, the output's element type (i32 for an int64 index, or an
// exact f32 value where every tensor is stored as f32 words). `{{ op }}` is
// the op table's "(v, i) beats (bv, bi)" predicate of pycore/webgpu/reduce.py, ties included, so
// the result does not depend on how the axis was split among invocations.

struct Params {
    outputs: u32,
    length: u32,
    inner: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<{{ y_type }}>;

override WG: u32 = 64;  // a power of two

const NONE: u32 = 0xffffffffu;  // an invocation that saw no element yet

var<workgroup> part_v: array<f32, WG>;
var<workgroup> part_i: array<u32, WG>;

fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
    return bi == NONE || (i != NONE && ({{ op }}));
}

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let out = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so barriers below are legal
    let o = min(out, p.outputs - 1u);
    let base = (o / p.inner) * p.length * p.inner + o % p.inner;
    var bv = 0.0;
    var bi = NONE;
    for (var i = li; i < p.length; i += WG) {
        let v = f32(x[base + i * p.inner]);
        if beats(v, i, bv, bi) {
            bv = v;
            bi = i;
        }
    }
    part_v[li] = bv;
    part_i[li] = bi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if li < s && beats(part_v[li + s], part_i[li + s], part_v[li], part_i[li]) {
            part_v[li] = part_v[li + s];
            part_i[li] = part_i[li + s];
        }
        workgroupBarrier();
    }
    if li == 0u && out < p.outputs {
        dst[out] = {{ y_type }}(part_i[0]);
    }
}
