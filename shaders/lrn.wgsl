// Local response normalisation across channels (ONNX LRN) for NCHW-like tensors viewed as
// (n, c, spatial): y = x / (bias + alpha / size * sum of x^2 over the channel window) ^ beta.

struct Params {
    n: u32,  // values
    c: u32,
    spatial: u32,
    size: u32,
    alpha: f32,
    beta: f32,
    bias: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = flat_index(gid, nwg, WG);
    if o >= p.n {
        return;
    }
    let ch = i32((o / p.spatial) % p.c);
    let base = o - u32(ch) * p.spatial;  // the same position in channel 0
    let lo = max(ch - i32((p.size - 1u) / 2u), 0);
    let hi = min(ch + i32(p.size / 2u), i32(p.c) - 1);
    var s = 0.0;
    for (var k = lo; k <= hi; k++) {
        let v = f32(x[base + u32(k) * p.spatial]);
        s += v * v;
    }
    dst[o] = T(f32(x[o]) / pow(p.bias + p.alpha / f32(p.size) * s, p.beta));
}
