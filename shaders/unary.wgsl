// y = op(x) elementwise; `{{ op }}` is an expression in x, alpha, beta, lo and hi taken from the op
// table in pycore/webgpu/elementwise.py (epilogue.wgsl evaluates the same expressions).

struct Params {
    n: u32,
    alpha: f32,
    beta: f32,
    lo: f32,
    hi: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;

fn op(x: T, alpha: f32, beta: f32, lo: f32, hi: f32) -> T {
    return {{ op }};
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i < p.n {
        dst[i] = op(src[i], p.alpha, p.beta, p.lo, p.hi);
    }
}
