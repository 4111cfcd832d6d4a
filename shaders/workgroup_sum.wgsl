// A sum across one workgroup's invocations through workgroup memory, for kernels in which a
// workgroup owns one result (softmax's rows, batch norm's channels). The including shader declares
// `override WG` (a power of two); every invocation must call reduce_sum, and with uniform control
// flow, since it has barriers.

var<workgroup> part: array<f32, WG>;

fn reduce_sum(li: u32, v: f32) -> f32 {
    part[li] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if li < s {
            part[li] = part[li] + part[li + s];
        }
        workgroupBarrier();
    }
    let r = part[0];
    workgroupBarrier();
    return r;
}
