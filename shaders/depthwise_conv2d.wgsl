// Conv2d where every output channel reads one input channel (groups == input channels, with any
// channel multiplier): no reduction across channels, so each invocation runs the kernel window
// directly, for four neighbouring outputs of one row at once (sharing index math and weight
// loads: on CPU implementations of WebGPU the per-invocation cost dominated one output each).
// Epilogue: bias, residual, activation.

struct Params {
    n: u32,  // invocations: images * output channels * oh * ceil(ow / 4)
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

fn tap(base: u32, iy: i32, ix: i32) -> f32 {
    if iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w) {
        return 0.0;
    }
    return f32(x[base + u32(iy) * p.w + u32(ix)]);
}

fn finish(o: u32, ox: u32, mc: u32, acc: f32) {
    if ox < p.ow {
        var v = acc + f32(bias[mc]);
        if p.has_residual == 1u {
            v += f32(residual[o]);
        }
        dst[o] = T(activate(v, p.ep));
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i >= p.n {
        return;
    }
    let quads = (p.ow + 3u) / 4u;
    let ox = (i % quads) * 4u;
    let oy = (i / quads) % p.oh;
    let plane = i / (quads * p.oh);  // image * m + output channel
    let mc = plane % p.m;
    let ci = (plane / p.m) * p.c + mc / (p.m / p.c);
    let x_base = ci * p.h * p.w;
    let w_base = mc * p.kh * p.kw;
    let y0 = i32(oy * p.stride_h) - i32(p.pad_t);
    let x0 = i32(ox * p.stride_w) - i32(p.pad_l);
    let sx = i32(p.stride_w);
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = y0 + i32(ky * p.dil_h);
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = x0 + i32(kx * p.dil_w);
            let v = vec4<f32>(
                tap(x_base, iy, ix), tap(x_base, iy, ix + sx), tap(x_base, iy, ix + 2 * sx), tap(x_base, iy, ix + 3 * sx)
            );
            acc = fma(v, vec4<f32>(f32(weight[w_base + ky * p.kw + kx])), acc);
        }
    }
    let o = (plane * p.oh + oy) * p.ow + ox;
    finish(o, ox, mc, acc.x);
    finish(o + 1u, ox + 1u, mc, acc.y);
    finish(o + 2u, ox + 2u, mc, acc.z);
    finish(o + 3u, ox + 3u, mc, acc.w);
}
