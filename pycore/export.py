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
    """(outputs, [(op, attrs, inputs, output, module name)]) of fn(example); with `module`, the
    ops are attributed to the innermost of its submodules that applied them."""
    tape = []
    named = [] if module is None else [(m, name) for name, m in module.named_modules() if name]
    for m, name in named:
        object.__setattr__(m, "_trace_name", name[:-1])
    tensors._tape.append(tape)
    try:
        with autograd.no_grad():
            out = fn(example)
    finally:
        tensors._tape.pop()
        for m, _ in named:
            del m.__dict__["_trace_name"]
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if not outs or not all(isinstance(o, tensors.Tensor) for o in outs):
        raise PycoreError(f"export: the program must return Tensors, got {type(out).__name__}")
    return outs, tape


def export(
    fn,
    example,
    folder=None,
    name="model",
    labels=None,
    preprocess=None,
    input="input",
    output="output",
    module=None,
    metadata=None,
):
    """The Graph of `fn(example)` (a Module, or any function of one Tensor with the `module` it
    uses), checked by loading it; with `folder`, also written there as model.json +
    weights.safetensors (with `metadata`, strings, in its header). Weights and nodes take the
    module's names; a function that returns several tensors names them with a list `output`."""
    module = fn if hasattr(fn, "named_parameters") else module
    if module is not None:
        module.eval()
    outs, tape = trace(fn, example, module)
    output = [output] if isinstance(output, str) else list(output)
    if len(output) != len(outs):
        raise PycoreError(f"export: {len(outs)} outputs returned, {len(output)} names given")
    named = {}
    if module is not None:
        named = {id(t): k for k, t in (*module.named_parameters(), *module.named_buffers())}
    names, taken = {id(example): input}, {input}
    made = {id(o): (op, attrs, inputs, scope) for op, attrs, inputs, o, scope in tape}
    out_names = {id(o): n for o, n in zip(outs, output)}
    nodes, weights = [], {}
    for t in _needed(outs, made):
        op, attrs, inputs, scope = made[id(t)]
        for x in inputs:
            if id(x) in names:
                continue
            if id(x) in made:
                raise PycoreError("export: an op input was computed outside the traced program")
            key = named.get(id(x), f"const{len(weights)}")
            weights[key], names[id(x)] = np.asarray(x.numpy(), np.float32), key
            taken.add(key)
        names[id(t)] = out_names.get(id(t)) or _unique(scope or op.lower(), op, taken)
        taken.add(names[id(t)])
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
        "outputs": output,
        "labels": labels,
        "nodes": nodes,
    }
    graph = Graph.from_json(doc, weights, f"export of {name}")
    if folder is not None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.json").write_text(dumps(doc))
        (folder / "weights.safetensors").write_bytes(safetensors.write(weights, metadata))
    passes.optimize(Graph.from_json(doc, weights))  # the load-time passes accept it
    return graph


def dumps(doc):
    """model.json with one line per top-level field and per node, so diffs of a graph stay readable."""
    fields = [f' "{k}": {json.dumps(v)}' for k, v in doc.items() if k != "nodes"]
    nodes = ",\n".join(f"  {json.dumps(n)}" for n in doc["nodes"])
    return "{\n" + ",\n".join([*fields, f' "nodes": [\n{nodes}\n ]']) + "\n}\n"


def _needed(outs, made):
    """The traced tensors the outputs depend on, inputs before the tensors computed from them."""
    order, seen, stack = [], set(), [(o, False) for o in reversed(outs)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
        elif id(t) not in seen and id(t) in made:
            seen.add(id(t))
            stack.append((t, True))
            stack.extend((x, False) for x in reversed(made[id(t)][2]))
    return order


def _unique(base, op, taken):
    """A node name: the module's name for its first op, then name.op, then name.op.1, ..."""
    if base not in taken:
        return base
    first = base if base.endswith(op.lower()) else f"{base}.{op.lower()}"
    name, k = first, 1
    while name in taken:
        name, k = f"{first}.{k}", k + 1
    return name


def _plain(attrs):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in attrs.items() if v is not None}
