"""Training-step benchmark: pycore's CPU path against PyTorch CPU, one thread each, same run.

    OPENBLAS_NUM_THREADS=1 python3 tools/bench/train_step.py [--steps 20] [--batch 64] [--webgpu]

The model is a small MNIST CNN (conv-bn-relu-pool, conv-relu-pool, linear); a step is forward,
cross-entropy, backward and Adam. Also prints pycore's eager dispatch overhead per op. PyTorch is
a benchmark peer only (pip install torch==2.13.0); pycore itself never needs it.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

import pycore  # noqa: E402
from pycore import nn  # noqa: E402
from pycore.nn import functional as F  # noqa: E402
from tools.reference_models import bench_cnn  # noqa: E402


def timed(step, n):
    step(), step()  # warm up (a captured step replays from the third call)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), min(times), max(times)


def pycore_step(x, y, device="cpu", captured=False):
    """A step that waits for its loss (on webgpu that runs the step's work; eager or captured)."""
    pycore.manual_seed(0)
    model = bench_cnn(nn).to(device)
    opt = pycore.optim.Adam(model.parameters(), 1e-3)
    x, y = pycore.tensor(x).to(device), pycore.tensor(y).to(device)

    def train(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = pycore.compile(train) if captured else train
    return lambda: run(x, y).item()


def torch_step(x, y):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = bench_cnn(torch.nn)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def dispatch_overhead(n=2000):
    """Microseconds per eager op on a tiny tensor, and numpy's own call for the same add."""
    a, b = pycore.ones(4), pycore.ones(4)
    t = time.perf_counter()
    for _ in range(n):
        a + b
    ours = (time.perf_counter() - t) / n * 1e6
    x, y = np.ones(4, np.float32), np.ones(4, np.float32)
    t = time.perf_counter()
    for _ in range(n):
        np.add(x, y)
    return ours, (time.perf_counter() - t) / n * 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--webgpu", action="store_true", help="also the webgpu device, eager and captured")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 1, 28, 28), np.float32)
    y = rng.integers(0, 10, args.batch).astype(np.int64)
    ours = timed(pycore_step(x, y), args.steps)
    print(
        f"pycore cpu: median {ours[0]:.1f} ms (min {ours[1]:.1f}, max {ours[2]:.1f}) per step, "
        f"batch {args.batch}"
    )
    try:
        peer = timed(torch_step(x, y), args.steps)
        print(f"torch cpu:  median {peer[0]:.1f} ms (min {peer[1]:.1f}, max {peer[2]:.1f}) per step")
        print(f"pycore / torch: {ours[0] / peer[0]:.2f}x")
    except ImportError:
        print("torch is not installed: no peer (pip install torch==2.13.0)")
    op, np_op = dispatch_overhead()
    print(f"eager dispatch: {op:.1f} us per op (numpy's add alone: {np_op:.1f} us)")
    if args.webgpu:
        eager = timed(pycore_step(x, y, "webgpu"), args.steps)
        captured = timed(pycore_step(x, y, "webgpu", captured=True), args.steps)
        adapter = pycore.tensors.get_device("webgpu").dev.info
        print(f"pycore webgpu ({adapter}): eager {eager[0]:.1f} ms, captured {captured[0]:.1f} ms per step")


if __name__ == "__main__":
    main()
