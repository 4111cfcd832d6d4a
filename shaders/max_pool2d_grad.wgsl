// The gradient of MaxPool2d, gathered: each invocation owns one input element and sums dy over
// the windows in which it is the FIRST maximum in row-major tap order (as pycore's CPU path and
// PyTorch do), recomputing each such window's maximum, so ties and overlapping windows need no
// atomics and no index buffer. Taps in the padding or the ceil_mode overhang are -inf and never
// win. 1-d pools run with height 1.

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
    dil_h: u32,
    dil_w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read_write> dst: array<T>;

override WG: u32 = 64;

// The tap (ky * kw + kx) holding the first maximum of window (oy, ox) of the image at `base`.
fn first_max(base: u32, oy: u32, ox: u32) -> u32 {
    let y0 = i32(oy * p.stride_h) - i32(p.pad_t);
    let x0 = i32(ox * p.stride_w) - i32(p.pad_l);
    var best = 0.0;
    var tap = 0xffffffffu;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = y0 + i32(ky * p.dil_h);
        if iy < 0 || iy >= i32(p.h) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = x0 + i32(kx * p.dil_w);
            if ix >= 0 && ix < i32(p.w) {
                let v = f32(x[base + u32(iy) * p.w + u32(ix)]);
                if tap == 0xffffffffu || v > best {
                    best = v;
                    tap = ky * p.kw + kx;
                }
            }
        }
    }
    return tap;
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
        for (var kx = 0u; kx < p.kw; kx++) {
            let ox = window_source(ix, kx, p.stride_w, p.pad_l, p.dil_w, p.ow);
            if ox >= 0 && first_max(plane * p.h * p.w, u32(oy), u32(ox)) == ky * p.kw + kx {
                acc += f32(dy[(plane * p.oh + u32(oy)) * p.ow + u32(ox)]);
            }
        }
    }
    dst[i] = T(acc);
}
