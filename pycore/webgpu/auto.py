"""The one place that picks the WebGPU binding: Pyodide's FFI to `navigator.gpu` in the browser,
the `wgpu` package (wgpu-py) elsewhere. Both are `Device`s (device.py)."""

import sys


def binding():
    """The Device subclass for this platform, imported only here (the browser one needs Pyodide)."""
    if sys.platform == "emscripten":
        from .navigator import BrowserDevice

        return BrowserDevice
    from .native import NativeDevice

    return NativeDevice


async def open_device():
    """A new device of this platform's binding."""
    return await binding().open()


_shared = None


async def shared_device():
    """The device every backend uses unless given one: pipelines compile once per page, and a switch
    of path or model opens no new device. A lost device is replaced at the next request."""
    global _shared
    if _shared is None or _shared.lost:
        _shared = await open_device()
    return _shared
