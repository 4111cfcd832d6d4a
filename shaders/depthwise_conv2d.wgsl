// Conv2d where every output channel reads one input channel (groups == input channels, with any
// channel multiplier): no reduction across channels, so one invocation per output value runs the
// kernel window directly. Epilogue: bias, residual, activation.

struct Params {
    n: u32,  // output values
    c: u32,  // input channels (= groups)
    h: u32,
    w: u32,
    m: u32,  // output channels
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
    has_residual: u32,
    @align(16) ep: Epilogue,  // uniform rules: a struct member starts on 16 bytes
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> weight: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read> residual: array<T>;
@group(0) @binding(5) var<storage, read_write> dst: array<T>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = flat_index(gid, nwg, WG);
    if o >= p.n {
        return;
    }
    let ox = o % p.ow;
    let oy = (o / p.ow) % p.oh;
    let mc = (o / (p.ow * p.oh)) % p.m;
    let img = o / (p.ow * p.oh * p.m);
    let ci = mc / (p.m / p.c);
    let x_base = (img * p.c + ci) * p.h * p.w;
    let w_base = mc * p.kh * p.kw;
    let y0 = i32(oy * p.stride_h) - i32(p.pad_t);
    let x0 = i32(ox * p.stride_w) - i32(p.pad_l);
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = y0 + i32(ky * p.dil_h);
        if iy < 0 || iy >= i32(p.h) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = x0 + i32(kx * p.dil_w);
            if ix >= 0 && ix < i32(p.w) {
                acc = fma(f32(x[x_base + u32(iy) * p.w + u32(ix)]), f32(weight[w_base + ky * p.kw + kx]), acc);
            }
        }
    }
    var v = acc + f32(bias[mc]);
    if p.has_residual == 1u {
        v += f32(residual[o]);
    }
    dst[o] = T(activate(v, p.ep));
}
