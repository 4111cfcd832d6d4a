"""The model commands of the command line (python -m pycore info | run | bench); __main__.py parses
the arguments and turns pycore's errors into `error: <message>` lines."""

import time

import numpy as np

from . import image
from .errors import InputError
from .model import describe, load

NPY = b"\x93NUMPY"
TOP = 5


def info(args):
    model = load(args.model)
    g, s = model.graph, model.stored
    rows = []
    for i in model.inputs:
        kind = i.preprocess.get("kind")
        images = f", takes images ({kind})" if kind else ""
        rows.append(("input", f"{i.name} {list(i.shape)} {i.dtype}{images}"))
    rows += [("output", f"{t} {list(g.shapes[t])}") for t in g.outputs]
    if model.labels:
        shown = ", ".join(model.labels[:TOP]) + (", ..." if len(model.labels) > TOP else "")
        rows.append(("labels", f"{len(model.labels)}: {shown}"))
    rows.append(("parameters", f"{s.parameters:,}"))
    rows.append(("weights", f"{s.format}, {s.bytes:,} bytes ({s.bytes / 1e6:.1f} MB)"))
    rows.append(("ops", ", ".join(f"{op} {n}" for op, n in s.ops.items())))
    rows.append(("nodes", f"{sum(s.ops.values())} in model.json, {len(g.nodes)} after the load-time passes"))
    print(f"{g.name} ({args.model})")
    for key, value in rows:
        print(f"  {key:11} {value}")


def read_input(path, input):
    """A .npy array, or an image file prepared as the model's preprocess (model.json) says."""
    with open(path, "rb") as f:
        head = f.read(12)
    if head.startswith(NPY):
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, EOFError) as e:
            raise InputError(f"{path}: not a readable .npy array ({e})") from None
    if image.sniff(head):
        return image.to_input(image.read(path), input.preprocess, f"{path}: input {input.name!r}")
    raise InputError(f"{path} is neither a .npy array nor an image (PNG, JPEG, GIF, BMP or WebP)")


def inputs(model, specs):
    """{input name: array} from the (name or None, path) pairs of --input."""
    if not specs:
        raise InputError(f"give the model's input with --input NAME=FILE; it takes {describe(model.inputs)}")
    feeds = {}
    for name, path in specs:
        if name is None:
            if len(model.inputs) > 1:
                raise InputError(f"--input {path}: the model has several inputs, name each: NAME=FILE")
            name = model.input.name
        if name in feeds:
            raise InputError(f"input {name!r} is given twice")
        feeds[name] = read_input(path, model.input_named(name))
    return feeds


def run(args):
    model = load(args.model, backend=args.backend)
    outputs = model.run(inputs(model, args.input))
    if args.output:
        args.output += "" if args.output.endswith(".npz") else ".npz"  # as np.savez would name it
        np.savez(args.output, **outputs)
    for k, (name, y) in enumerate(outputs.items()):
        print(f"{name} {list(y.shape)}" + ("" if model.labels and k == 0 else f", {_stats(y)}"))
        if model.labels and k == 0:  # labels name the first output's classes (Graph.check_labels)
            for row in y.reshape(y.shape[0] if y.ndim > 1 else 1, -1):  # one ranking per batch item
                for label, value in model.top_k(row, TOP):
                    print(f"  {value:9.4f}  {label}")
    if args.output:
        print(f"saved {', '.join(outputs)} to {args.output}")


def _stats(y):
    return f"min {y.min():.4g}, mean {y.mean():.4g}, max {y.max():.4g}" if y.size else "empty"


def bench(args):
    model = load(args.model, backend=args.backend)
    rng = np.random.default_rng(0)
    feeds = {i.name: rng.standard_normal(i.shape).astype(np.float32) for i in model.inputs}
    model.run(feeds)  # the first run pays for first-use setup (GPU pipelines, caches), not timed
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        model.run(feeds)
        times.append((time.perf_counter() - start) * 1000)
    lo, q1, median, q3, hi = np.percentile(times, [0, 25, 50, 75, 100])
    device = getattr(getattr(model.backend, "dev", None), "info", None)
    print(f"{model.graph.name} on {model.backend.name}" + (f", {device}" if device else ""))
    print(f"  {args.runs} runs after 1 warm-up: median {median:.3f} ms, quartiles {q1:.3f}-{q3:.3f} ms,")
    print(f"  min {lo:.3f} ms, max {hi:.3f} ms")
