// Shared prelude: the loader puts this in front of every kernel before compiling it.
// The kernels' placeholders (a name in double braces) are filled by pycore/webgpu/shaders.py;
// this file has one, T.

// The storage element of the float kernels: f32, or f16 for a float16 model on a device with
// shader-f16 (shaders.py then puts `enable f16;` first). Kernels load T into f32, compute in f32
// and store T(result), so float16 rounds once per kernel, as the CPU path's float32 accumulation
// does. The elementwise and copy kernels name their element types instead (i32 for integers, u32
// for bools), filled in by the planners. (The tensor device's float16 is packed two to a word and
// widened by half_unpack.wgsl, on any device.)
alias T = {{ T }};

fn sigmoid(x: f32) -> f32 {
    // exp(-x) overflows to +inf for x < -88, and 1 / inf = 0 is the right limit
    return 1.0 / (1.0 + exp(-x));
}

fn tanh_safe(x: f32) -> f32 {
    // some backends compute tanh as a ratio of exponentials: inf / inf for large |x|, and
    // (e^2x - 1) / (e^2x + 1) cancels near 0, where the series to x^7 is exact to 1e-9
    if abs(x) < 0.125 {
        let z = x * x;
        return x * (1.0 - z * (1.0 / 3.0 - z * (2.0 / 15.0 - z * (17.0 / 315.0))));
    }
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

// some backends' asin and acos err by 2.5e-4 near |x| = 1; through atan2 of the two legs of the
// triangle, (1 - x)(1 + x) exact where 1 - x * x cancels, they err as atan does (a few ulps)
fn asin_acc(x: f32) -> f32 {
    return atan2(x, sqrt((1.0 - x) * (1.0 + x)));
}

fn acos_acc(x: f32) -> f32 {
    return atan2(sqrt((1.0 - x) * (1.0 + x)), x);
}

// WGSL leaves asin, acos, acosh, atanh and sqrt of a negative indeterminate outside their domain
// (one backend's asin(-2.5) is -0); numpy's and ONNX's answer there is NaN
fn nan_unless(y: f32, ok: bool) -> f32 {
    return select(inf_or_nan(y, 0x7fc00000u), y, ok);
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

// C's fmod: WGSL's % is a - b * trunc(a / b), which is NaN for an infinite b, where fmod is a
// (the test is on the bits: a compiler may assume floats are finite)
fn mod_trunc(a: f32, b: f32) -> f32 {
    return select(a % b, a, (bitcast<u32>(b) & 0x7fffffffu) == 0x7f800000u);
}

// a mod b with the sign of b, as numpy's mod and Python's % (ONNX Mod with fmod=0)
fn mod_floor(a: f32, b: f32) -> f32 {
    let r = mod_trunc(a, b);
    return select(r, r + b, r != 0.0 && (r < 0.0) != (b < 0.0));
}

// integer a mod b with the sign of b (ONNX Mod with fmod=0); WGSL's % takes a's sign
fn mod_floor_int(a: i32, b: i32) -> i32 {
    let r = a % b;
    return select(r, r + b, r != 0 && (r < 0) != (b < 0));
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

// erf's Taylor series, for |x| < 0.5: it keeps small values accurate relative to themselves
// (GELU and its gradient live there)
fn erf_series(x: f32) -> f32 {
    let z = x * x;
    let s = 1.0 - z * (1.0 / 3.0 - z * (0.1 - z * (1.0 / 42.0 - z * (1.0 / 216.0 - z / 1320.0))));
    return 1.1283791670955126 * x * s;  // 2 / sqrt(pi)
}

// erfc(a) for a >= 0, accurate relative to itself: 1 - erf below 0.5, Abramowitz-Stegun 7.1.26
// (absolute error 1.5e-7) up to 2, erfc's continued fraction (20 levels) beyond, where that
// formula's relative error would grow to percents (GELU's tail below x = -3 lives there).
fn erfc_pos(a: f32) -> f32 {
    if a < 0.5 {
        return 1.0 - erf_series(a);
    }
    if a < 2.0 {
        let t = 1.0 / (1.0 + 0.3275911 * a);
        let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        return poly * exp(-a * a);
    }
    var f = 0.0;
    for (var k = 20u; k > 0u; k--) {
        f = 0.5 * f32(k) / (a + f);
    }
    return exp(-a * a) / (1.7724538509055159 * (a + f));  // sqrt(pi)
}

// erf to ~1.5e-7 absolute, and relative to itself near 0
fn erf_approx(x: f32) -> f32 {
    if abs(x) < 0.5 {
        return erf_series(x);
    }
    let r = 1.0 - erfc_pos(abs(x));
    return select(r, -r, x < 0.0);
}

// x * Phi(x), Phi from erfc of |x| so that the negative tail keeps its relative accuracy
fn gelu_erf(x: f32) -> f32 {
    let h = 0.5 * erfc_pos(abs(x) * 0.7071067811865476);
    return x * select(1.0 - h, h, x < 0.0);
}

// 0.5 x (1 + tanh(u)) as x sigmoid(2u), which does not cancel where tanh(u) is near -1
fn gelu_tanh(x: f32) -> f32 {
    return x * sigmoid(1.5957691216057308 * (x + 0.044715 * x * x * x));
}

// log(1 + exp(x)) as max(x, 0) + log(1 + e), e = exp(-|x|), which cannot overflow. Below e = 1/8,
// log(1 + e) is its series to e^9 (relative error 1e-9): 1 + e would round e's low bits away, and
// WGSL allows log an absolute error of 2^-21 near 1
fn softplus(x: f32) -> f32 {
    let e = exp(-abs(x));
    var l = log(1.0 + e);
    if e < 0.125 {
        l = e * (1.0 - e * (0.5 - e * (1.0 / 3.0 - e * (0.25 - e * (0.2 - e * (1.0 / 6.0 - e * (1.0 / 7.0 - e * (0.125 - e / 9.0))))))));
    }
    return max(x, 0.0) + l;
}

// x tanh(softplus(x)) with tanh(softplus(x)) = n / (n + 2), n = e^x (e^x + 2): WGSL's tanh of the
// tiny softplus of a negative x may cancel to nothing
fn mish(x: f32) -> f32 {
    if x > 20.0 {
        return x;  // n / (n + 2) is 1 to f32 precision, and e^2x would overflow further on
    }
    let e = exp(x);
    let n = e * (e + 2.0);
    return x * n / (n + 2.0);
}
