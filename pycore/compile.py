"""pycore.compile: capture a Tensor program once per argument shape and replay it.

    step = pycore.compile(train_step)     # train_step(x, y) -> loss, on webgpu tensors
    for x, y in batches:
        loss = step(x, y)                 # from the third call on: one submit, no per-op Python

The first call with new argument shapes runs eagerly (it creates optimiser state), the second is
captured (pycore/webgpu/capture.py), later ones replay it. A replay runs what the capture ran:
Python numbers the function used (a learning rate, a branch taken) are baked in, and only its
return values and the tensors it assigned (parameters, optimiser state, running statistics) are
brought up to date; `.grad` and other values it left behind are those of the captured call.
Reading a value inside the function (`item()`, `numpy()`) or dropout cannot be captured and
says so. On the CPU path, which runs eagerly anyway, the function is simply called.
"""

from .tensors import Tensor, get_device
from .webgpu.lazy import run_sync


class compile:  # noqa: N801  (named like the function it stands for, as torch.compile)
    def __init__(self, fn):
        self.fn = fn
        self.seen = {}  # argument signature -> calls so far
        self.replays = {}  # argument signature -> Replay

    def __call__(self, *args):
        return run_sync(self.call_async(*args))

    async def call_async(self, *args):
        """The same, awaitable: in the browser a capture compiles its pipelines as promises."""
        if not all(isinstance(a, Tensor) for a in args):
            raise TypeError("pycore.compile: pass tensors only (Python values would be baked in)")
        if {a.device for a in args} != {"webgpu"}:
            return self.fn(*args)
        key = tuple((a.shape, a.dtype) for a in args)
        if key in self.replays:
            return await self.replays[key].run(args)
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.seen[key] == 1:
            return self.fn(*args)
        from .webgpu.capture import Replay

        self.replays[key], out = await Replay.capture(get_device("webgpu"), self.fn, args)
        return out
