"""The WebGPU execution path. create(): device, pipelines (async, cached by shader, template values
and overrides), buffers planned from tensor lifetimes, weights uploaded once, the dispatch
list built for the model's input shapes. run(): write the inputs, encode every dispatch into one
command encoder, submit once, read all outputs back with one mapping.
"""

import asyncio
import math

import numpy as np

from .. import ops
from ..errors import PycoreError, ShapeError
from . import shaders
from .auto import shared_device
from .device import (
    COPY_DST,
    COPY_SRC,
    MAP_READ,
    STORAGE,
    UNIFORM,
    DeviceLost,
    GPUUnavailable,
    SoftwareAdapter,
)
from .plan import plan_buffers
from .planners import PLANNERS
from .step import HELD, HOST, SIZE, View, elements

FLAG = 256  # WebGPU's largest min_storage_buffer_offset_alignment: each checking step's word is bound apart


def _bytes(shape, element="f32"):
    # bindings need a non-zero size and 4-byte multiples; 16 keeps vec4 loads in bounds too
    return max(16, -(-math.prod(shape) * SIZE[element] // 16) * 16)


class PlanContext:
    """What a kernel planner may ask while planning: shapes, and scratch tensors of its own."""

    def __init__(self, shapes, dtypes=None, held=HELD):
        self.shapes = dict(shapes)
        self.dtypes = dict(dtypes or {})  # none given: every tensor is held as f32 words
        self.held = held  # dtype -> element, as this device holds it (step.elements)
        self.consts = {}

    def const(self, array, name, dtype="float32"):
        """A constant tensor of the planner's own, uploaded once with the weights."""
        self.consts[name] = np.ascontiguousarray(array, dtype)
        self.shapes[name] = self.consts[name].shape
        self.dtypes[name] = dtype
        return name

    def shape(self, name):
        return self.shapes[name] if name else ()

    def element(self, name):
        """The WGSL element type that holds tensor `name` (absent, "": the dummy's, f32)."""
        return self.held[self.dtypes.get(name, "float32")]

    def temp(self, shape, name, dtype="float32"):
        self.shapes[name] = tuple(shape)
        self.dtypes[name] = dtype
        return name

    def broadcast_shape(self, names):
        return ops.broadcast(*[self.shapes[t] for t in names])


def upload_params(dev, steps):
    """One uniform buffer holding every step's parameters at its aligned offset, written once:
    (buffer, offsets)."""
    align = dev.limits.get("min_uniform_buffer_offset_alignment", 256)
    offsets, at = [], 0
    for s in steps:
        offsets.append(at)
        at += -(-len(s.uniform) // align) * align
    buffer = dev.create_buffer(max(at, 16), UNIFORM | COPY_DST)
    blob = bytearray(max(at, 16))
    for s, off in zip(steps, offsets):
        blob[off : off + len(s.uniform)] = s.uniform
    dev.write_buffer(buffer, 0, np.frombuffer(bytes(blob), np.uint8))
    return buffer, offsets


def missing_ops(graph):
    return sorted({n.op for n in graph.nodes} - PLANNERS.keys())


I32 = np.iinfo(np.int32)


def refuse_dtypes(graph, dev):
    """Refuses a tensor of a dtype this device's kernels do not read (step.elements: float64 and
    the 8-bit integers, and float16 without shader-f16, only as what Cast writes, step.WRITTEN),
    or an int64 constant it cannot hold, before anything is planned."""
    element = elements(dev.features)[0]
    tensors = [i.name for i in graph.inputs] + sorted(graph.weights)
    tensors += [t for n in graph.nodes for t in n.inputs if t]
    tensors += [t for n in graph.nodes if n.op != "Cast" for t in n.outputs]
    for t in dict.fromkeys(tensors):
        dtype = graph.dtypes[t]
        if dtype == "float16" and dtype not in element:
            raise PycoreError(
                f"the WebGPU path runs float16 tensors only where the adapter has shader-f16, and "
                f"{dev.info} has not; tensor {t!r} is float16"
            )
        if dtype not in element:
            raise PycoreError(
                f"the WebGPU path runs {', '.join(element)} tensors only; tensor {t!r} is {dtype}"
            )
    for t, w in graph.weights.items():
        held(t, w, element[graph.dtypes[t]])


def refuse_elements(node, step, ctx):
    """A kernel declares the element type of each buffer it binds; bound to a tensor held as
    another type it would read the bits as that type: refused, so the model runs on the CPU path."""
    for t, declared in zip([*step.reads, step.writes], shaders.elements(shaders.key(step))):
        if t and declared != ctx.element(t):
            raise PycoreError(
                f"the WebGPU path runs {node.op} on {declared} tensors only; tensor {t!r} "
                f"(of {node.name!r}) is {ctx.dtypes[t]}"
            )


def held(name, array, element):
    """An array as the GPU holds it in this element type; int64 values past int32's range cannot be
    held, and are refused naming the tensor."""
    x = np.asarray(array)
    if element == "i32" and x.size and (x.min() < I32.min or x.max() > I32.max):
        raise PycoreError(
            f"the WebGPU path runs int64 tensors only where their values fit int32; tensor {name!r} "
            f"holds {x.min()} .. {x.max()}"
        )
    x = np.ascontiguousarray(x, HOST[element]).reshape(-1)
    return np.pad(x, (0, -x.nbytes % 4 // x.itemsize))  # writes move whole words (an odd f16 count)


class WebGPUBackend:
    name = "webgpu"

    @classmethod
    async def create(cls, graph, device=None, software=True):
        """device: an open device to share (several models, or a test suite); default a new one.
        software=False refuses a CPU implementation of WebGPU, where pycore's CPU path is faster."""
        missing = missing_ops(graph)
        if missing:
            raise PycoreError(f"the WebGPU path has no kernel for {missing}")
        self = cls()
        self.graph = graph
        self.dev = device if device is not None else await shared_device()
        if self.dev.software and not software:
            raise SoftwareAdapter(f"the only WebGPU adapter, {self.dev.info}, is a software fallback")
        refuse_dtypes(graph, self.dev)
        self.steps, self.roots = self._plan_steps(graph)
        self.owned = []
        # browsers report most setup errors asynchronously, through error scopes
        self.dev.push_error_scope()
        try:
            await self._compile()
            self._allocate()
            self._bind()
        except Exception as e:
            await self.dev.pop_error_scope()
            self.close()
            if isinstance(e, PycoreError):
                raise
            raise GPUUnavailable(f"setting up the model on the GPU failed: {e}") from e
        error = await self.dev.pop_error_scope()
        if error:
            self.close()
            raise GPUUnavailable(f"setting up the model on the GPU failed: {error}")
        return self

    def _buffer(self, size, usage):
        self.owned.append(self.dev.create_buffer(size, usage))
        return self.owned[-1]

    def _plan_steps(self, graph):
        ctx = PlanContext(graph.shapes, graph.dtypes, elements(self.dev.features)[1])
        steps, roots = [], {t: t for t in ctx.shapes}
        for node in graph.nodes:
            out = PLANNERS[node.op](node, ctx)
            if isinstance(out, View):
                roots[node.outputs[0]] = roots[out.source]
            else:
                for s in out:
                    if "f16" in {ctx.element(t) for t in [*s.reads, s.writes] if t}:
                        s.fill = {"T": "f16", **s.fill}  # a new dict: planners share theirs
                    refuse_elements(node, s, ctx)
                steps.extend(out)
        roots.update({t: t for t in ctx.shapes if t not in roots})
        self.shapes, self.consts = ctx.shapes, {**graph.weights, **ctx.consts}
        self.dtypes = {t: ctx.dtypes.get(t, "float32") for t in ctx.shapes}
        self.elements = {t: ctx.element(t) for t in ctx.shapes}
        return steps, roots

    async def _compile(self):
        cache = self.dev.pipelines  # lives as long as the device, shared by its backends
        keys = {shaders.key(s) for s in self.steps}
        order = [k for k in keys if k not in cache]

        async def build(k):
            files, fill, overrides = k
            code = shaders.render(files, dict(fill))
            return await self.dev.create_compute_pipeline(code, dict(overrides), shaders.label(k))

        cache.update(zip(order, await asyncio.gather(*[build(k) for k in order])))
        self.pipelines = cache

    def _allocate(self):
        g, dev = self.graph, self.dev
        storage = STORAGE | COPY_SRC | COPY_DST
        used = {self.roots[t] for s in self.steps for t in [*s.reads, s.writes] if t}
        used |= {self.roots[t] for t in g.outputs} | {i.name for i in g.inputs}
        pinned = {i.name for i in g.inputs} | set(g.outputs) | (set(self.consts) & used)
        pinned = {self.roots[t] for t in pinned}
        sizes = {t: _bytes(self.shapes[t], self.elements[t]) for t in used}
        biggest = max(sizes, key=sizes.get)
        limit = min(dev.limits["max_storage_buffer_binding_size"], dev.limits["max_buffer_size"])
        if sizes[biggest] > limit:
            raise GPUUnavailable(
                f"tensor {biggest!r} needs {sizes[biggest]} bytes; this device binds at most {limit}"
            )
        slot_of, slot_size = plan_buffers(
            [(s.reads, s.writes) for s in self.steps], sizes, self.roots, pinned
        )
        slots = [self._buffer(size, storage) for size in slot_size]
        self.buffers = {t: slots[k] for t, k in slot_of.items()}
        for t in pinned:
            self.buffers[t] = self._buffer(sizes[t], storage)
            if t in self.consts:  # uploaded once, here
                dev.write_buffer(self.buffers[t], 0, held(t, self.consts[t], self.elements[t]))
        self.dummy = self._buffer(16, storage)  # bound where an optional input is absent
        self.params, self.param_offsets = upload_params(dev, self.steps)
        self.owned.append(self.params)
        # outputs are copied into one mappable buffer so a run maps once
        self.readback, at = [], 0
        for t in g.outputs:
            n = -(-math.prod(self.shapes[t]) * SIZE[self.elements[t]] // 4) * 4  # copies move words
            self.readback.append((t, at, n))
            at += -(-n // 16) * 16
        # steps that check an int64 result each flag into a word of their own, read back with the
        # outputs; a plan without them has no flag buffer and no copy
        self.checking = [s.writes for s in self.steps if s.checks]
        self.flags, self.flags_at = None, at
        if self.checking:
            self.flags = self._buffer(len(self.checking) * FLAG, storage)
            at += len(self.checking) * FLAG
        self.staging = self._buffer(max(at, 16), MAP_READ | COPY_DST)
        self.staging_size = max(at, 16)

    def _binding(self, t):
        if not t:
            return (self.dummy, 0, 16)
        return (self.buffers[self.roots[t]], 0, _bytes(self.shapes[t], self.elements[t]))

    def _bind(self):
        self.dispatches, flagged = [], 0
        for s, off in zip(self.steps, self.param_offsets):
            pipeline = self.pipelines[shaders.key(s)]
            entries = [(self.params, off, len(s.uniform))] + [self._binding(t) for t in [*s.reads, s.writes]]
            if s.checks:
                entries.append((self.flags, FLAG * flagged, 4))
                flagged += 1
            self.dispatches.append((pipeline, self.dev.create_bind_group(pipeline, entries), s.groups))
        self.copies = [
            (self.buffers[self.roots[t]], 0, self.staging, at, n) for t, at, n in self.readback if n
        ]
        if self.flags:
            self.copies.append((self.flags, 0, self.staging, self.flags_at, len(self.checking) * FLAG))
        self.inputs = [(i.name, tuple(self.shapes[i.name]), self.buffers[i.name]) for i in self.graph.inputs]

    async def run(self, feeds):
        if not self.owned:
            raise PycoreError("this WebGPU backend was closed; create it again")
        if self.dev.lost:
            raise self._lost()
        try:
            for name, shape, buffer in self.inputs:
                x = np.asarray(feeds[name])
                if x.shape != shape:
                    raise ShapeError(f"input {name!r} must have shape {list(shape)}, got {list(x.shape)}")
                if x.size:  # an empty tensor (a dimension of 0) has nothing to write
                    self.dev.write_buffer(buffer, 0, held(name, x, self.elements[name]))
            if self.flags:
                self.dev.write_buffer(self.flags, 0, np.zeros(len(self.checking) * FLAG // 4, np.uint32))
            self.dev.submit(self.dispatches, self.copies)
            data = await self.dev.read_buffer(self.staging, self.staging_size)
            self._refuse_overflow(data)
        except PycoreError:
            raise
        except Exception as e:
            if self.dev.check_lost(e):
                raise self._lost() from e
            raise
        return {t: self._read(t, data, at, n) for t, at, n in self.readback}

    def _refuse_overflow(self, data):
        """A step that computed an int64 value past int32's range flagged it (int64_checked.wgsl):
        the run is refused as a fed value past that range is, never read back wrapped."""
        if not self.flags:
            return
        words = np.frombuffer(data, np.uint32, len(self.checking) * FLAG // 4, self.flags_at)
        for t, flag in zip(self.checking, words[:: FLAG // 4]):
            if flag:
                raise PycoreError(
                    f"the WebGPU path runs int64 tensors only where their values fit int32; tensor {t!r} "
                    "computed on the GPU leaves int32's range"
                )

    def _read(self, t, data, at, n):
        """Output t from the staging bytes, in the graph's dtype (int64 from i32, bool from 0u / 1u)."""
        count = math.prod(self.shapes[t])
        stored = np.frombuffer(data, HOST[self.elements[t]], count, at).reshape(self.shapes[t])
        return stored.astype(self.dtypes[t])

    def _lost(self):
        return DeviceLost(f"the GPU device was lost ({self.dev.lost}); create the backend again")

    def lose_device(self):
        """Test hook: destroys the device, as a driver reset would."""
        self.dev.destroy()

    def stats(self):
        """Live GPU buffers created through this backend's device: count and bytes."""
        return self.dev.stats()

    def close(self):
        """Frees this backend's GPU buffers now (also after the device was lost)."""
        owned, self.owned = self.owned, []
        for b in owned:
            try:
                self.dev.destroy_buffer(b)
            except Exception:  # a lost device has already dropped them
                if not self.dev.lost:
                    raise
