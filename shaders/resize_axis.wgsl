// Resize along one axis of a tensor viewed as (outer, in_len, inner) -> (outer, out_len, inner).
// Output position j along the axis reads the taps the planner computed (pycore.ops.nn.resize_taps,
// the CPU path's own): taps[j] and taps[out_len + j] are the two input positions, taps[2 out_len + j]
// the weight of the second; nearest reads the first alone (a mix would turn an infinity into NaN).

struct Params {
    n: u32,  // output values
    in_len: u32,
    out_len: u32,
    inner: u32,
    linear: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> taps: array<f32>;  // f32 whatever T is: indices must stay exact
@group(0) @binding(3) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i >= p.n {
        return;
    }
    let k = i % p.inner;
    let j = (i / p.inner) % p.out_len;
    let row = (i / (p.inner * p.out_len)) * p.in_len;
    let a = f32(x[(row + u32(taps[j])) * p.inner + k]);
    if p.linear == 0u {
        dst[i] = T(a);
        return;
    }
    let b = f32(x[(row + u32(taps[p.out_len + j])) * p.inner + k]);
    let w = f32(taps[2u * p.out_len + j]);
    dst[i] = T(a * (1.0 - w) + b * w);
}
