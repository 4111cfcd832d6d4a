// Pad in ONNX's three modes over up to 8 dimensions. mode: 0 constant, 1 reflect, 2 edge.

struct Params {
    n: u32,  // output values
    rank: u32,
    mode: u32,
    value: f32,
    in_shape: array<vec4<u32>, 2>,
    out_shape: array<vec4<u32>, 2>,
    pad_begin: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = flat_index(gid, nwg, WG);
    if o >= p.n {
        return;
    }
    var rest = o;
    var src = 0u;
    var stride = 1u;
    var inside = true;
    for (var d = p.rank; d > 0u; d--) {
        let size = at8(p.in_shape, d - 1u);
        let c = i32(rest % at8(p.out_shape, d - 1u)) - i32(at8(p.pad_begin, d - 1u));
        rest = rest / at8(p.out_shape, d - 1u);
        var i = c;
        if c < 0 || c >= i32(size) {
            inside = false;
            if p.mode == 1u {
                // reflect without repeating the edge; the period is 2 * (size - 1)
                let period = max(2 * (i32(size) - 1), 1);
                i = abs(c) % period;
                i = select(i, period - i, i >= i32(size));
            } else {
                i = clamp(c, 0, i32(size) - 1);
            }
        }
        src += u32(i) * stride;
        stride *= size;
    }
    dst[o] = select(x[src], T(p.value), !inside && p.mode == 0u);
}
