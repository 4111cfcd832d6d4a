// y = op(c, a, b) with numpy broadcasting over three operands (Where); `{{ op }}` is an expression
// in `c`, `a` and `b` taken from the op table in pycore/webgpu/elementwise.py. Broadcast
// dimensions have stride 0; the host merges dimensions first, as for binary.wgsl. `{{ c_type }}`,
// `{{ a_type }}`, `{{ b_type }}` and `{{ y_type }}` are the element types.

struct Params {
    n: u32,
    rank: u32,
    shape: array<vec4<u32>, 2>,
    c_strides: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> first: array<{{ c_type }}>;
@group(0) @binding(2) var<storage, read> second: array<{{ a_type }}>;
@group(0) @binding(3) var<storage, read> third: array<{{ b_type }}>;
@group(0) @binding(4) var<storage, read_write> dst: array<{{ y_type }}>;

override WG: u32 = 256;

fn op(c: {{ c_type }}, a: {{ a_type }}, b: {{ b_type }}) -> {{ y_type }} {
    return {{ y_type }}({{ op }});
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i >= p.n {
        return;
    }
    var rest = i;
    var ic = 0u;
    var ia = 0u;
    var ib = 0u;
    for (var d = p.rank; d > 0u; d--) {
        let size = at8(p.shape, d - 1u);
        let k = rest % size;
        rest = rest / size;
        ic += k * at8(p.c_strides, d - 1u);
        ia += k * at8(p.a_strides, d - 1u);
        ib += k * at8(p.b_strides, d - 1u);
    }
    dst[i] = op(first[ic], second[ia], third[ib]);
}
