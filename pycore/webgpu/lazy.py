"""The WebGPU device of pycore.Tensor: ops are recorded, not dispatched, and run when a value is
needed (`numpy()`, `item()`), all pending ops at once: one command encoder, one submit, no
intermediate read back.

A webgpu tensor's data is a `Lazy`: its shape and dtype, and either a GPU buffer (realized) or the
op that will compute it (pending). Realizing lowers the pending ops to IR nodes, plans them with
the same WGSL planners as a loaded model (pycore/webgpu/planners.py), gives every result a buffer
of its own (freed when its Lazy is) and drops the op, so the graph behind a value lives only until
it is computed. float16 tensors are stored as float16, two to a 32-bit word (half the bytes); every
other dtype as f32 words: bool as 0/1 and integers exactly up to 2**24 (checked on upload).
Kernels compute in f32: a plan widens each float16 input into an f32 scratch buffer first, and
rounds each float16 result back into its float16 storage, which its consumers in the plan read
widened again, so every op's result is rounded to float16 as numpy's are.
"""

import math
import sys

import numpy as np

from ..graph import Node
from . import shaders
from .auto import shared_device
from .backend import PlanContext, _bytes, upload_params
from .device import COPY_DST, COPY_SRC, MAP_READ, STORAGE, GPUUnavailable
from .planners import PLANNERS
from .step import Step, View, flat

EXACT = 2**24  # the largest integer range f32 holds exactly
HALF = np.dtype("float16")
WG256 = {"WG": 256}


def _half_words(shape):
    """The shape of float16 storage as the u32 words that hold two values each."""
    return (-(-math.prod(shape) // 2),)


def _nbytes(shape, dtype):
    return _bytes(_half_words(shape) if dtype == HALF else shape)


def _unpack(half, out, n):
    return Step(("half_unpack",), {"n": n}, [half], out, flat(n, 256), overrides=WG256)


def _pack(src, half, n):
    return Step(("half_pack",), {"n": n}, [src], half, flat(-(-n // 2), 256), overrides=WG256)


def run_sync(coroutine):
    """Finishes a coroutine that never really waits (wgpu-py blocks instead); in the browser a GPU
    readback is a promise, and there the async forms must be awaited."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("this needs the GPU to answer asynchronously: use the async form (await ...)")


class Storage:
    """One GPU buffer, destroyed when the last Lazy using it is gone."""

    def __init__(self, dev, nbytes):
        self.dev, self.nbytes = dev, nbytes
        self.raw = dev.create_buffer(nbytes, STORAGE | COPY_SRC | COPY_DST)

    def __del__(self):
        if not self.dev.lost:
            self.dev.destroy_buffer(self.raw)


class Lazy:
    """A webgpu tensor's data: shape, dtype, and a buffer or the op that will fill one."""

    __slots__ = ("shape", "dtype", "storage", "op", "attrs", "inputs", "host")

    def __init__(self, shape, dtype, op=None, attrs=None, inputs=(), storage=None, host=None):
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.op, self.attrs, self.inputs = op, attrs, tuple(inputs)
        self.storage, self.host = storage, host

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def pending(self):
        return self.storage is None


class WebGPUDevice:
    name = "webgpu"

    def __init__(self):
        self._dev = None
        self.retired = []  # scratch buffers of submitted work, destroyed after the next readback
        self.assigned = []  # state updated in place (running statistics...): runs with the next submit
        self.scalars = {}  # 0-d constants by (dtype, value): buffers never change, so they are shared
        self.capture = None  # a Capture while pycore.compile records a function

    async def open(self):
        """Opens (or reopens, after a loss) the shared WebGPU device; returns its description."""
        if self._dev is None or self._dev.lost:
            self._dev = await shared_device()
        return self._dev.info

    @property
    def lost(self):
        """Why the device went away, if it did; None while it works, or before it is opened."""
        return self._dev.lost if self._dev is not None else None

    @property
    def dev(self):
        if self._dev is None or self._dev.lost:
            if sys.platform == "emscripten":  # opening a device is a promise there
                raise GPUUnavailable("open the WebGPU device first: await pycore.open_webgpu()")
            run_sync(self.open())
        return self._dev

    def from_numpy(self, array):
        return self._upload(np.asarray(array))

    def constant(self, array):
        """A 0-d operand (the 2 in `2 * x`): one buffer per value, shared, since buffers never change."""
        if array.ndim == 0:
            key = (array.dtype.str, array.tobytes())
            if key not in self.scalars:
                if len(self.scalars) >= 64:  # bias corrections and schedules change every step
                    self.scalars.pop(next(iter(self.scalars)))
                self.scalars[key] = self._upload(array)
            return self.scalars[key]
        return self._upload(array)

    def assign(self, tensor, old, new):
        """`tensor` now holds `new`, state nothing may read for a while (a running mean): compute it
        with the next submit rather than let its graph grow step after step."""
        self.assigned.append(new)
        if self.capture is not None:
            self.capture.assigned.append((tensor, old, new))

    def _upload(self, array):
        if array.dtype.kind in "iub" and array.size and np.abs(array.astype(np.int64)).max() >= EXACT:
            raise GPUUnavailable(
                f"{array.dtype} values past 2**24 do not fit the WebGPU device's f32 storage"
            )
        if array.dtype == HALF:  # two values to a word; the write is padded to whole words
            data = np.zeros(2 * _half_words(array.shape)[0], HALF)
            data[: array.size] = array.ravel()
        else:
            data = np.ascontiguousarray(array, np.float32)
        storage = Storage(self.dev, _nbytes(array.shape, array.dtype))
        if data.size:
            self.dev.write_buffer(storage.raw, 0, data)
        return Lazy(array.shape, array.dtype, storage=storage)

    def run(self, op, attrs, inputs, shape, dtype):
        return Lazy(shape, dtype, op, attrs, inputs)

    def to_numpy(self, data):
        return run_sync(self.to_numpy_async(data))

    async def to_numpy_async(self, data):
        if data.pending:
            await self.realize([data])
        dev, n = self.dev, data.storage.nbytes if data.dtype == HALF else data.size * 4
        staging = dev.create_buffer(max(16, -(-n // 16) * 16), MAP_READ | COPY_DST)
        try:
            dev.submit([], [(data.storage.raw, 0, staging, 0, n)] if n else [])
            raw = await dev.read_buffer(staging, max(16, -(-n // 16) * 16))
        finally:
            dev.destroy_buffer(staging)
        for buffer in self.retired:  # the queue has finished everything before this readback
            dev.destroy_buffer(buffer)
        self.retired = []
        stored = HALF if data.dtype == HALF else np.float32
        values = np.frombuffer(raw, stored, data.size).reshape(data.shape)
        return values.astype(data.dtype) if data.dtype != stored else values.copy()

    async def realize(self, targets):
        """Runs every pending op the targets (and the state assigned since) depend on, in one submit."""
        if self.capture is not None:
            raise GPUUnavailable(
                "a function under pycore.compile cannot read a value while it is captured; return it instead"
            )
        targets, self.assigned = [*targets, *self.assigned], []
        plan = await self.plan(targets)
        if plan is None:
            return
        self.dev.submit(plan.dispatches, [])
        self.retired += [plan.params, plan.dummy]
        for s in plan.scratch:  # kept alive until the GPU is done with them
            self.retired.append(s.raw)
            s.dev = _Kept
        plan.attach()

    async def plan(self, targets):
        """The dispatches that compute every pending op the targets depend on (None if nothing is
        pending), with a new buffer for each result."""
        order, seen = [], set()
        stack = [(t, False) for t in targets if t.pending]
        while stack:
            t, done = stack.pop()
            if done:
                order.append(t)
            elif id(t) not in seen:
                seen.add(id(t))
                stack.append((t, True))
                stack.extend((x, False) for x in t.inputs if x.pending)
        if not order:
            return None
        names = {}
        leaves = [x for t in order for x in t.inputs if not x.pending and id(x) not in names]
        for x in leaves:
            names.setdefault(id(x), f"in{len(names)}")
        for t in order:
            names[id(t)] = f"t{len(names)}"
        shapes = {names[id(x)]: x.shape for x in (*leaves, *order)}
        halves = [x for x in (*leaves, *order) if x.dtype == HALF]
        shapes |= {f"{names[id(x)]}.half": _half_words(x.shape) for x in halves}
        shapes |= {f"{names[id(t)]}.f32": t.shape for t in order if t.dtype == HALF}
        ctx, steps, roots = PlanContext(shapes), [], {n: n for n in shapes}
        for x in leaves:  # float16 storage is read through a widened copy
            if x.dtype == HALF:
                steps.append(_unpack(f"{names[id(x)]}.half", names[id(x)], x.size))
        for t in order:
            name = names[id(t)]
            raw = f"{name}.f32" if t.dtype == HALF else name
            node = Node(t.op, name, [names[id(x)] for x in t.inputs], [raw], dict(t.attrs))
            if node.op not in PLANNERS:
                raise GPUUnavailable(f"the WebGPU path has no kernel for {node.op} yet")
            out = PLANNERS[node.op](node, ctx)
            if isinstance(out, View):
                roots[name] = roots[out.source]
            else:
                steps.extend(out)
                if t.dtype == HALF:  # rounded into its storage, and read back rounded
                    steps += [_pack(raw, f"{name}.half", t.size), _unpack(f"{name}.half", name, t.size)]
        await self._compile(steps)
        return Plan(self.dev, order, leaves, names, ctx, steps, roots)

    async def _compile(self, steps):
        cache = self.dev.pipelines
        for k in {shaders.key(s) for s in steps} - cache.keys():
            files, fill, overrides = k
            code = shaders.render(files, dict(fill))
            cache[k] = await self.dev.create_compute_pipeline(code, dict(overrides), shaders.label(k))


class Plan:
    """Buffers and bind groups for a list of steps: a new buffer per result root, scratch for the
    planners' temporaries and constants, one uniform buffer holding every step's parameters."""

    def __init__(self, dev, order, leaves, names, ctx, steps, roots):
        self.order, self.names, self.roots = order, names, roots
        storage = {names[id(x)] + (".half" if x.dtype == HALF else ""): x.storage for x in leaves}
        self.storage = storage
        for t in order:
            name = names[id(t)]
            if roots[name] == name:
                storage[name + (".half" if t.dtype == HALF else "")] = Storage(dev, _nbytes(t.shape, t.dtype))
        self.scratch = []
        for name, shape in ctx.shapes.items():
            if roots.get(name, name) not in storage:  # a planner's temporary or constant
                s = Storage(dev, _bytes(shape))
                if name in ctx.consts:
                    dev.write_buffer(s.raw, 0, ctx.consts[name])
                storage[name] = s
                self.scratch.append(s)
        self.params, offsets = upload_params(dev, steps)
        self.dummy = dev.create_buffer(16, STORAGE)

        def binding(t):
            if not t:
                return (self.dummy, 0, 16)
            return (storage[roots.get(t, t)].raw, 0, _bytes(ctx.shapes[t]))

        self.dispatches = []
        for s, off in zip(steps, offsets):
            pipeline = dev.pipelines[shaders.key(s)]
            entries = [(self.params, off, len(s.uniform))] + [binding(t) for t in [*s.reads, s.writes]]
            self.dispatches.append((pipeline, dev.create_bind_group(pipeline, entries), s.groups))

    def storage_of(self, lazy):
        root = self.roots[self.names[id(lazy)]]
        return self.storage[f"{root}.half" if lazy.dtype == HALF else root]

    def attach(self):
        """Hands each result its buffer and drops the ops behind it."""
        for t in self.order:
            t.storage = self.storage_of(t)
            t.op = t.attrs = None
            t.inputs = ()


class _Kept:
    """Stands in for a device on storage whose buffer the device frees itself (self.retired)."""

    lost = True
