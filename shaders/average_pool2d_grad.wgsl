// The gradient of AveragePool2d, gathered: each invocation owns one input element and sums
// dy / count over the windows that cover it. A window's count is what the forward pass divided
// by (pool2d.wgsl's `valid` or `padded`): the taps inside the image, or with include_pad those
// inside the explicitly padded image; ceil_mode's overhang never counts. Both factor into a row
// count times a column count. 1-d pools run with height 1.

struct Params {
    n: u32,  // input values
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    pad_t: u32,
    pad_l: u32,
    pad_b: u32,
    pad_r: u32,
    dil_h: u32,
    dil_w: u32,
    include_pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 64;

// How many taps of window o fall in the counted range along one axis.
fn counted(o: u32, k: u32, stride: u32, pad: u32, pad_end: u32, dil: u32, size: u32) -> u32 {
    let lo = select(0, -i32(pad), p.include_pad == 1u);
    let hi = i32(size) + select(0, i32(pad_end), p.include_pad == 1u);
    var n = 0u;
    for (var t = 0u; t < k; t++) {
        let at = i32(o * stride + t * dil) - i32(pad);
        n += select(0u, 1u, at >= lo && at < hi);
    }
    return n;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i >= p.n {
        return;
    }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let oy = window_source(iy, ky, p.stride_h, p.pad_t, p.dil_h, p.oh);
        if oy < 0 {
            continue;
        }
        let rows = counted(u32(oy), p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h, p.h);
        for (var kx = 0u; kx < p.kw; kx++) {
            let ox = window_source(ix, kx, p.stride_w, p.pad_l, p.dil_w, p.ow);
            if ox >= 0 {
                let cols = counted(u32(ox), p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w, p.w);
                acc += f32(dy[(plane * p.oh + u32(oy)) * p.ow + u32(ox)]) / f32(rows * cols);
            }
        }
    }
    dst[i] = T(acc);
}
