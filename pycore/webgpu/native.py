"""The wgpu-py binding (CPython: Vulkan, Metal, D3D12; lavapipe in CI).

Where the browser is asynchronous this binding blocks instead (`map_sync`, plain pipeline
creation): in CPython that is honest, wgpu-native creates pipelines synchronously anyway, and
the backend's coroutines then finish without needing an event loop. wgpu-py spells limits with
dashes; they become snake_case here.
"""

import os
import sys
import tempfile
from contextlib import contextmanager

from .device import OPTIONAL_FEATURES, Device, GPUUnavailable

# WebGPU's default limits, which is what a browser device has unless it asks for more: wgpu-py
# would otherwise hand out the adapter's (larger) limits and hide shaders that break in browsers.
SPEC_LIMITS = {
    "max_compute_workgroup_storage_size": 16384,
    "max_compute_invocations_per_workgroup": 256,
    "max_compute_workgroup_size_x": 256,
    "max_compute_workgroup_size_y": 256,
    "max_compute_workgroup_size_z": 64,
    "max_compute_workgroups_per_dimension": 65535,
    "max_storage_buffers_per_shader_stage": 8,
    "max_storage_buffer_binding_size": 134217728,
    "max_uniform_buffer_binding_size": 65536,
    "max_buffer_size": 268435456,
    "min_uniform_buffer_offset_alignment": 256,
    "min_storage_buffer_offset_alignment": 256,
}

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


def _dashed(name):
    return name.replace("_", "-")


class NativeDevice(Device):
    NO_API = "wgpu.gpu is missing"
    NO_ADAPTER = "request_adapter found no usable GPU"
    # sizes are the exception (SIZE_LIMITS): asking for the adapter's hides no portability bug
    REQUIRED_LIMITS = SPEC_LIMITS

    def __init__(self, adapter, device):
        super().__init__(
            device,
            info=f"{adapter.info['device']} ({adapter.info['backend_type']}, wgpu-py)",
            software=adapter.info["adapter_type"] == "CPU",  # lavapipe/llvmpipe
            limits={k.replace("-", "_"): v for k, v in device.limits.items()},
            features=device.features & set(OPTIONAL_FEATURES),
        )

    @classmethod
    def _gpu(cls):
        try:
            import wgpu
        except ImportError as e:
            raise GPUUnavailable(f"no WebGPU API: the wgpu package cannot be imported ({e})") from None
        return wgpu.gpu

    @classmethod
    async def _request_adapter(cls, gpu):
        try:
            with without_wayland_probe_line():
                return gpu.request_adapter_sync(power_preference="high-performance")
        except RuntimeError:  # wgpu-py raises where the browser resolves to null
            return None

    @classmethod
    def _adapter_limit(cls, adapter, name):
        return adapter.limits[_dashed(name)]

    @classmethod
    def _adapter_has(cls, adapter, feature):
        return feature in adapter.features

    @classmethod
    async def _request_device(cls, adapter, limits, features):
        try:
            return adapter.request_device_sync(
                required_features=list(features), required_limits={_dashed(k): v for k, v in limits.items()}
            )
        except Exception as e:
            raise GPUUnavailable(f"request_device was rejected: {e}") from None

    def _create_buffer(self, size, usage):
        return self.raw.create_buffer(size=size, usage=usage)

    def write_buffer(self, buffer, offset, data):
        self.raw.queue.write_buffer(buffer, offset, data)

    async def read_buffer(self, buffer, size):
        buffer.map_sync("READ", 0, size)
        try:
            return buffer.read_mapped(0, size)
        finally:
            buffer.unmap()

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

    def _create_bind_group(self, pipeline, entries):
        return self.raw.create_bind_group(layout=pipeline.get_bind_group_layout(0), entries=entries)

    def _command_encoder(self):
        return self.raw.create_command_encoder()

    def _queue_submit(self, command_buffer):
        self.raw.queue.submit([command_buffer])

    def push_error_scope(self):
        """wgpu-py raises validation and memory errors where they happen; nothing to collect."""

    async def pop_error_scope(self):
        return None

    def _lost_reason(self, error):
        """wgpu-native has no `lost` promise; it reports a lost device in the failing call's error."""
        text = str(error)
        return text.strip().splitlines()[-1] if "lost" in text.lower() else None
