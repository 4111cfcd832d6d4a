// The gradient of Conv2d with respect to its weight: one workgroup per weight value, whose
// invocations split the sum over (image, output row, output column) and combine it through
// workgroup memory. A weight value sums images * output pixels terms, often far more than there
// are weight values, so one invocation per value would leave most of the device idle.

struct Params {
    outputs: u32,  // weight values
    terms: u32,  // images * oh * ow
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
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read_write> dst: array<T>;

override WG: u32 = 64;  // a power of two

var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let out = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so barriers below are legal
    let o = min(out, p.outputs - 1u);
    let kx = o % p.kw;
    let ky = (o / p.kw) % p.kh;
    let cl = (o / (p.kw * p.kh)) % p.cg;
    let mo = o / (p.kw * p.kh * p.cg);
    let ci = (mo / p.mg) * p.cg + cl;
    let off_y = i32(ky * p.dil_h) - i32(p.pad_t);
    let off_x = i32(kx * p.dil_w) - i32(p.pad_l);
    var acc = 0.0;
    for (var t = li; t < p.terms; t += WG) {
        let ox = t % p.ow;
        let oy = (t / p.ow) % p.oh;
        let img = t / (p.ow * p.oh);
        let iy = i32(oy * p.stride_h) + off_y;
        let ix = i32(ox * p.stride_w) + off_x;
        if iy >= 0 && ix >= 0 && iy < i32(p.h) && ix < i32(p.w) {
            let xv = f32(x[((img * p.c + ci) * p.h + u32(iy)) * p.w + u32(ix)]);
            acc = fma(xv, f32(dy[((img * p.m + mo) * p.oh + oy) * p.ow + ox]), acc);
        }
    }
    part[li] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if li < s {
            part[li] += part[li + s];
        }
        workgroupBarrier();
    }
    if li == 0u && out < p.outputs {
        dst[out] = T(part[0]);
    }
}
