// float16 storage: n values packed two to a u32 word (low half first, as numpy lays out float16)
// widened to f32, so every kernel computes in f32. Bits are decoded by hand: unpack2x16float
// leaves infinities and NaN to the implementation.

struct Params {
    n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;

fn half_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if e == 0u {  // zero or subnormal: m * 2^-24
        return bitcast<f32>(bitcast<u32>(f32(m) * 5.9604644775390625e-8) | sign);
    }
    if e == 31u {  // infinity or NaN
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i < p.n {
        dst[i] = T(half_to_f32((src[i / 2u] >> (16u * (i % 2u))) & 0xffffu));
    }
}
