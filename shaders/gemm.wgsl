// Tiled matrix-product core shared by matmul.wgsl and conv2d.wgsl. The loader appends it after one
// of them; that file defines Params, its bindings and the hooks used here:
//   begin(z)          per-workgroup setup for batch/group z (workgroup_id.z)
//   dims() -> (M, N, K)
//   load_a(row, k), load_b(k, col)   operands, only called in bounds
//   store(row, col, value)           epilogue and write, only called in bounds
// Each workgroup computes a (WG_M * 4) x (WG_N * 4) tile of the output, staging TK-deep slices of
// both operands through workgroup memory as vec4s; each thread keeps a 4 x 4 block in four vec4
// registers. The block is spelled out rather than indexed in loops: CPU implementations such as
// lavapipe and SwiftShader keep a dynamically indexed private array in memory, which was 4x slower.

override WG_M: u32 = 8;
override WG_N: u32 = 8;
override TK: u32 = 16;

var<workgroup> a_tile: array<vec4<f32>, TK * WG_M>;  // [k][4 rows]
var<workgroup> b_tile: array<vec4<f32>, TK * WG_N>;  // [k][4 columns]

fn load_a4(row: u32, k: u32, m: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if row < m { v.x = load_a(row, k); }
    if row + 1u < m { v.y = load_a(row + 1u, k); }
    if row + 2u < m { v.z = load_a(row + 2u, k); }
    if row + 3u < m { v.w = load_a(row + 3u, k); }
    return v;
}

fn load_b4(k: u32, col: u32, n: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if col < n { v.x = load_b(k, col); }
    if col + 1u < n { v.y = load_b(k, col + 1u); }
    if col + 2u < n { v.z = load_b(k, col + 2u); }
    if col + 3u < n { v.w = load_b(k, col + 3u); }
    return v;
}

fn store4(row: u32, col: u32, v: vec4<f32>, n: u32) {
    if col < n { store(row, col, v.x); }
    if col + 1u < n { store(row, col + 1u, v.y); }
    if col + 2u < n { store(row, col + 2u, v.z); }
    if col + 3u < n { store(row, col + 3u, v.w); }
}

@compute @workgroup_size(WG_N, WG_M)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    begin(wid.z);
    let mnk = dims();
    let threads = WG_M * WG_N;
    let row0 = wid.y * WG_M * 4u;
    let col0 = wid.x * WG_N * 4u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < mnk.z; k0 += TK) {
        // k varies fastest for A and columns for B, so neighbouring threads read neighbouring addresses
        for (var e = li; e < TK * WG_M; e += threads) {
            let k = k0 + e % TK;
            var v = vec4<f32>(0.0);
            if k < mnk.z {
                v = load_a4(row0 + (e / TK) * 4u, k, mnk.x);
            }
            a_tile[(e % TK) * WG_M + e / TK] = v;
        }
        for (var e = li; e < TK * WG_N; e += threads) {
            let k = k0 + e / WG_N;
            var v = vec4<f32>(0.0);
            if k < mnk.z {
                v = load_b4(k, col0 + (e % WG_N) * 4u, mnk.y);
            }
            b_tile[e] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let a = a_tile[kk * WG_M + lid.y];
            let b = b_tile[kk * WG_N + lid.x];
            acc0 = fma(vec4<f32>(a.x), b, acc0);
            acc1 = fma(vec4<f32>(a.y), b, acc1);
            acc2 = fma(vec4<f32>(a.z), b, acc2);
            acc3 = fma(vec4<f32>(a.w), b, acc3);
        }
        workgroupBarrier();
    }
    let row = row0 + lid.y * 4u;
    let col = col0 + lid.x * 4u;
    if row < mnk.x { store4(row, col, acc0, mnk.y); }
    if row + 1u < mnk.x { store4(row + 1u, col, acc1, mnk.y); }
    if row + 2u < mnk.x { store4(row + 2u, col, acc2, mnk.y); }
    if row + 3u < mnk.x { store4(row + 3u, col, acc3, mnk.y); }
}
