// Conv2d as an implicit GEMM over the tiled core in gemm.wgsl, one (image, group) per
// workgroup_id.z: rows are the group's output channels, columns the output pixels, and the K axis
// runs over (input channel, kernel y, kernel x). load_b gathers the input window on the fly
// (zero outside the padded image), so no im2col buffer exists. Epilogue: bias, residual, activation.

struct Params {
    c: u32,  // input channels per group
    h: u32,
    w: u32,
    m: u32,  // output channels per group
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
    groups: u32,
    has_residual: u32,
    @align(16) ep: Epilogue,  // uniform rules: a struct member starts on 16 bytes
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> weight: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read> residual: array<T>;
@group(0) @binding(5) var<storage, read_write> dst: array<T>;

var<private> x_base: u32;
var<private> w_base: u32;
var<private> y_base: u32;
var<private> m_base: u32;

fn begin(z: u32) {
    let n = z / p.groups;
    let g = z % p.groups;
    x_base = (n * p.groups + g) * p.c * p.h * p.w;
    m_base = g * p.m;
    w_base = m_base * p.c * p.kh * p.kw;
    y_base = (n * p.groups * p.m + m_base) * p.oh * p.ow;
}

fn dims() -> vec3<u32> {
    return vec3<u32>(p.m, p.oh * p.ow, p.c * p.kh * p.kw);
}

fn load_a(row: u32, k: u32) -> f32 {
    return f32(weight[w_base + row * p.c * p.kh * p.kw + k]);
}

fn load_b(k: u32, col: u32) -> f32 {
    let taps = p.kh * p.kw;
    let ci = k / taps;
    let ky = (k % taps) / p.kw;
    let kx = k % p.kw;
    let iy = i32((col / p.ow) * p.stride_h + ky * p.dil_h) - i32(p.pad_t);
    let ix = i32((col % p.ow) * p.stride_w + kx * p.dil_w) - i32(p.pad_l);
    if iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w) {
        return 0.0;
    }
    return f32(x[x_base + (ci * p.h + u32(iy)) * p.w + u32(ix)]);
}

fn store(row: u32, col: u32, value: f32) {
    let o = y_base + row * p.oh * p.ow + col;
    var v = value + f32(bias[m_base + row]);
    if p.has_residual == 1u {
        v += f32(residual[o]);
    }
    dst[o] = T(activate(v, p.ep));
}
