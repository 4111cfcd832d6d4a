// Max and average pooling over 2-d windows (1-d pools run with height 1). The op table in
// pycore/webgpu/nn.py fills `{{ init }}`, `{{ step }}` (in `acc` and `v`) and `{{ finish }}` (in
// `acc`, `valid`: taps inside the image, `padded`: taps inside the explicitly padded image).
// Taps in the padding are skipped, which is max pooling's -inf padding and average pooling's
// count_include_pad=0; ceil_mode's overhang past the padding never counts.

struct Params {
    n: u32,  // output values
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
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = flat_index(gid, nwg, WG);
    if o >= p.n {
        return;
    }
    let ox = o % p.ow;
    let oy = (o / p.ow) % p.oh;
    let plane = o / (p.ow * p.oh);
    let base = plane * p.h * p.w;
    let y0 = i32(oy * p.stride_h) - i32(p.pad_t);
    let x0 = i32(ox * p.stride_w) - i32(p.pad_l);
    var acc: f32 = {{ init }};
    var valid = 0u;
    var padded = 0u;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = y0 + i32(ky * p.dil_h);
        let row_padded = iy < i32(p.h + p.pad_b);
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = x0 + i32(kx * p.dil_w);
            padded += select(0u, 1u, row_padded && ix < i32(p.w + p.pad_r));
            if iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w) {
                let v = f32(x[base + u32(iy) * p.w + u32(ix)]);
                acc = {{ step }};
                valid += 1u;
            }
        }
    }
    dst[o] = T({{ finish }});
}
