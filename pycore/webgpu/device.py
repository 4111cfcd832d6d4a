"""The narrow device interface the WebGPU backend is written against, and the one place that picks
the binding: Pyodide's FFI to `navigator.gpu` in the browser, the `wgpu` package (wgpu-py) elsewhere.

Both bindings speak wgpu-py's snake_case vocabulary and offer the same methods:

    await Binding.open(fault)                 adapter + device (fault: test hook, see FAULTS)
    .info, .limits (dict, snake_case keys)
    .create_buffer(size, usage) / .destroy_buffer(buffer) / .stats()
    .write_buffer(buffer, offset, array)      queue write, no mapping
    await .create_compute_pipeline(code, constants, label)   raises GPUUnavailable on compile errors
    .create_bind_group(pipeline, [(buffer, offset, size), ...])   bindings 0..n of group 0
    .submit(dispatches, copies, before=())    ONE encoder: copies before, ONE compute pass, copies, ONE submit
    await .read_buffer(buffer, size)          map, copy out, unmap
    .push_error_scope() / await .pop_error_scope()   errors a binding reports late, as text or None
    .destroy() / .lost                        the device, and why it was lost (None while alive)
    .raw                                      the binding's own device object
"""

import sys

from ..errors import PycoreError

# GPUBufferUsage values from the WebGPU spec; wgpu-py and the browser share them.
MAP_READ, COPY_SRC, COPY_DST, UNIFORM, STORAGE = 0x1, 0x4, 0x8, 0x40, 0x80

FAULTS = ("no-gpu", "no-adapter", "device-reject", "shader-fail")


class GPUUnavailable(PycoreError):
    """No WebGPU API, no adapter, a device request that was refused, or a shader that did not compile."""


class SoftwareAdapter(GPUUnavailable):
    """The only adapter is a CPU implementation of WebGPU, refused where the caller asked for speed."""


class DeviceLost(PycoreError):
    """The GPU device went away (driver reset, tab backgrounded too long, or destroyed on purpose)."""


def check_fault(fault):
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")


async def open_device(fault=None):
    check_fault(fault)
    if sys.platform == "emscripten":
        from .browser import BrowserDevice as binding
    else:
        from .native import NativeDevice as binding
    return await binding.open(fault)


_shared = None


async def shared_device():
    """The device every backend uses unless given one: pipelines compile once per page, and a switch
    of path or model opens no new device. A lost device is replaced at the next request."""
    global _shared
    if _shared is None or _shared.lost:
        _shared = await open_device()
    return _shared


class Tally:
    """Live buffer count and bytes, for leak checks; both bindings keep one."""

    def __init__(self):
        self.live = {}  # id -> (buffer, size); holding the buffer keeps its id unique

    def add(self, buffer, size):
        self.live[id(buffer)] = (buffer, size)
        return buffer

    def remove(self, buffer):
        self.live.pop(id(buffer), None)

    def stats(self):
        return {"buffers": len(self.live), "bytes": sum(size for _, size in self.live.values())}
