"""The graph IR: model.json (inputs, nodes, outputs, labels) plus named weight arrays.

model.json, version 1:
    {"format": "pycore/1", "name": str,
     "inputs": [{"name", "shape", "dtype": "float32" (or another of ops.DTYPES), "preprocess": {...}}],
     "outputs": [str], "labels": [str] | null,
     "nodes": [{"op", "name", "inputs": [str], "outputs": [str], "attrs": {}}]}
Node inputs name graph inputs, weights (tensors in weights.safetensors) or outputs of earlier
nodes; "" marks an omitted optional input. Nodes are listed in execution order. Every tensor's
dtype follows from the inputs' and the weights' dtypes by the op records' dtype rules
(`Graph.dtypes`, filled by check).
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np

from . import ops
from .errors import GraphError

FORMAT = "pycore/1"


@dataclass
class Node:
    op: str
    name: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)


@dataclass
class Input:
    name: str
    shape: tuple
    dtype: str = "float32"
    preprocess: dict = field(default_factory=dict)


@dataclass
class Graph:
    name: str
    inputs: list
    outputs: list
    nodes: list
    weights: dict
    labels: list = None
    shapes: dict = field(default_factory=dict)
    dtypes: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc, weights, source="model.json"):
        if isinstance(doc, (str, bytes)):
            try:
                doc = json.loads(doc)
            except ValueError as e:  # JSONDecodeError, or UnicodeDecodeError for binary bytes
                raise GraphError(f"{source}: not valid JSON ({e})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise GraphError(f'{source}: expected an object with "format": "{FORMAT}"')
        try:
            g = cls(
                name=doc.get("name", "model"),
                inputs=[
                    Input(i["name"], tuple(i["shape"]), i.get("dtype", "float32"), i.get("preprocess", {}))
                    for i in doc["inputs"]
                ],
                outputs=list(doc["outputs"]),
                nodes=[
                    Node(
                        n["op"],
                        n.get("name") or f"{n['op']}_{k}",
                        list(n["inputs"]),
                        list(n["outputs"]),
                        dict(n.get("attrs", {})),
                    )
                    for k, n in enumerate(doc["nodes"])
                ],
                weights=dict(weights),
                labels=doc.get("labels"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise GraphError(f"{source}: malformed graph, missing or wrong field {e}") from None
        g.check(source)
        return g

    def to_json(self):
        return {
            "format": FORMAT,
            "name": self.name,
            "inputs": [
                {"name": i.name, "shape": list(i.shape), "dtype": i.dtype, "preprocess": i.preprocess}
                for i in self.inputs
            ],
            "outputs": self.outputs,
            "labels": self.labels,
            "nodes": [
                {"op": n.op, "name": n.name, "inputs": n.inputs, "outputs": n.outputs, "attrs": n.attrs}
                for n in self.nodes
            ],
        }

    def check(self, source="model.json"):
        """Verifies every reference and infers every tensor's shape and dtype, in one pass over the nodes."""
        shapes = {i.name: tuple(i.shape) for i in self.inputs}
        dtypes = {i.name: i.dtype for i in self.inputs}
        for k, w in self.weights.items():
            shapes.setdefault(k, tuple(w.shape))
            dtypes.setdefault(k, np.asarray(w).dtype.name)
        for n in self.nodes:
            if n.op not in ops.OPS:
                raise GraphError(f"{source}: node {n.name!r} uses unknown op {n.op!r}")
            for t in n.inputs:
                if t and t not in shapes:
                    raise GraphError(
                        f"{source}: node {n.name!r} ({n.op}) reads tensor {t!r}, which is neither a "
                        "graph input, a weight, nor the output of an earlier node"
                    )
            ins = [shapes[t] if t else None for t in n.inputs]
            while ins and ins[-1] is None:
                ins.pop()
            outs = ops.resolve(n, ins)
            dtype = ops.output_dtype(n.op, n.attrs, [dtypes[t] if t else None for t in n.inputs])
            for t, s in zip(n.outputs, outs):
                shapes[t], dtypes[t] = s, dtype
        for t in self.outputs:
            if t not in shapes:
                raise GraphError(f"{source}: graph output {t!r} is never produced")
        for t, d in dtypes.items():
            if d not in ops.DTYPES:
                raise GraphError(f"{source}: tensor {t!r} has dtype {d!r}; pycore's are {ops.DTYPE_LIST}")
        self.shapes, self.dtypes = shapes, dtypes
        self.check_labels(self.labels, source)

    def check_labels(self, labels, source="model.json"):
        """Labels name the values of the first output, its leading batch axis aside ([1, 1000] and
        [1, 1000, 1, 1] both have 1000 classes): one label each, as top_k needs."""
        if labels is None:
            return
        if not isinstance(labels, list) or not all(isinstance(s, str) for s in labels):
            raise GraphError(f"{source}: labels must be a list of strings")
        out = self.outputs[0]
        shape = list(self.shapes[out])
        classes = math.prod(shape[1:] if len(shape) > 1 else shape)
        if len(labels) != classes:
            raise GraphError(
                f"{source}: {len(labels)} labels, but output {out!r} (shape {shape}) has {classes} classes"
            )

    def consumers(self):
        uses = {}
        for n in self.nodes:
            for t in n.inputs:
                uses.setdefault(t, []).append(n)
        return uses

    def weight(self, name):
        return np.asarray(self.weights[name], dtype=np.float32)
