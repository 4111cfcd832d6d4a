// Shared prelude: the loader puts this in front of every kernel before compiling it.
// The kernels' placeholders (a name in double braces) are filled by pycore/webgpu/shaders.py;
// this file has none.

// The storage element: every tensor is f32 words (float16 tensors are packed two to a word and
// widened by half_unpack.wgsl before a kernel reads them).
alias T = f32;

fn sigmoid(x: f32) -> f32 {
    // exp(-x) overflows to +inf for x < -88, and 1 / inf = 0 is the right limit
    return 1.0 / (1.0 + exp(-x));
}

fn tanh_safe(x: f32) -> f32 {
    // some backends compute tanh as a ratio of exponentials that is inf / inf for large |x|
    return tanh(clamp(x, -15.0, 15.0));
}

// Shapes and strides of up to 8 dimensions travel as two vec4s (uniform arrays need 16-byte strides).
fn at8(v: array<vec4<u32>, 2>, i: u32) -> u32 {
    return v[i / 4u][i % 4u];
}

// Dispatches larger than 65535 workgroups in x spill into y; this is the flat invocation index.
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
    return gid.x + gid.y * nwg.x * wg;
}

// Backward window kernels gather: the output position along one axis whose kernel tap k covers
// input position i (for a window of that stride, leading pad and dilation), or -1 where none does.
fn window_source(i: u32, k: u32, stride: u32, pad: u32, dil: u32, size: u32) -> i32 {
    let t = i32(i + pad) - i32(k * dil);
    if t < 0 || u32(t) % stride != 0u || u32(t) / stride >= size {
        return -1;
    }
    return i32(u32(t) / stride);
}

// Infinity and NaN cannot be WGSL constants (const evaluation rejects them); build them at run time.
fn inf_or_nan(x: f32, bits: u32) -> f32 {
    return bitcast<f32>(bits | (bitcast<u32>(x) & 0u));
}

// ONNX Pow: WGSL pow() is undefined for negative bases and for 0, yet x ** 2 and x ** 3 are common.
fn pow_onnx(a: f32, b: f32) -> f32 {
    if a == 0.0 {
        if b > 0.0 {
            return 0.0;
        }
        return select(1.0, inf_or_nan(a, 0x7f800000u), b < 0.0);
    }
    let r = pow(abs(a), b);
    if a > 0.0 {
        return r;
    }
    if b == floor(b) {
        return select(r, -r, b - 2.0 * floor(b * 0.5) == 1.0);
    }
    return inf_or_nan(a, 0x7fc00000u);  // a negative base to a fractional power, as numpy: NaN
}

// f32 rounded to the nearest float16 (ties to even, subnormals, overflow to inf) as numpy's
// astype(float16) does; pack2x16float leaves the rounding direction to the implementation.
fn round_f16(x: f32) -> f32 {
    let a = abs(x);
    let e = max(i32((bitcast<u32>(a) >> 23u) & 0xffu) - 127, -14);  // f16 subnormals share 2^-14's step
    let q = bitcast<f32>(u32(e - 10 + 127) << 23u);  // the f16 step at this binade, a power of two
    var r = round(a / q) * q;  // WGSL round() breaks ties to even
    if r > 65504.0 {
        r = inf_or_nan(x, 0x7f800000u);
    }
    return bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(x) & 0x80000000u));
}
