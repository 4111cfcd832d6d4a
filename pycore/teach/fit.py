"""What every kind of teaching shares: the fine-tuning loop, which lets the worker answer other
requests between its steps, and the trained module written as the two files a model is."""

import asyncio
import tempfile
from pathlib import Path

from .. import optim
from ..nn import functional as F
from ..tensors import tensor


async def fit(model, batches, steps, lr, device="cpu", progress=None, label_smoothing=0.0):
    """Adam on `model`'s parameters that require a gradient, one step per (inputs, labels) numpy
    batch, cross entropy on its logits; `progress(step, steps, loss)` after each. Returns the last
    loss. Between steps it yields to the event loop, so that in the worker a prediction asked
    for while it trains is answered at once, by the model in use."""
    opt = optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    value = None
    for step, (x, y) in enumerate(batches, 1):
        loss = F.cross_entropy(
            model(tensor(x).to(device)), tensor(y).to(device), label_smoothing=label_smoothing
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        value = float(await loss.numpy_async())  # on webgpu the step runs here, in one submit
        if progress is not None:
            progress(step, steps, value)
        await asyncio.sleep(0)
    return value


async def state_of(model):
    """A module's state dict as numpy arrays, read back from any device (a promise on webgpu)."""
    named = [*model.named_parameters(), *model.named_buffers()]
    return {k: await t.numpy_async() for k, t in named}


def files(export, metadata):
    """(model.json text, weights.safetensors bytes) that `export(folder, metadata)` writes."""
    with tempfile.TemporaryDirectory() as folder:
        export(folder, metadata)
        return (Path(folder) / "model.json").read_text(), (Path(folder) / "weights.safetensors").read_bytes()
