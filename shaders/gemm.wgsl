// Tiled matrix-product core shared by matmul.wgsl and conv2d.wgsl. The loader appends it after one
// of them; that file defines Params, its bindings and the hooks used here:
//   begin(z)          per-workgroup setup for batch/group z (workgroup_id.z)
//   dims() -> (M, N, K)
//   load_a(row, k), load_b(k, col)   operands, only called in bounds
//   store(row, col, value)           epilogue and write, only called in bounds
// Each workgroup computes a (WG_M * RM) x (WG_N * RN) tile of the output, staging TK-deep slices
// of both operands through workgroup memory; each thread keeps an RM x RN block in registers.

override WG_M: u32 = 8;
override WG_N: u32 = 8;
override RM: u32 = 4;  // at most MAX_R
override RN: u32 = 4;  // at most MAX_R
override TK: u32 = 16;
const MAX_R: u32 = 4u;

var<workgroup> a_tile: array<f32, TK * WG_M * RM>;  // [k][row]
var<workgroup> b_tile: array<f32, TK * WG_N * RN>;  // [k][col]

@compute @workgroup_size(WG_N, WG_M)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    begin(wid.z);
    let mnk = dims();
    let tm = WG_M * RM;
    let tn = WG_N * RN;
    let threads = WG_M * WG_N;
    let row0 = wid.y * tm;
    let col0 = wid.x * tn;
    var acc: array<f32, 16>;  // MAX_R * MAX_R, zero-initialised
    var a_reg: array<f32, 4>;
    var b_reg: array<f32, 4>;
    for (var k0 = 0u; k0 < mnk.z; k0 += TK) {
        // k varies fastest for A and col for B, so neighbouring threads read neighbouring addresses
        for (var e = li; e < TK * tm; e += threads) {
            let kk = e % TK;
            let r = e / TK;
            var v = 0.0;
            if row0 + r < mnk.x && k0 + kk < mnk.z {
                v = load_a(row0 + r, k0 + kk);
            }
            a_tile[kk * tm + r] = v;
        }
        for (var e = li; e < TK * tn; e += threads) {
            let c = e % tn;
            let kk = e / tn;
            var v = 0.0;
            if col0 + c < mnk.y && k0 + kk < mnk.z {
                v = load_b(k0 + kk, col0 + c);
            }
            b_tile[kk * tn + c] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            for (var i = 0u; i < RM; i++) {
                a_reg[i] = a_tile[kk * tm + lid.y + i * WG_M];
            }
            for (var j = 0u; j < RN; j++) {
                b_reg[j] = b_tile[kk * tn + lid.x + j * WG_N];
            }
            for (var i = 0u; i < RM; i++) {
                for (var j = 0u; j < RN; j++) {
                    acc[i * MAX_R + j] = fma(a_reg[i], b_reg[j], acc[i * MAX_R + j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < RM; i++) {
        let row = row0 + lid.y + i * WG_M;
        for (var j = 0u; j < RN; j++) {
            let col = col0 + lid.x + j * WG_N;
            if row < mnk.x && col < mnk.y {
                store(row, col, acc[i * MAX_R + j]);
            }
        }
    }
}
