// BatchNormalization left unfolded (no Conv in front of it): per-channel
// y = (x - mean) * scale / sqrt(var + epsilon) + bias over a tensor viewed as (n, c, spatial).

struct Params {
    n: u32,  // values
    c: u32,
    spatial: u32,
    epsilon: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> scale: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read> mean: array<T>;
@group(0) @binding(5) var<storage, read> variance: array<T>;
@group(0) @binding(6) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = flat_index(gid, nwg, WG);
    if o >= p.n {
        return;
    }
    let ch = (o / p.spatial) % p.c;
    let k = f32(scale[ch]) / sqrt(f32(variance[ch]) + p.epsilon);
    dst[o] = T((f32(x[o]) - f32(mean[ch])) * k + f32(bias[ch]));
}
