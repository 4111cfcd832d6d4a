// MatMul and Gemm over the tiled core in gemm.wgsl: y = act(alpha * A @ B + beta * C + residual).
// Strides express transA/transB and the broadcast of the bias C (0 where broadcast); batched MatMul
// broadcasts up to four batch dimensions the same way. The output is contiguous [batch..., M, N].

struct Params {
    m: u32,
    n: u32,
    k: u32,
    has_bias: u32,
    a_row: u32,  // strides of A over (m, k) and of B over (k, n)
    a_col: u32,
    b_row: u32,
    b_col: u32,
    c_row: u32,
    c_col: u32,
    has_residual: u32,
    alpha: f32,
    batch: vec4<u32>,  // output batch dims, innermost last, padded with 1
    a_batch: vec4<u32>,
    b_batch: vec4<u32>,
    beta: f32,
    @align(16) ep: Epilogue,  // uniform rules: a struct member starts on 16 bytes
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read> residual: array<T>;
@group(0) @binding(5) var<storage, read_write> dst: array<T>;

var<private> a_base: u32;
var<private> b_base: u32;
var<private> y_base: u32;

fn begin(z: u32) {
    var rest = z;
    a_base = 0u;
    b_base = 0u;
    for (var d = 4u; d > 0u; d--) {
        let c = rest % p.batch[d - 1u];
        rest = rest / p.batch[d - 1u];
        a_base += c * p.a_batch[d - 1u];
        b_base += c * p.b_batch[d - 1u];
    }
    y_base = z * p.m * p.n;
}

fn dims() -> vec3<u32> {
    return vec3<u32>(p.m, p.n, p.k);
}

fn load_a(row: u32, k: u32) -> f32 {
    return f32(a[a_base + row * p.a_row + k * p.a_col]);
}

fn load_b(k: u32, col: u32) -> f32 {
    return f32(b[b_base + k * p.b_row + col * p.b_col]);
}

fn store(row: u32, col: u32, value: f32) {
    var v = p.alpha * value;
    if p.has_bias == 1u {
        v += p.beta * f32(bias[row * p.c_row + col * p.c_col]);
    }
    let o = y_base + row * p.n + col;
    if p.has_residual == 1u {
        v += f32(residual[o]);
    }
    dst[o] = T(activate(v, p.ep));
}
