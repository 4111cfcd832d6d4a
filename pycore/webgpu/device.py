"""The device the WebGPU backend is written against, as a class: `Device` holds what every binding
shares, and a binding (navigator.py: Pyodide's FFI to `navigator.gpu`; native.py: wgpu-py) subclasses
it and makes only the raw calls, its abstract methods. auto.py picks the binding.

The vocabulary is wgpu-py's: snake_case names, limits as a dict with snake_case keys, buffers and
pipelines as the binding's own objects (`raw` is its device). The public methods are what the
backend calls; the abstract ones are what a binding writes, and of those the ones with a leading
underscore only `Device` itself calls. Python refuses to make a binding that misses one.
"""

from abc import ABC, abstractmethod

from ..errors import PycoreError

# GPUBufferUsage values from the WebGPU spec; wgpu-py and the browser share them.
MAP_READ, COPY_SRC, COPY_DST, UNIFORM, STORAGE = 0x1, 0x4, 0x8, 0x40, 0x80

# a large model needs the adapter's largest buffers and bindings, not the spec's defaults
SIZE_LIMITS = ("max_storage_buffer_binding_size", "max_buffer_size")
# asked for where the adapter has them: shader-f16 lets float16 tensors stay on the GPU as f16
OPTIONAL_FEATURES = ("shader-f16",)


class GPUUnavailable(PycoreError):
    """No WebGPU API, no adapter, a device request that was refused, or a shader that did not compile."""


class SoftwareAdapter(GPUUnavailable):
    """The only adapter is a CPU implementation of WebGPU, refused where the caller asked for speed."""


class DeviceLost(PycoreError):
    """The GPU device went away (driver reset, tab backgrounded too long, or destroyed on purpose)."""


class Device(ABC):
    """An open WebGPU device: `await Binding.open()`, then buffers, pipelines, bind groups and
    one-encoder submits. Attributes: `info` (the adapter, in words), `software` (a CPU
    implementation of WebGPU: correct but slow), `limits`, `features` (those of OPTIONAL_FEATURES the
    device has), `lost` (why the device went away; None while alive), `pipelines` (the backend's
    cache, as long-lived as the device), `raw`."""

    NO_API = "the binding found no WebGPU entry point"  # why there is no API, in the binding's words
    NO_ADAPTER = "the binding's request_adapter found none"
    REQUIRED_LIMITS = {}  # asked for on top of SIZE_LIMITS

    def __init__(self, raw, info, software, limits, features):
        self.raw, self.info, self.software, self.limits = raw, info, software, limits
        self.features = frozenset(features)
        self.lost = None
        self.pipelines = {}
        self.live = {}  # id -> (buffer, size), for leak checks; holding the buffer keeps its id unique

    @classmethod
    async def open(cls):
        """Adapter and device; GPUUnavailable, saying which step failed, where there is none.
        (The tests make each step fail by subclassing a binding: tests/faults.py.)"""
        gpu = cls._gpu()
        if gpu is None:
            raise GPUUnavailable(f"no WebGPU API: {cls.NO_API}")
        adapter = await cls._request_adapter(gpu)
        if adapter is None:
            raise GPUUnavailable(f"no WebGPU adapter: {cls.NO_ADAPTER}")
        limits = {**cls.REQUIRED_LIMITS, **{k: cls._adapter_limit(adapter, k) for k in SIZE_LIMITS}}
        features = [f for f in OPTIONAL_FEATURES if cls._adapter_has(adapter, f)]
        return cls(adapter, await cls._request_device(adapter, limits, features))

    def create_buffer(self, size, usage):
        buffer = self._create_buffer(size, usage)
        self.live[id(buffer)] = (buffer, size)
        return buffer

    def destroy_buffer(self, buffer):
        self.live.pop(id(buffer), None)
        buffer.destroy()

    def stats(self):
        """Live buffers created through this device: count and bytes."""
        return {"buffers": len(self.live), "bytes": sum(size for _, size in self.live.values())}

    def create_bind_group(self, pipeline, buffers):
        """Group 0 of `pipeline`, binding i to the i-th (buffer, offset, size)."""
        entries = [
            {"binding": i, "resource": {"buffer": b, "offset": off, "size": size}}
            for i, (b, off, size) in enumerate(buffers)
        ]
        return self._create_bind_group(pipeline, entries)

    def submit(self, dispatches, copies, before=()):
        """ONE encoder: the `before` copies, ONE compute pass of (pipeline, bind group, (x, y, z))
        dispatches, the `copies`, ONE submit. A copy is (src, src_offset, dst, dst_offset, size)."""
        encoder = self._command_encoder()
        for copy in before:
            encoder.copy_buffer_to_buffer(*copy)
        compute = encoder.begin_compute_pass()
        current = None
        for pipeline, bind_group, (x, y, z) in dispatches:
            if pipeline is not current:
                compute.set_pipeline(pipeline)
                current = pipeline
            compute.set_bind_group(0, bind_group)
            compute.dispatch_workgroups(x, y, z)
        compute.end()
        for copy in copies:
            encoder.copy_buffer_to_buffer(*copy)
        self._queue_submit(encoder.finish())

    def destroy(self):
        self.lost = self.lost or "destroyed"
        self.raw.destroy()

    def check_lost(self, error):
        """Why the device was lost, if it was: `error` (from a failing call) may be the first word."""
        if self.lost is None:
            self.lost = self._lost_reason(error)
        return self.lost

    # The raw calls: what each binding writes.

    @classmethod
    @abstractmethod
    def _gpu(cls):
        """The API's entry point (navigator.gpu, wgpu.gpu), or None."""

    @classmethod
    @abstractmethod
    async def _request_adapter(cls, gpu):
        """A high-performance adapter, or None."""

    @classmethod
    @abstractmethod
    def _adapter_limit(cls, adapter, name):
        """One of the adapter's limits, by its snake_case name."""

    @classmethod
    @abstractmethod
    def _adapter_has(cls, adapter, feature):
        """Whether the adapter offers this feature (by its spec name, e.g. "shader-f16")."""

    @classmethod
    @abstractmethod
    async def _request_device(cls, adapter, limits, features):
        """A device with these required limits (snake_case keys) and features; GPUUnavailable if
        refused."""

    @abstractmethod
    def _create_buffer(self, size, usage):
        """A new buffer of `size` bytes with these GPUBufferUsage flags."""

    @abstractmethod
    def write_buffer(self, buffer, offset, data):
        """A queue write of `data` (a numpy array, any dtype) at `offset`, no mapping."""

    @abstractmethod
    async def read_buffer(self, buffer, size):
        """The first `size` bytes of a MAP_READ buffer, as bytes: map, copy out, unmap."""

    @abstractmethod
    async def create_compute_pipeline(self, code, constants, label):
        """A compute pipeline with entry point `main`, layout "auto" and these override constants;
        GPUUnavailable, with the compiler's words, if the shader does not compile."""

    @abstractmethod
    def _create_bind_group(self, pipeline, entries):
        """A bind group for `pipeline`'s group 0 from spec-shaped entries (snake_case keys)."""

    @abstractmethod
    def _command_encoder(self):
        """A command encoder with wgpu-py's method names (copy_buffer_to_buffer,
        begin_compute_pass, finish), its compute pass likewise (set_pipeline, set_bind_group,
        dispatch_workgroups, end)."""

    @abstractmethod
    def _queue_submit(self, command_buffer):
        """Submits one finished command buffer to the device's queue."""

    @abstractmethod
    def push_error_scope(self):
        """Starts catching validation and out-of-memory errors that the binding reports late."""

    @abstractmethod
    async def pop_error_scope(self):
        """The first error caught since push_error_scope, as text, or None."""

    @abstractmethod
    def _lost_reason(self, error):
        """Why the device was lost, if `error` says it was; else None."""
