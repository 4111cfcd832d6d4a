// Softmax along one axis of a tensor viewed as (outer, len, inner): one workgroup per
// (outer, inner) pair takes the row's max, then the sum of exp(x - max) through workgroup memory,
// then writes exp(x - max) / sum.

struct Params {
    rows: u32,  // outer * inner
    len: u32,
    inner: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 64;  // a power of two

fn reduce_max(li: u32, v: f32) -> f32 {
    part[li] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if li < s {
            part[li] = max(part[li], part[li + s]);
        }
        workgroupBarrier();
    }
    let r = part[0];
    workgroupBarrier();  // everyone has read part[0] before it is reused
    return r;
}

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let wrow = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so barriers below are legal
    let row = min(wrow, p.rows - 1u);  // surplus workgroups (2-d dispatch rounding) only read
    let base = (row / p.inner) * p.len * p.inner + row % p.inner;
    var m = -3.402823e38;
    for (var i = li; i < p.len; i += WG) {
        m = max(m, f32(x[base + i * p.inner]));
    }
    m = reduce_max(li, m);
    var s = 0.0;
    for (var i = li; i < p.len; i += WG) {
        s += exp(f32(x[base + i * p.inner]) - m);
    }
    s = reduce_sum(li, s);
    for (var i = li; i < p.len && wrow < p.rows; i += WG) {
        let j = base + i * p.inner;
        dst[j] = T(exp(f32(x[j]) - m) / s);
    }
}
