"""The wasm CPU kernels run natively through wasmtime, as the WGSL ones run through wgpu-py.

A Kernel instantiates one module from build.build_kernels() with a memory of its own, copies numpy
arrays into that memory and reads results back: the module sees what it sees in Pyodide, an
imported memory holding float32 arrays at byte addresses.
"""

import bisect
import weakref

import numpy as np
import wasmtime

import build

PAGE = 1 << 16


def assembled():
    """name -> the .wasm bytes, built as the site builds them (dylink.0 section included)."""
    return {p.stem: p.read_bytes() for p in build.build_kernels()}


class Kernel:
    def __init__(self, wasm, pages=256):
        config = wasmtime.Config()
        config.wasm_relaxed_simd = True
        self.store = wasmtime.Store(wasmtime.Engine(config))
        self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(pages, pages)))
        instance = wasmtime.Instance(self.store, wasmtime.Module(self.store.engine, wasm), [self.memory])
        self.exports = instance.exports(self.store)
        self.bytes = np.frombuffer(self.memory.get_buffer_ptr(self.store), np.uint8)

    def place(self, arrays, fresh=True):
        """Copies arrays into memory from the top down, the first ending exactly at the memory's end (so
        a read past it traps; fresh=False goes on below the last placed), each 4-byte aligned only;
        returns views into memory, same strides."""
        top, views = len(self.bytes) if fresh else self.top, []
        for x in arrays:
            if x is None:
                views.append(None)
                continue
            span = sum((n - 1) * s for n, s in zip(x.shape, x.strides)) + 4 if x.size else 4
            top = (top - span) // 4 * 4
            assert top >= 0, f"{sum(v.nbytes for v in views if v is not None)} bytes do not fit in memory"
            view = np.lib.stride_tricks.as_strided(
                self.bytes[top : top + span].view(np.float32), x.shape, x.strides
            )
            view[...] = x
            views.append(view)
        self.top = top
        return views

    def copying(self, name):
        """(call, address) for code that passes its own numpy arrays, as Pyodide code does: address
        copies an array into memory (once), call runs the export, then copies each writeable array
        back out."""
        copies, self.top = {}, len(self.bytes)

        def address(x):
            if id(x) not in copies:
                copies[id(x)] = (x, self.place([x], fresh=False)[0])
            return self.address(copies[id(x)][1])

        def call(*args):
            self(name, *args)
            for x, view in copies.values():
                if x.flags.writeable:  # a read-only operand (a broadcast view) is an input only
                    x[...] = view

        return call, address

    def address(self, view):
        """A view's byte address in the module's memory."""
        return view.ctypes.data - self.bytes.ctypes.data

    def __call__(self, name, *args):
        return self.exports[name](self.store, *args)


class Memory:
    """Stands in for Pyodide's one memory, where numpy's arrays lie at the addresses the kernels
    use. address(x) is x's place in a virtual space where each array that owns its data has a
    region of its own (so a view's address is its owner's plus its offset, as in Pyodide); a kernel
    called through `calling` sees copies of the regions its pointer arguments fall in, and the
    regions it writes are copied back after it ran."""

    def __init__(self):
        self.starts, self.regions, self.next = {}, [], PAGE  # below PAGE: 0 (none) and 1 (empty)

    def address(self, x):
        owner = x
        while isinstance(owner.base, np.ndarray):
            owner = owner.base
        assert owner.flags.c_contiguous, "an operand's owner must be contiguous to be copied"
        if id(owner) not in self.starts:
            # held weakly, as Pyodide's memory holds nothing alive: a kernel that reads an array
            # freed since its address was taken fails, and a new array with the freed one's id
            # gets a region of its own
            key = id(owner)
            self.starts[key] = self.next
            self.regions.append((self.next, weakref.ref(owner), owner.nbytes))
            weakref.finalize(owner, self.starts.pop, key, None)
            self.next += (owner.nbytes + 64) // 64 * 64
        return self.starts[id(owner)] + (x.ctypes.data - owner.ctypes.data)

    def region(self, ptr):
        """(start, owner) of the region ptr falls in."""
        i = bisect.bisect_right(self.regions, ptr, key=lambda r: r[0]) - 1
        start, owner, nbytes = self.regions[i]
        assert 0 <= ptr - start <= nbytes, f"address {ptr} is in no array"
        assert owner() is not None, f"address {ptr} is in an array freed since its address was taken"
        return start, owner()

    def calling(self, kernel, name, reads, writes, log=None):
        """The export `name` of kernel as Pyodide code calls it, with pointers from address;
        reads and writes: the argument positions of the pointers it reads and writes."""

        def call(*args):
            args, placed, written = list(args), {}, set()
            kernel.top = len(kernel.bytes)
            for pos in (*reads, *writes):
                if args[pos] < PAGE:
                    continue
                start, owner = self.region(args[pos])
                if start not in placed:
                    flat = owner.reshape(-1).view(np.float32)
                    placed[start] = (flat, kernel.place([flat], fresh=False)[0])
                if pos in writes:
                    written.add(start)
                args[pos] = kernel.address(placed[start][1]) + args[pos] - start
            kernel(name, *args)
            for start in written:
                flat, view = placed[start]
                flat[...] = view
            if log is not None:
                log.append(name)

        return call
