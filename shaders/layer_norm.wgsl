// LayerNormalization of each row of `len` contiguous values (the axes from `axis` on): one
// workgroup per row takes the mean, then the mean of squared deviations (two passes, no
// E[x^2] - E[x]^2 cancellation), both through workgroup memory, then writes
// (x - mean) / sqrt(var + epsilon) * scale + bias, scale and bias shaped like one row.

struct Params {
    rows: u32,
    len: u32,
    has_scale: u32,
    has_bias: u32,
    epsilon: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> scale: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;  // a power of two

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let wrow = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so barriers below are legal
    let base = min(wrow, p.rows - 1u) * p.len;  // surplus workgroups (2-d dispatch rounding) only read
    let n = f32(p.len);
    var s = 0.0;
    for (var i = li; i < p.len; i += WG) {
        s += f32(x[base + i]);
    }
    let mean = reduce_sum(li, s) / n;
    var q = 0.0;
    for (var i = li; i < p.len; i += WG) {
        let d = f32(x[base + i]) - mean;
        q += d * d;
    }
    let inv = 1.0 / sqrt(reduce_sum(li, q) / n + p.epsilon);
    for (var i = li; i < p.len && wrow < p.rows; i += WG) {
        var y = (f32(x[base + i]) - mean) * inv;
        if p.has_scale == 1u {
            y *= f32(scale[i]);
        }
        if p.has_bias == 1u {
            y += f32(bias[i]);
        }
        dst[base + i] = T(y);
    }
}
