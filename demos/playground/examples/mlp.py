# Train a small MLP on a toy 2-D set, a disc inside a ring, on the CPU and then on WebGPU, and
# plot both loss curves as they fall. Change anything and press Run (Ctrl+Enter).
import time

import numpy as np

import pycore
from pycore import nn
from pycore.nn import functional as F
from pycore.playground import plot

rng = np.random.default_rng(0)
ring = rng.integers(0, 2, 200)  # the class: 1 on the ring, 0 in the disc
radius = np.where(ring == 1, rng.uniform(0.6, 1.0, 200), rng.uniform(0.0, 0.4, 200))
angle = rng.uniform(0, 2 * np.pi, 200)
points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1).astype(np.float32)


async def train(device, steps=40):
    pycore.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).to(device)
    opt = pycore.optim.Adam(model.parameters(), lr=0.1)
    x, y = pycore.tensor(points).to(device), pycore.tensor(ring).to(device)

    @pycore.compile  # on WebGPU the step is captured once, then replayed in one submit
    def step_once(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    losses, start = [], time.perf_counter()
    for step in range(steps):
        loss = await step_once.call_async(x, y)
        losses.append(float(await loss.numpy_async()))  # in the browser a GPU readback is a promise
        if step % 5 == 4:
            plot(losses, label=device)
    ms = (time.perf_counter() - start) * 1000 / steps
    right = (await model(x).numpy_async()).argmax(1) == ring
    print(f"{device}: {steps} steps, {ms:.0f} ms a step, loss {losses[-1]:.3f}, accuracy {right.mean():.0%}")


await train("cpu")
try:
    print("WebGPU adapter:", await pycore.open_webgpu())
except Exception as e:
    print(f"No WebGPU here ({e}), so the CPU run is the whole story.")
else:
    await train("webgpu")
