// The epilogue Conv, Gemm and MatMul apply to each result before storing it: bias and residual are
// added by the kernel, then `activate` runs the fused activation. `{{ act }}` is that activation's
// expression in x, alpha, beta, lo and hi from the unary table in pycore/webgpu/elementwise.py (so a
// fused ReLU computes exactly what a ReLU node does), or `x` when none is fused.

struct Epilogue {
    alpha: f32,  // LeakyRelu slope, HardSigmoid's factor
    beta: f32,   // HardSigmoid's offset
    lo: f32,     // Clip bounds (finite: WGSL compilers may assume no infinities)
    hi: f32,
}

fn activate(x: f32, e: Epilogue) -> f32 {
    let alpha = e.alpha;
    let beta = e.beta;
    let lo = e.lo;
    let hi = e.hi;
    return {{ act }};
}
