// y = op(x) elementwise; `{{ op }}` is an expression in x, alpha, beta, lo and hi taken from the op
// table in pycore/webgpu/elementwise.py (epilogue.wgsl evaluates the same expressions), converted
// to the output's element type (a comparison's bool to 0u / 1u). `{{ x_type }}` and `{{ y_type }}`
// are the element types of the input and the output; `{{ x_math }}` the type x is loaded into
// (f32 for an f16 input, else its own).

struct Params {
    n: u32,
    alpha: f32,
    beta: f32,
    lo: f32,
    hi: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<{{ x_type }}>;
@group(0) @binding(2) var<storage, read_write> dst: array<{{ y_type }}>;

override WG: u32 = 256;

fn op(x: {{ x_math }}, alpha: f32, beta: f32, lo: f32, hi: f32) -> {{ y_type }} {
    return {{ y_type }}({{ op }});
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i < p.n {
        dst[i] = op({{ x_math }}(src[i]), p.alpha, p.beta, p.lo, p.hi);
    }
}
