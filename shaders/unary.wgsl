// y = op(x) elementwise; `{{ op }}` is an expression in x, alpha, lo and hi taken from the op
// table in pycore/webgpu/elementwise.py (epilogue.wgsl evaluates the same expressions).

struct Params {
    n: u32,
    alpha: f32,
    lo: f32,
    hi: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;

// erf to ~3e-7 absolute in f32: a Taylor series near 0 keeps small values accurate relative to
// themselves (GELU and its gradient live there), Abramowitz-Stegun 7.1.26 (error 1.5e-7) elsewhere.
fn erf_approx(x: f32) -> f32 {
    let a = abs(x);
    if a < 0.5 {
        let z = x * x;
        let s = 1.0 - z * (1.0 / 3.0 - z * (0.1 - z * (1.0 / 42.0 - z * (1.0 / 216.0 - z / 1320.0))));
        return 1.1283791670955126 * x * s;  // 2 / sqrt(pi)
    }
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let r = 1.0 - poly * exp(-a * a);
    return select(r, -r, x < 0.0);
}

fn op(x: T, alpha: f32, lo: f32, hi: f32) -> T {
    return {{ op }};
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i < p.n {
        dst[i] = op(src[i], p.alpha, p.lo, p.hi);
    }
}
