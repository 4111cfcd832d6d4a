"""WebGPU faults for the tests, made by wrapping a real binding, so production code has no fault
branches and what fails is the real thing: a device binding (pycore/webgpu/device.py) subclassed to
fail the step a fault names. The browser tests do the same to navigator.gpu (browser/gpu_faults.js).

    dev = await faulty(NativeDevice, "device-reject").open()   # GPUUnavailable: rejected, for real
"""

FAULTS = ("no-gpu", "no-adapter", "device-reject", "shader-fail", "no-f16")
# device-reject asks for one more than the adapter has of this limit: a genuine refusal
OVER_LIMIT = "max_compute_workgroup_storage_size"
# shader-fail gives every shader a function that cannot compile: the compiler's own error comes back
BROKEN = "\nfn broken() -> f32 { return 1.0 + ; }\n"


def faulty(binding, fault):
    """A subclass of the Device class `binding` that fails as `fault` (one of FAULTS) says: no API,
    no adapter, a device request over the adapter's limits, shaders that do not compile, or an
    adapter without shader-f16."""
    if fault not in FAULTS:
        raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")

    class Faulty(binding):
        @classmethod
        def _gpu(cls):
            return None if fault == "no-gpu" else super()._gpu()

        @classmethod
        async def _request_adapter(cls, gpu):
            return None if fault == "no-adapter" else await super()._request_adapter(gpu)

        @classmethod
        def _adapter_has(cls, adapter, feature):
            return fault != "no-f16" and super()._adapter_has(adapter, feature)

        @classmethod
        async def _request_device(cls, adapter, limits, features):
            if fault == "device-reject":
                limits = {**limits, OVER_LIMIT: cls._adapter_limit(adapter, OVER_LIMIT) + 1}
            return await super()._request_device(adapter, limits, features)

        async def create_compute_pipeline(self, code, constants, label):
            code = code + BROKEN if fault == "shader-fail" else code
            return await super().create_compute_pipeline(code, constants, label)

    Faulty.__name__ = f"Faulty{binding.__name__}"
    return Faulty
