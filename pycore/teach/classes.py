"""Your own classes on a classifier's features, as Teachable Machine does it: name two or more
classes, give each a few photos, and a linear softmax head trained on the base model's pooled
features (EfficientNet-Lite0's 1280) takes the place of its classifier.

    extractor = await features_model(base)     # the base cut at its classifier's input, same path
    f = extractor.run(x)                       # (1, width), once per photo (await run_async: WebGPU)
    head = train_head(features, labels, names) # or await train_head_async(...): yields between steps
    personal = await personal_model(base, head)  # the base with its classifier replaced: same bars
    files = model_files(base, head)            # model.json + weights.safetensors for pycore.load
    blob = save(head, base)                    # the compact form a page keeps; restore(blob, base)

The base is any loaded Model whose first output is Softmax(Gemm(features)); the personal model's
graph is the base's with that Gemm's weight and bias swapped, so it runs wherever the base runs.
"""

import asyncio
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from .. import safetensors
from ..errors import InputError, PycoreError
from ..graph import Graph, Node
from ..model import Model, backend_class, graph_files
from ..nn import functional as F
from ..optim import Adam
from ..tensors import tensor, zeros

FORMAT = "pycore-classes/1"  # the persisted head's format, in its safetensors metadata
SUFFIX = "-classes"  # the personal model's name is the base's with this
# full-batch Adam on centred, unit-scale features: on real photos the loss has settled by 30 steps,
# and the weight decay keeps held-out photos' probabilities near 0.9 rather than at 1.0
STEPS, LR, WEIGHT_DECAY = 50, 0.1, 1e-2


@dataclass
class Head:
    """probabilities = softmax(features @ weight.T + bias), one row of `weight` per class."""

    weight: np.ndarray  # (classes, width) float32, on the raw features (the normalisation folded in)
    bias: np.ndarray  # (classes,) float32
    names: list  # the class names, in label order
    loss: float = float("nan")  # the training loss after the last step


def classifier(graph):
    """The Gemm whose output the first graph output takes the Softmax of (x @ W.T + b, W and b
    weights); a PycoreError for a graph that does not end that way."""
    made = {t: n for n in graph.nodes for t in n.outputs}
    soft = made.get(graph.outputs[0])
    gemm = made.get(soft.inputs[0]) if soft is not None and soft.op == "Softmax" else None
    a = gemm.attrs if gemm is not None and gemm.op == "Gemm" else {}
    if not (
        a.get("transA") == 0
        and a.get("transB") == 1
        and a.get("alpha") == a.get("beta") == 1
        and "activation" not in a
        and len(gemm.inputs) >= 3
        and not any(gemm.inputs[3:])  # no fused residual
        and all(t in graph.weights for t in gemm.inputs[1:3])
    ):
        raise PycoreError(
            f"model {graph.name!r} does not end in a classifier that can be retrained: its first output "
            "must be the Softmax of a Gemm (transB=1) with a weight and a bias"
        )
    return gemm


def feature_width(graph):
    """How many features the classifier reads."""
    return graph.shapes[classifier(graph).inputs[0]][1]


def _copy(graph, outputs, weights, labels, name):
    """The nodes of `graph` that `outputs` depend on, with `weights`, as a new checked Graph."""
    need, nodes = set(outputs), []
    for n in reversed(graph.nodes):
        if need.intersection(n.outputs):
            nodes.insert(0, Node(n.op, n.name, list(n.inputs), list(n.outputs), dict(n.attrs)))
            need.update(n.inputs)
    used = {k: w for k, w in weights.items() if k in need}
    g = Graph(name, list(graph.inputs), list(outputs), nodes, used, labels)
    g.check(name)
    return g


def features_graph(graph):
    """The graph cut at its classifier's input: image in, (1, width) features out. Its weights are
    the base's arrays, not copies."""
    return _copy(graph, [classifier(graph).inputs[0]], graph.weights, None, f"{graph.name}-features")


def personal_graph(graph, head):
    """The graph with its classifier's weight and bias replaced by the head's, and labels by its names."""
    gemm = classifier(graph)
    if head.weight.shape[1] != feature_width(graph):
        raise InputError(
            f"this head reads {head.weight.shape[1]} features but {graph.name!r} gives "
            f"{feature_width(graph)}: it was trained on another model's features, train it again"
        )
    weights = {**graph.weights, gemm.inputs[1]: head.weight, gemm.inputs[2]: head.bias}
    name = graph.name.removesuffix(SUFFIX) + SUFFIX
    return _copy(graph, graph.outputs, weights, list(head.names), name)


async def _on_path_of(base, graph):
    """A Model of `graph` on the path `base` runs on (on WebGPU, its device, with its pipelines)."""
    options = {"device": base.backend.dev} if base.backend.name == "webgpu" else {}
    return Model(graph, await backend_class(base.backend.name).create(graph, **options))


async def features_model(base):
    """A Model giving the base's features for one preprocessed image, on the base's path:
    `run(x)` natively, `await run_async(x)` where the GPU readback is asynchronous."""
    return await _on_path_of(base, features_graph(base.graph))


async def personal_model(base, head):
    """The base with its classifier replaced by `head`, on the base's path: probabilities over the
    head's classes, labelled with their names."""
    return await _on_path_of(base, personal_graph(base.graph, head))


def model_files(base, head):
    """{"model.json": bytes, "weights.safetensors": bytes} of the personal model, which pycore.load
    reads and which predict exactly what `personal_model` does."""
    model_json, weights = graph_files(personal_graph(base.graph, head))
    return {"model.json": model_json.encode(), "weights.safetensors": weights}


def check_examples(features, labels, names, width=None):
    """Checks the training examples; returns them as (float32 (N, width), int64 (N,)) arrays."""
    names = list(names)
    if len(names) < 2:
        raise InputError(f"give at least two classes to tell apart (got {len(names)})")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"class {i + 1} has no name: give every class a name")
    seen = {}
    for name in names:
        key = name.strip().casefold()
        if key in seen:
            raise InputError(f"two classes are called {seen[key]!r}: give each class its own name")
        seen[key] = name
    x = np.asarray(features, np.float32)
    if x.ndim != 2 or (width is not None and x.shape[1] != width):
        want = f"(photos, {width})" if width is not None else "(photos, features)"
        raise InputError(
            f"features must have shape {want}, got {list(x.shape)}: compute them with this model's "
            "features_model"
        )
    y = np.asarray(labels)
    if y.shape != (len(x),) or (y.size and y.dtype.kind not in "iu"):
        raise InputError(f"labels must be {len(x)} integers, one per photo, got shape {list(y.shape)}")
    bad = np.flatnonzero((y < 0) | (y >= len(names)))
    if bad.size:
        raise InputError(
            f"photo {bad[0] + 1} has label {y[bad[0]]}, which names no class (0 to {len(names) - 1})"
        )
    counts = np.bincount(y.astype(np.intp), minlength=len(names))  # intp: 32 bits in wasm
    for name, n in zip(names, counts):
        if n == 0:
            raise InputError(f"class {name!r} has no photos: give it at least one, or remove it")
    broken = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if broken.size:
        raise InputError(
            f"the features of photo {broken[0] + 1} are not finite numbers (NaN or infinity): "
            "compute them again from the photo"
        )
    return x, y.astype(np.int64)


class _Training:
    """Softmax regression by full-batch Adam on features centred on their mean and scaled to unit
    RMS length, which makes one learning rate fit any base; `head` folds that back into W and b.
    The bias is the last row of one (width + 1, classes) parameter, against a constant 1 feature:
    with a step's cost all per-op overhead, one parameter instead of two saves a quarter."""

    def __init__(self, features, labels, names, width):
        x, y = check_examples(features, labels, names, width)
        self.names = list(names)
        self.mean = x.mean(axis=0)
        rms = float(np.sqrt(((x - self.mean) ** 2).sum(axis=1).mean()))
        self.scale = max(rms, 1e-6)  # photos that all give the same features: nothing to scale
        ones = np.ones((len(x), 1), np.float32)
        self.x, self.y = tensor(np.hstack([(x - self.mean) / self.scale, ones])), tensor(y)
        self.w = zeros(x.shape[1] + 1, len(names), requires_grad=True)  # convex: zeros start as well
        self.opt = Adam([self.w], lr=LR, weight_decay=WEIGHT_DECAY)

    def step(self):
        self.opt.zero_grad()
        loss = F.cross_entropy(self.x @ self.w, self.y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def head(self, loss):
        w = self.w.numpy()
        weight = w[:-1].T / self.scale
        bias = w[-1] - weight @ self.mean
        return Head(weight.astype(np.float32), bias.astype(np.float32), self.names, loss)


def train_head(features, labels, names, width=None, steps=STEPS, on_step=None):
    """A Head for `names` from features (N, width) and labels (N,) in 0..len(names)-1.
    on_step(step, steps, loss) is called after each step; width, when given, is the base's."""
    training, loss = _Training(features, labels, names, width), float("nan")
    for step in range(1, steps + 1):
        loss = training.step()
        if on_step is not None:
            on_step(step, steps, loss)
    return training.head(loss)


async def train_head_async(features, labels, names, width=None, steps=STEPS, on_step=None):
    """train_head, handing control back to the event loop after every step (a Web Worker keeps
    answering messages while it trains)."""
    training, loss = _Training(features, labels, names, width), float("nan")
    for step in range(1, steps + 1):
        loss = training.step()
        if on_step is not None:
            on_step(step, steps, loss)
        await asyncio.sleep(0)
    return training.head(loss)


def fingerprint(graph):
    """sha256 of what the features depend on: the features graph (its input and preprocessing
    included) and every weight it reads. A head trained on one base fits only that base."""
    g = features_graph(graph)
    doc = g.to_json()
    h = hashlib.sha256(json.dumps([doc["inputs"], doc["nodes"]], sort_keys=True).encode())
    for name in sorted(g.weights):
        w = np.ascontiguousarray(g.weights[name])
        h.update(f"{name}:{w.dtype}:{w.shape}".encode())
        h.update(w)
    return h.hexdigest()


def _digest(weight, bias, names):
    return hashlib.sha256(weight.tobytes() + bias.tobytes() + json.dumps(names).encode()).hexdigest()


def save(head, base):
    """The head as bytes to keep (safetensors: weight, bias; names and base fingerprint in its
    metadata, with a checksum), a few KB per class."""
    weight, bias = (np.ascontiguousarray(a, np.float32) for a in (head.weight, head.bias))
    names = list(head.names)
    meta = {
        "format": FORMAT,
        "base": fingerprint(base.graph),
        "names": json.dumps(names),
        "loss": repr(float(head.loss)),
        "sha256": _digest(weight, bias, names),
    }
    return safetensors.write({"weight": weight, "bias": bias}, metadata=meta)


def restore(data, base, source="the stored classes"):
    """The Head `save` wrote, if it was made for this base; a PycoreError saying why not otherwise."""
    again = "train the classes again"
    try:
        meta, tensors = safetensors.metadata(data, source), safetensors.read(data, source)
    except PycoreError as e:
        raise PycoreError(f"{source} cannot be read ({e}); {again}") from None
    if meta.get("format") != FORMAT or tensors.keys() != {"weight", "bias"}:
        raise PycoreError(f"{source} are not classes pycore saved; {again}")
    try:
        names, loss = json.loads(meta["names"]), float(meta["loss"])
    except (KeyError, ValueError):
        names = loss = None
    weight, bias = (np.array(tensors[k], np.float32) for k in ("weight", "bias"))
    if names is None or meta.get("sha256") != _digest(weight, bias, names):
        raise PycoreError(f"{source} are damaged (their checksum does not match); {again}")
    if meta.get("base") != fingerprint(base.graph):
        raise PycoreError(f"{source} were trained on another version of {base.graph.name!r}; {again}")
    return Head(weight, bias, names, loss)
