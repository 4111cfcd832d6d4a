// The gradient of Conv2d with respect to its input, gathered: each invocation owns one input
// element and sums dy * weight over the kernel taps and output positions that read it, so no two
// invocations write the same value (no atomics). 1-d convolutions run with height 1.

struct Params {
    n: u32,  // input values
    c: u32,  // input channels
    h: u32,
    w: u32,
    m: u32,  // output channels
    cg: u32,  // input channels per group
    mg: u32,  // output channels per group
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    pad_t: u32,
    pad_l: u32,
    dil_h: u32,
    dil_w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> weight: array<T>;
@group(0) @binding(3) var<storage, read_write> dst: array<T>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i >= p.n {
        return;
    }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let ci = (i / (p.w * p.h)) % p.c;
    let img = i / (p.w * p.h * p.c);
    let g = ci / p.cg;
    let plane = p.oh * p.ow;
    let taps = p.kh * p.kw;
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let oy = window_source(iy, ky, p.stride_h, p.pad_t, p.dil_h, p.oh);
        if oy < 0 {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ox = window_source(ix, kx, p.stride_w, p.pad_l, p.dil_w, p.ow);
            if ox < 0 {
                continue;
            }
            let m0 = g * p.mg;
            var d = (img * p.m + m0) * plane + u32(oy) * p.ow + u32(ox);
            var k = (m0 * p.cg + ci % p.cg) * taps + ky * p.kw + kx;
            for (var j = 0u; j < p.mg; j++) {
                acc = fma(f32(dy[d]), f32(weight[k]), acc);
                d += plane;
                k += p.cg * taps;
            }
        }
    }
    dst[i] = T(acc);
}
