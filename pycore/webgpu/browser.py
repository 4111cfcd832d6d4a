"""The browser binding: `navigator.gpu` through Pyodide's FFI, in the Web Worker.

Differences from the spec-level API the backend sees, all kept in this file: descriptors arrive
snake_case and `js_desc` is the one place that turns them into camelCase JS objects; promises are
awaited; numpy data crosses into a fresh Uint8Array before writeBuffer (a view into the wasm heap
could move if the heap grows); mapped ranges are copied out before unmap detaches them.
"""

import js
from pyodide.ffi import JsException, create_proxy, to_js

from .device import GPUUnavailable, Tally

MAP_MODE_READ = 0x1
# the device limits the backend reads
LIMITS = ["max_storage_buffer_binding_size", "max_buffer_size", "min_uniform_buffer_offset_alignment"]


def camel(name):
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _camel_keys(value):
    if isinstance(value, dict):
        # pipeline constants are WGSL identifiers: they keep their spelling
        return {camel(k): (v if k == "constants" else _camel_keys(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_camel_keys(v) for v in value]
    return value


def js_desc(**desc):
    """The only snake_case -> camelCase conversion: a descriptor as a plain JS object."""
    return to_js(_camel_keys(desc), dict_converter=js.Object.fromEntries)


def _message(e):
    return str(getattr(e, "message", None) or e)


class BrowserDevice:
    def __init__(self, adapter, device):
        self.raw = device
        info = getattr(adapter, "info", None)
        name = " ".join(str(getattr(info, k, "") or "") for k in ("vendor", "architecture", "description"))
        self.info = f"{name.strip() or 'WebGPU adapter'} (browser)"
        # a fallback adapter is a CPU implementation of WebGPU (SwiftShader): correct but slow
        self.software = bool(getattr(info, "isFallbackAdapter", False))
        self.limits = {k: int(getattr(device.limits, camel(k))) for k in LIMITS}
        self.lost = None
        self.tally = Tally()
        self.pipelines = {}  # the backend's pipeline cache, as long-lived as the device
        self._on_lost = create_proxy(self._lost)  # kept: the promise may settle much later
        device.lost.then(self._on_lost)

    def _lost(self, info):
        self.lost = self.lost or f"{info.reason or 'unknown'}: {info.message}"

    @classmethod
    async def open(cls, fault=None):
        gpu = None if fault == "no-gpu" else getattr(js.navigator, "gpu", None)
        if gpu is None:
            raise GPUUnavailable("no WebGPU API: navigator.gpu is missing in this browser or worker")
        adapter = None
        if fault != "no-adapter":
            adapter = await gpu.requestAdapter(js_desc(power_preference="high-performance"))
        if adapter is None:
            raise GPUUnavailable("no WebGPU adapter: navigator.gpu.requestAdapter() returned null")
        # a large model needs the adapter's largest buffers and bindings, not the spec's defaults
        limits = {k: getattr(adapter.limits, k) for k in ("maxStorageBufferBindingSize", "maxBufferSize")}
        if fault == "device-reject":  # ask for more than the adapter has: a genuine refusal
            limits["maxComputeWorkgroupStorageSize"] = adapter.limits.maxComputeWorkgroupStorageSize + 1
        try:
            device = await adapter.requestDevice(js_desc(required_limits=limits))
        except JsException as e:
            raise GPUUnavailable(f"request_device was rejected: {_message(e)}") from None
        return cls(adapter, device)

    def push_error_scope(self):
        self.raw.pushErrorScope("out-of-memory")
        self.raw.pushErrorScope("validation")

    async def pop_error_scope(self):
        """The first error the scopes caught, as text, or None."""
        pending = [self.raw.popErrorScope(), self.raw.popErrorScope()]  # popped in order, awaited after
        errors = [await p for p in pending]
        return next((_message(e) for e in errors if e is not None), None)

    def create_buffer(self, size, usage):
        return self.tally.add(self.raw.createBuffer(js_desc(size=size, usage=usage)), size)

    def destroy_buffer(self, buffer):
        self.tally.remove(buffer)
        buffer.destroy()

    def stats(self):
        return self.tally.stats()

    def write_buffer(self, buffer, offset, data):
        view = memoryview(data).cast("B")
        staged = js.Uint8Array.new(view.nbytes)
        staged.assign(view)
        self.raw.queue.writeBuffer(buffer, offset, staged)

    async def create_compute_pipeline(self, code, constants, label):
        # push and pop with no await between: concurrent compiles must not share a scope
        self.raw.pushErrorScope("validation")
        module = self.raw.createShaderModule(js_desc(code=code, label=label))
        popped = self.raw.popErrorScope()
        info = await module.getCompilationInfo()
        scope = await popped
        errors = [f"line {m.lineNum}:{m.linePos}: {m.message}" for m in info.messages if m.type == "error"]
        if errors or scope is not None:
            detail = "; ".join(errors) or _message(scope)
            raise GPUUnavailable(f"shader {label} failed to compile: {detail}")
        try:
            return await self.raw.createComputePipelineAsync(
                js_desc(
                    label=label,
                    layout="auto",
                    compute={"module": module, "entry_point": "main", "constants": constants},
                )
            )
        except JsException as e:
            raise GPUUnavailable(f"shader {label} failed to compile: {_message(e)}") from None

    def create_bind_group(self, pipeline, buffers):
        entries = [
            {"binding": i, "resource": {"buffer": b, "offset": off, "size": size}}
            for i, (b, off, size) in enumerate(buffers)
        ]
        return self.raw.createBindGroup(js_desc(layout=pipeline.getBindGroupLayout(0), entries=entries))

    def submit(self, dispatches, copies, before=()):
        encoder = self.raw.createCommandEncoder()
        for src, src_offset, dst, dst_offset, size in before:
            encoder.copyBufferToBuffer(src, src_offset, dst, dst_offset, size)
        compute = encoder.beginComputePass()
        current = None
        for pipeline, bind_group, (x, y, z) in dispatches:
            if pipeline is not current:
                compute.setPipeline(pipeline)
                current = pipeline
            compute.setBindGroup(0, bind_group)
            compute.dispatchWorkgroups(x, y, z)
        compute.end()
        for src, src_offset, dst, dst_offset, size in copies:
            encoder.copyBufferToBuffer(src, src_offset, dst, dst_offset, size)
        self.raw.queue.submit(to_js([encoder.finish()]))

    async def read_buffer(self, buffer, size):
        await buffer.mapAsync(MAP_MODE_READ, 0, size)
        try:
            return buffer.getMappedRange(0, size).to_bytes()
        finally:
            buffer.unmap()

    def destroy(self):
        self.lost = self.lost or "destroyed"
        self.raw.destroy()

    def check_lost(self, error):
        """A lost device fails mapAsync before its `lost` promise may have settled."""
        if self.lost is None and "lost" in _message(error).lower():
            self.lost = _message(error)
        return self.lost
