// Strided copy: dst[dst_offset + c . dst_strides] = src[src_offset + c . src_strides] for every
// coordinate c of `shape`. Transpose, Concat (one dispatch per input) and copies of views use it;
// it moves elements of any type, `{{ type }}`, unchanged.

struct Params {
    n: u32,
    rank: u32,
    src_offset: u32,
    dst_offset: u32,
    shape: array<vec4<u32>, 2>,
    src_strides: array<vec4<u32>, 2>,
    dst_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<{{ type }}>;
@group(0) @binding(2) var<storage, read_write> dst: array<{{ type }}>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg, WG);
    if i >= p.n {
        return;
    }
    var rest = i;
    var s = p.src_offset;
    var t = p.dst_offset;
    for (var d = p.rank; d > 0u; d--) {
        let size = at8(p.shape, d - 1u);
        let c = rest % size;
        rest = rest / size;
        s += c * at8(p.src_strides, d - 1u);
        t += c * at8(p.dst_strides, d - 1u);
    }
    dst[t] = src[s];
}
