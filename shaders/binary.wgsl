// y = op(a, b) with numpy broadcasting; `{{ op }}` is an expression in `a` and `b` taken from the
// op table in pycore/webgpu/elementwise.py, converted to the output's element type (a comparison's
// bool to 0u / 1u); `{{ a_type }}`, `{{ b_type }}` and `{{ y_type }}` are the element types, and
// `{{ a_math }}` and `{{ b_math }}` the types a and b are loaded into (f32 for f16, else their own).
// Broadcast dimensions have stride 0; the host merges dimensions first, so equal shapes run with rank 1.

struct Params {
    n: u32,
    rank: u32,
    shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lhs: array<{{ a_type }}>;
@group(0) @binding(2) var<storage, read> rhs: array<{{ b_type }}>;
@group(0) @binding(3) var<storage, read_write> dst: array<{{ y_type }}>;

override WG: u32 = 256;

fn op(a: {{ a_math }}, b: {{ b_math }}) -> {{ y_type }} {
    return {{ y_type }}({{ op }});
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i >= p.n {
        return;
    }
    var rest = i;
    var ia = 0u;
    var ib = 0u;
    for (var d = p.rank; d > 0u; d--) {
        let size = at8(p.shape, d - 1u);
        let c = rest % size;
        rest = rest / size;
        ia += c * at8(p.a_strides, d - 1u);
        ib += c * at8(p.b_strides, d - 1u);
    }
    dst[i] = op({{ a_math }}(lhs[ia]), {{ b_math }}(rhs[ib]));
}
