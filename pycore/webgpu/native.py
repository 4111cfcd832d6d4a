"""The wgpu-py binding (CPython: Vulkan, Metal, D3D12; lavapipe in CI).

Where the browser is asynchronous this binding blocks instead (`map_sync`, plain pipeline
creation): in CPython that is honest, wgpu-native creates pipelines synchronously anyway, and
the backend's coroutines then finish without needing an event loop.
"""

import os
import sys
import tempfile
from contextlib import contextmanager

from .device import GPUUnavailable, Tally

# WebGPU's default limits, which is what a browser device has unless it asks for more: wgpu-py
# would otherwise hand out the adapter's (larger) limits and hide shaders that break in browsers.
SPEC_LIMITS = {
    "max-compute-workgroup-storage-size": 16384,
    "max-compute-invocations-per-workgroup": 256,
    "max-compute-workgroup-size-x": 256,
    "max-compute-workgroup-size-y": 256,
    "max-compute-workgroup-size-z": 64,
    "max-compute-workgroups-per-dimension": 65535,
    "max-storage-buffers-per-shader-stage": 8,
    "max-storage-buffer-binding-size": 134217728,
    "max-uniform-buffer-binding-size": 65536,
    "max-buffer-size": 268435456,
    "min-uniform-buffer-offset-alignment": 256,
    "min-storage-buffer-offset-alignment": 256,
}
SIZE_LIMITS = ("max-storage-buffer-binding-size", "max-buffer-size")
# Mesa's device-select Vulkan layer asks the Wayland compositor for its GPU while wgpu enumerates
# the adapters; without a Wayland session, libwayland prints this (from C, on fd 2) each time.
WAYLAND_PROBE = b"error: XDG_RUNTIME_DIR is invalid or not set in the environment.\n"


@contextmanager
def without_wayland_probe_line():
    """Holds back what is written to fd 2 meanwhile, then writes it out less WAYLAND_PROBE's lines:
    a real error still gets through, only later."""
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no fd 2 (pythonw), or a closed sys.stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            if sys.stderr is not None:
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            rest = b"".join(line for line in held.read().splitlines(True) if line != WAYLAND_PROBE)
            while rest:
                rest = rest[os.write(2, rest) :]


class NativeDevice:
    def __init__(self, adapter, device):
        self.raw = device
        self.info = f"{adapter.info['device']} ({adapter.info['backend_type']}, wgpu-py)"
        self.software = adapter.info["adapter_type"] == "CPU"  # lavapipe/llvmpipe: correct but slow
        self.limits = {k.replace("-", "_"): v for k, v in device.limits.items()}
        self.lost = None
        self.tally = Tally()
        self.pipelines = {}  # the backend's pipeline cache, as long-lived as the device

    @classmethod
    async def open(cls, fault=None):
        try:
            import wgpu
        except ImportError as e:
            raise GPUUnavailable(f"no WebGPU API: the wgpu package cannot be imported ({e})") from None
        gpu = None if fault == "no-gpu" else wgpu.gpu
        if gpu is None:
            raise GPUUnavailable("no WebGPU API: wgpu.gpu is missing")
        adapter = None
        if fault != "no-adapter":
            try:
                with without_wayland_probe_line():
                    adapter = gpu.request_adapter_sync(power_preference="high-performance")
            except RuntimeError:  # wgpu-py raises where the browser resolves to null
                adapter = None
        if adapter is None:
            raise GPUUnavailable("no WebGPU adapter: request_adapter found no usable GPU")
        # sizes are the exception: a large model needs the adapter's largest buffers and bindings,
        # and asking for them hides no portability bug in a shader
        limits = {**SPEC_LIMITS, **{k: adapter.limits[k] for k in SIZE_LIMITS}}
        if fault == "device-reject":  # ask for more than the adapter has: a genuine refusal
            limits["max-compute-workgroup-storage-size"] = (
                adapter.limits["max-compute-workgroup-storage-size"] + 1
            )
        try:
            device = adapter.request_device_sync(required_limits=limits)
        except Exception as e:
            raise GPUUnavailable(f"request_device was rejected: {e}") from None
        return cls(adapter, device)

    def push_error_scope(self):
        """wgpu-py raises validation and memory errors where they happen; nothing to collect."""

    async def pop_error_scope(self):
        return None

    def create_buffer(self, size, usage):
        return self.tally.add(self.raw.create_buffer(size=size, usage=usage), size)

    def destroy_buffer(self, buffer):
        self.tally.remove(buffer)
        buffer.destroy()

    def stats(self):
        return self.tally.stats()

    def write_buffer(self, buffer, offset, data):
        self.raw.queue.write_buffer(buffer, offset, data)

    async def create_compute_pipeline(self, code, constants, label):
        import wgpu

        try:
            module = self.raw.create_shader_module(label=label, code=code)
            return self.raw.create_compute_pipeline(
                label=label,
                layout="auto",
                compute={"module": module, "entry_point": "main", "constants": constants},
            )
        except wgpu.GPUError as e:
            raise GPUUnavailable(f"shader {label} failed to compile: {e}") from None

    def create_bind_group(self, pipeline, buffers):
        entries = [
            {"binding": i, "resource": {"buffer": b, "offset": off, "size": size}}
            for i, (b, off, size) in enumerate(buffers)
        ]
        return self.raw.create_bind_group(layout=pipeline.get_bind_group_layout(0), entries=entries)

    def submit(self, dispatches, copies, before=()):
        encoder = self.raw.create_command_encoder()
        for src, src_offset, dst, dst_offset, size in before:
            encoder.copy_buffer_to_buffer(src, src_offset, dst, dst_offset, size)
        compute = encoder.begin_compute_pass()
        current = None
        for pipeline, bind_group, (x, y, z) in dispatches:
            if pipeline is not current:
                compute.set_pipeline(pipeline)
                current = pipeline
            compute.set_bind_group(0, bind_group)
            compute.dispatch_workgroups(x, y, z)
        compute.end()
        for src, src_offset, dst, dst_offset, size in copies:
            encoder.copy_buffer_to_buffer(src, src_offset, dst, dst_offset, size)
        self.raw.queue.submit([encoder.finish()])

    async def read_buffer(self, buffer, size):
        buffer.map_sync("READ", 0, size)
        try:
            return buffer.read_mapped(0, size)
        finally:
            buffer.unmap()

    def destroy(self):
        self.lost = self.lost or "destroyed"
        self.raw.destroy()

    def check_lost(self, error):
        """wgpu-native has no `lost` promise; it reports a lost device in the failing call's error."""
        if self.lost is None and "lost" in str(error).lower():
            self.lost = str(error).strip().splitlines()[-1]
        return self.lost
