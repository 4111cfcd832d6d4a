"""The browser binding: `navigator.gpu` through Pyodide's FFI, in the Web Worker.

Differences from the spec-level API the backend sees, all kept in this file: descriptors arrive
snake_case and `js_desc` is the one place that turns them into camelCase JS objects (the command
encoder and compute pass that Device.submit drives are wrapped under wgpu-py's method names);
promises are awaited; numpy data crosses into a fresh Uint8Array before writeBuffer (a view into
the wasm heap could move if the heap grows); mapped ranges are copied out before unmap detaches them.
"""

import js
from pyodide.ffi import JsException, create_proxy, to_js

from .device import OPTIONAL_FEATURES, Device, GPUUnavailable

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


class BrowserDevice(Device):
    NO_API = "navigator.gpu is missing in this browser or worker"
    NO_ADAPTER = "navigator.gpu.requestAdapter() returned null"

    def __init__(self, adapter, device):
        info = getattr(adapter, "info", None)
        name = " ".join(str(getattr(info, k, "") or "") for k in ("vendor", "architecture", "description"))
        super().__init__(
            device,
            info=f"{name.strip() or 'WebGPU adapter'} (browser)",
            # a fallback adapter is a CPU implementation of WebGPU (SwiftShader)
            software=bool(getattr(info, "isFallbackAdapter", False)),
            limits={k: int(getattr(device.limits, camel(k))) for k in LIMITS},
            features=[f for f in OPTIONAL_FEATURES if device.features.has(f)],
        )
        self._on_lost = create_proxy(self._lost)  # kept: the promise may settle much later
        device.lost.then(self._on_lost)

    def _lost(self, info):
        self.lost = self.lost or f"{info.reason or 'unknown'}: {info.message}"

    @classmethod
    def _gpu(cls):
        return getattr(js.navigator, "gpu", None)

    @classmethod
    async def _request_adapter(cls, gpu):
        return await gpu.requestAdapter(js_desc(power_preference="high-performance"))

    @classmethod
    def _adapter_limit(cls, adapter, name):
        return getattr(adapter.limits, camel(name))

    @classmethod
    def _adapter_has(cls, adapter, feature):
        return bool(adapter.features.has(feature))

    @classmethod
    async def _request_device(cls, adapter, limits, features):
        try:
            return await adapter.requestDevice(
                js_desc(required_features=list(features), required_limits=limits)
            )
        except JsException as e:
            raise GPUUnavailable(f"request_device was rejected: {_message(e)}") from None

    def _create_buffer(self, size, usage):
        return self.raw.createBuffer(js_desc(size=size, usage=usage))

    def write_buffer(self, buffer, offset, data):
        view = memoryview(data).cast("B")
        staged = js.Uint8Array.new(view.nbytes)
        staged.assign(view)
        self.raw.queue.writeBuffer(buffer, offset, staged)

    async def read_buffer(self, buffer, size):
        await buffer.mapAsync(MAP_MODE_READ, 0, size)
        try:
            return buffer.getMappedRange(0, size).to_bytes()
        finally:
            buffer.unmap()

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

    def _create_bind_group(self, pipeline, entries):
        return self.raw.createBindGroup(js_desc(layout=pipeline.getBindGroupLayout(0), entries=entries))

    def _command_encoder(self):
        return _Encoder(self.raw.createCommandEncoder())

    def _queue_submit(self, command_buffer):
        self.raw.queue.submit(to_js([command_buffer]))

    def push_error_scope(self):
        self.raw.pushErrorScope("out-of-memory")
        self.raw.pushErrorScope("validation")

    async def pop_error_scope(self):
        pending = [self.raw.popErrorScope(), self.raw.popErrorScope()]  # popped in order, awaited after
        errors = [await p for p in pending]
        return next((_message(e) for e in errors if e is not None), None)

    def _lost_reason(self, error):
        """A lost device fails mapAsync before its `lost` promise may have settled."""
        text = _message(error)
        return text if "lost" in text.lower() else None


class _Encoder:
    """A GPUCommandEncoder under wgpu-py's method names, for Device.submit."""

    def __init__(self, encoder):
        self.js = encoder

    def copy_buffer_to_buffer(self, src, src_offset, dst, dst_offset, size):
        self.js.copyBufferToBuffer(src, src_offset, dst, dst_offset, size)

    def begin_compute_pass(self):
        return _ComputePass(self.js.beginComputePass())

    def finish(self):
        return self.js.finish()


class _ComputePass:
    """A GPUComputePassEncoder under wgpu-py's method names."""

    def __init__(self, compute):
        self.js = compute

    def set_pipeline(self, pipeline):
        self.js.setPipeline(pipeline)

    def set_bind_group(self, index, bind_group):
        self.js.setBindGroup(index, bind_group)

    def dispatch_workgroups(self, x, y, z):
        self.js.dispatchWorkgroups(x, y, z)

    def end(self):
        self.js.end()
