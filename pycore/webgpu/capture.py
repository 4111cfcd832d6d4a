"""A captured webgpu Tensor program (pycore.compile): its dispatches, bind groups and buffers,
replayed with one submit and no per-op Python.

Capturing runs the function once with every pending value realized first and the arguments in
buffers of the capture's own. Its outputs and every tensor it assigned (parameters, optimiser
moments, running statistics) are planned together; each assigned tensor keeps one buffer, and a
replay copies the arguments in, runs the dispatches, copies the new state back over the old and
each output into a buffer of its own, all in one command encoder.
"""

from .lazy import Lazy, Storage, _nbytes


class Capture:
    """What a function assigns while it is captured: (tensor, value before, value after)."""

    def __init__(self):
        self.assigned = []


class Replay:
    def __init__(self, device, plan, private, state, outputs):
        self.device, self.plan = device, plan
        self.private = private  # the arguments' buffers of the capture
        self.state = state  # (buffer it is read from, buffer a run writes its new value into, bytes)
        self.outputs = outputs  # (buffer, shape, dtype) of each output

    @classmethod
    async def capture(cls, device, fn, args):
        """(Replay, the outputs of this first run) for fn(*args) on webgpu tensors."""
        from ..tensors import Tensor

        await device.realize([a.data for a in args])  # and whatever state is still pending
        dev = device.dev
        private = [Storage(dev, a.data.storage.nbytes) for a in args]
        dev.submit([], [(a.data.storage.raw, 0, p.raw, 0, p.nbytes) for a, p in zip(args, private)])
        inputs = [Tensor(Lazy(a.shape, a.dtype, storage=p), "webgpu") for a, p in zip(args, private)]
        device.capture = record = Capture()
        try:
            out = fn(*inputs)
        finally:
            device.capture, device.assigned = None, []
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if not outs or not all(isinstance(o, Tensor) and o.device == "webgpu" for o in outs):
            raise TypeError("pycore.compile: the function must return webgpu tensors")
        first, last = {}, {}
        for tensor, old, new in record.assigned:
            first.setdefault(id(tensor), (tensor, old))
            last[id(tensor)] = new
        plan = await device.plan([o.data for o in outs] + list(last.values()))
        if plan is None:
            raise TypeError("pycore.compile: the function computes nothing on the GPU")
        state = []
        for key, (tensor, old) in first.items():
            new = last[key]
            if old.storage is None:  # assigned state that did not exist before the call
                old.storage = Storage(dev, _nbytes(old.shape, old.dtype))
            written = plan.storage_of(new) if new.pending else new.storage
            state.append((old.storage, written, old.storage.nbytes))
            tensor.data = old  # the tensor keeps its buffer; each run copies the new value into it
        kept = [
            (plan.storage_of(o.data) if o.data.pending else o.data.storage, o.shape, o.dtype) for o in outs
        ]
        replay = cls(device, plan, private, state, kept)
        return replay, replay._run(None)

    async def run(self, args):
        pending = [a.data for a in args if a.data.pending]
        if pending:
            await self.device.realize(pending)
        return self._run(args)

    def _run(self, args):
        from ..tensors import Tensor

        dev = self.device.dev
        before = [] if args is None else [
            (a.data.storage.raw, 0, p.raw, 0, p.nbytes) for a, p in zip(args, self.private)
        ]  # fmt: skip
        fresh = [Storage(dev, src.nbytes) for src, _, _ in self.outputs]
        after = [(written.raw, 0, kept.raw, 0, n) for kept, written, n in self.state]
        after += [(src.raw, 0, dst.raw, 0, dst.nbytes) for (src, _, _), dst in zip(self.outputs, fresh)]
        dev.submit(self.plan.dispatches, after, before)
        results = [
            Tensor(Lazy(shape, dtype, storage=s), "webgpu")
            for (_, shape, dtype), s in zip(self.outputs, fresh)
        ]
        return results[0] if len(results) == 1 else tuple(results)
