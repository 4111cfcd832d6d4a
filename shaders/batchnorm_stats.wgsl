// BatchNormStats: the mean and (biased) variance of each channel of a tensor viewed as (n, c,
// spatial), written as dst[ch] = mean, dst[c + ch] = variance. One workgroup per channel walks its
// n contiguous runs, sums through workgroup memory, then makes a second pass for the variance (two
// passes: no cancellation between E[x^2] and E[x]^2).

struct Params {
    n: u32,
    c: u32,
    spatial: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;  // a power of two

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let ch = wid.x;  // one workgroup per channel: uniform, so the barriers are legal
    let count = f32(p.n * p.spatial);
    var s = 0.0;
    for (var b = 0u; b < p.n; b++) {
        let base = (b * p.c + ch) * p.spatial;
        for (var i = li; i < p.spatial; i += WG) {
            s += f32(x[base + i]);
        }
    }
    let mean = reduce_sum(li, s) / count;
    var q = 0.0;
    for (var b = 0u; b < p.n; b++) {
        let base = (b * p.c + ch) * p.spatial;
        for (var i = li; i < p.spatial; i += WG) {
            let d = f32(x[base + i]) - mean;
            q += d * d;
        }
    }
    let variance = reduce_sum(li, q) / count;
    if li == 0u {
        dst[ch] = T(mean);
        dst[p.c + ch] = T(variance);
    }
}
