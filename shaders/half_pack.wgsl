// float16 storage: f32 results rounded to float16 (ties to even, as numpy) and packed two to a u32
// word, low half first. One invocation per word. Bits are encoded by hand: pack2x16float leaves
// the rounding direction, infinities and NaN to the implementation.

struct Params {
    n: u32,  // values (the last word may hold one)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

override WG: u32 = 256;

fn f32_to_half(x: f32) -> u32 {
    let bits = bitcast<u32>(round_f16(x));  // exactly a float16 value now (or inf / NaN)
    let sign = (bits >> 16u) & 0x8000u;
    let e = i32((bits >> 23u) & 0xffu) - 127;
    let m = bits & 0x7fffffu;
    if e == 128 {  // infinity or NaN (a NaN keeps a payload bit)
        return sign | 0x7c00u | select(0u, 0x200u, m != 0u);
    }
    if e < -24 {  // zero
        return sign;
    }
    if e < -14 {  // subnormal: the significand shifted into the 10 low bits
        return sign | ((m | 0x800000u) >> u32(-e - 1));
    }
    return sign | (u32(e + 15) << 10u) | (m >> 13u);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = flat_index(gid, nwg, WG);
    if 2u * w >= p.n {
        return;
    }
    var word = f32_to_half(f32(src[2u * w]));
    if 2u * w + 1u < p.n {
        word |= f32_to_half(f32(src[2u * w + 1u])) << 16u;
    }
    dst[w] = word;
}
