// int64 arithmetic on int64 tensors held as i32 (pycore/webgpu/step.py ELEMENT): each function gives
// the i32 result and, where the true int64 value leaves int32's range (where it would wrap or
// saturate), stores 1u in `overflow`; the backend reads that word back with the outputs and
// refuses the run, so a wrapped value never reaches the caller. `{{ flag }}` is the binding after
// the kernel's own, where the backend binds this step's word of its flag buffer.

@group(0) @binding({{ flag }}) var<storage, read_write> overflow: array<u32>;

const I32_MIN: i32 = i32(-2147483647) - 1;

fn flag_unless(ok: bool) {
    if !ok {
        overflow[0] = 1u;
    }
}

fn add_checked(a: i32, b: i32) -> i32 {
    let r = a + b;  // concrete i32 arithmetic wraps; it left the range iff r's sign is neither a's nor b's
    flag_unless(((a ^ r) & (b ^ r)) >= 0);
    return r;
}

fn sub_checked(a: i32, b: i32) -> i32 {
    let r = a - b;
    flag_unless(((a ^ b) & (a ^ r)) >= 0);
    return r;
}

fn mul_checked(a: i32, b: i32) -> i32 {
    let r = a * b;
    // r / a undoes an exact product; a = 0 and a = -1 are tested apart (select evaluates both
    // sides), so the division never meets a zero or MIN / -1
    let d = select(a, 1, a == 0 || a == -1);
    flag_unless(a == 0 || select(r / d == b, b != I32_MIN, a == -1));
    return r;
}

fn div_checked(a: i32, b: i32) -> i32 {
    flag_unless(!(a == I32_MIN && b == -1));  // 2**31, the one quotient past int32
    return a / b;
}

fn neg_checked(x: i32) -> i32 {
    flag_unless(x != I32_MIN);
    return -x;
}

fn abs_checked(x: i32) -> i32 {
    flag_unless(x != I32_MIN);
    return abs(x);
}

// Cast float -> int64: trunc(x) is held only in [-2**31, 2**31); NaN and infinities are not
// either (numpy gives int64's minimum for them). Tested on the bits: a compiler may assume floats
// are finite, and 2**31 is 0x4f000000.
fn int64_from(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    flag_unless((bits & 0x7fffffffu) < 0x4f000000u || bits == 0xcf000000u);
    return trunc(x);
}
