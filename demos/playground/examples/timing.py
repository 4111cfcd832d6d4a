# Time a model on both paths: the MNIST demo's CNN, fetched from this site, run on the CPU (numpy and
# the wasm SIMD kernels) and on WebGPU, with the same input; each run is one point of the plot.
import statistics
import time

import numpy as np

import pycore
from pycore.playground import fetch, plot

model_json, weights = await fetch("models/mnist/model.json"), await fetch("models/mnist/weights.safetensors")
model = pycore.Model.from_bytes(model_json, weights, source="mnist")
print(model)
x = np.random.default_rng(0).random(model.input.shape, dtype=np.float32)


async def timed(path, runs=20):
    await model.use(path)
    first = await model.run_async(x)  # the first run also compiles (WebGPU pipelines)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await model.run_async(x)
        times.append((time.perf_counter() - start) * 1000)
    plot(times, label=f"{path}, ms")
    note = f" ({model.backend.note})" if getattr(model.backend, "note", "") else ""
    print(f"{path}: median {statistics.median(times):.2f} ms of {runs} runs{note}")
    return first


cpu = await timed("cpu")
try:
    gpu = await timed("webgpu")
except Exception as e:  # no adapter, or no device
    print(f"No WebGPU here: {e}")
else:
    print(f"largest difference between the paths' probabilities: {np.abs(cpu - gpu).max():.1e}")
