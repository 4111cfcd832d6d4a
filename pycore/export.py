"""pycore.export: traces a Tensor program to the graph IR, the model.json + weights.safetensors
that the demos load. The program runs once on the example input (CPU, eval, no grad) while every
op it applies is recorded; parameters and buffers become weights under their state-dict names.
"""

import json
from pathlib import Path

import numpy as np

from . import autograd, passes, safetensors, tensors
from .errors import PycoreError
from .graph import FORMAT, Graph


def trace(fn, example, module=None):
    """(output tensor, [(op, attrs, inputs, output)]) of fn(example)."""
    tape = []
    tensors._tape.append(tape)
    try:
        with autograd.no_grad():
            out = fn(example)
    finally:
        tensors._tape.pop()
    if not isinstance(out, tensors.Tensor):
        raise PycoreError(f"export: the program must return one Tensor, got {type(out).__name__}")
    return out, tape


def export(
    fn, example, folder=None, name="model", labels=None, preprocess=None, input="input", output="output"
):
    """The Graph of `fn(example)` (a Module or any function of one Tensor), checked by loading it;
    with `folder`, also written there as model.json + weights.safetensors."""
    module = fn if hasattr(fn, "named_parameters") else None
    if module is not None:
        module.eval()
    out, tape = trace(fn, example, module)
    named = {}
    if module is not None:
        named = {id(t): k for k, t in (*module.named_parameters(), *module.named_buffers())}
    names = {id(example): input}
    made = {id(o): (op, attrs, inputs) for op, attrs, inputs, o in tape}
    nodes, weights, order = [], {}, _needed(out, made)
    for t in order:
        op, attrs, inputs = made[id(t)]
        for x in inputs:
            if id(x) in names:
                continue
            if id(x) in made:
                raise PycoreError("export: an op input was computed outside the traced program")
            key = named.get(id(x), f"const{len(weights)}")
            weights[key], names[id(x)] = np.asarray(x.numpy(), np.float32), key
        names[id(t)] = output if t is out else f"{op.lower()}_{len(nodes)}"
        nodes.append(
            {
                "op": op,
                "name": names[id(t)],
                "inputs": [names[id(x)] for x in inputs],
                "outputs": [names[id(t)]],
                "attrs": _plain(attrs),
            }
        )
    if not any(input in n["inputs"] for n in nodes):
        raise PycoreError("export: the output does not depend on the input")
    doc = {
        "format": FORMAT,
        "name": name,
        "inputs": [
            {
                "name": input,
                "shape": list(example.shape),
                "dtype": "float32",
                "preprocess": preprocess or {},
            }
        ],
        "outputs": [output],
        "labels": labels,
        "nodes": nodes,
    }
    graph = Graph.from_json(doc, weights, f"export of {name}")
    if folder is not None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.json").write_text(json.dumps(doc) + "\n")
        (folder / "weights.safetensors").write_bytes(safetensors.write(weights))
    passes.optimize(Graph.from_json(doc, weights))  # the load-time passes accept it
    return graph


def _needed(out, made):
    """The traced tensors the output depends on, inputs before the tensors computed from them."""
    order, seen, stack = [], set(), [(out, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
        elif id(t) not in seen and id(t) in made:
            seen.add(id(t))
            stack.append((t, True))
            stack.extend((x, False) for x in made[id(t)][2])
    return order


def _plain(attrs):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in attrs.items() if v is not None}
