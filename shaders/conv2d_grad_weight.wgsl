// The gradient of Conv2d with respect to its weight. One workgroup owns up to TAPS kernel taps of
// one (output channel, input channel) pair; its invocations split the sum over (image, output row,
// output column), each term's indices worked out once and its dy read once for all the taps, and
// combine their partial sums through workgroup memory. A weight value sums images * output pixels
// terms, often far more than there are weight values, so one invocation per value would leave most
// of the device idle.

struct Params {
    pairs: u32,  // output channels * input channels per group
    blocks: u32,  // workgroups per pair: ceil(kh * kw / TAPS)
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

const WG = 64u;  // a power of two
const TAPS = {{ taps }}u;  // kernel taps per workgroup (pycore/webgpu/gradients.py WEIGHT_TAPS)

var<workgroup> part: array<f32, WG * TAPS>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let group = wid.x + wid.y * nwg.x;  // uniform across the workgroup, so barriers below are legal
    let g = min(group, p.pairs * p.blocks - 1u);
    let pair = g / p.blocks;
    let first = (g % p.blocks) * TAPS;  // this workgroup's first tap, row-major over (kh, kw)
    let taps = min(TAPS, p.kh * p.kw - first);
    let cl = pair % p.cg;
    let mo = pair / p.cg;
    let ci = (mo / p.mg) * p.cg + cl;
    var acc: array<f32, TAPS>;
    for (var t = li; t < p.terms; t += WG) {
        let ox = t % p.ow;
        let oy = (t / p.ow) % p.oh;
        let img = t / (p.ow * p.oh);
        let d = f32(dy[((img * p.m + mo) * p.oh + oy) * p.ow + ox]);
        let plane = (img * p.c + ci) * p.h;
        let y0 = i32(oy * p.stride_h) - i32(p.pad_t);
        let x0 = i32(ox * p.stride_w) - i32(p.pad_l);
        for (var j = 0u; j < taps; j++) {
            let k = first + j;
            let iy = y0 + i32((k / p.kw) * p.dil_h);
            let ix = x0 + i32((k % p.kw) * p.dil_w);
            if iy >= 0 && ix >= 0 && iy < i32(p.h) && ix < i32(p.w) {
                acc[j] = fma(f32(x[(plane + u32(iy)) * p.w + u32(ix)]), d, acc[j]);
            }
        }
    }
    for (var j = 0u; j < TAPS; j++) {
        part[j * WG + li] = acc[j];
    }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if li < s {
            for (var j = 0u; j < TAPS; j++) {
                part[j * WG + li] += part[j * WG + li + s];
            }
        }
        workgroupBarrier();
    }
    if li < taps && group < p.pairs * p.blocks {
        dst[pair * p.kh * p.kw + first + li] = T(part[li * WG]);
    }
}
