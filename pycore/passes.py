"""Load-time graph rewrites, run once: every backend then executes the simpler graph.

- drop no-op nodes (Identity, Dropout in inference),
- fold BatchNormalization into the convolution that feeds it,
- fold a Mul or Add by a constant per channel into the Conv or BatchNormalization that feeds it,
- fuse a residual Add (or a Sum of two) and then an activation into the producing Conv/Gemm/MatMul
  (the epilogue).
"""

import numpy as np

from .graph import Node
from .ops import OPS


def optimize(graph):
    drop_noops(graph)
    fold_batchnorm(graph)
    fold_channel_affine(graph)
    materialize_conv_bias(graph)
    fuse_epilogues(graph)
    prune_weights(graph)
    graph.check(graph.name)
    return graph


def prune_weights(graph):
    """Forgets weights no node reads any more (the originals of folded BatchNorms, say)."""
    used = {t for n in graph.nodes for t in n.inputs}
    graph.weights = {k: v for k, v in graph.weights.items() if k in used}


def _rename(graph, old, new):
    for n in graph.nodes:
        n.inputs = [new if t == old else t for t in n.inputs]
    graph.outputs = [new if t == old else t for t in graph.outputs]


def _only_consumer(graph, tensor):
    """The single node reading `tensor`, or None if it has several readers or is a graph output."""
    uses = graph.consumers().get(tensor, [])
    return uses[0] if len(uses) == 1 and tensor not in graph.outputs else None


def drop_noops(graph):
    for n in [n for n in graph.nodes if n.op in ("Identity", "Dropout")]:
        src, dst = n.inputs[0], n.outputs[0]
        producer = next((p for p in graph.nodes if src in p.outputs), None)
        if dst in graph.outputs and (producer is None or src in graph.outputs):
            n.op, n.inputs, n.attrs = "Identity", n.inputs[:1], {}  # keep the copy, as its simplest op
            continue  # a graph input passed straight through, or two public names
        graph.nodes.remove(n)
        if dst in graph.outputs:  # keep the public output name; give it to the producer
            producer.outputs = [dst if t == src else t for t in producer.outputs]
            _rename(graph, src, dst)
        else:
            _rename(graph, dst, src)


def fold_batchnorm(graph):
    for bn in [n for n in graph.nodes if n.op == "BatchNormalization"]:
        conv = next((n for n in graph.nodes if bn.inputs[0] in n.outputs), None)
        if conv is None or conv.op != "Conv" or _only_consumer(graph, bn.inputs[0]) is not bn:
            continue
        if any(t not in graph.weights for t in conv.inputs[1:] + bn.inputs[1:] if t):
            continue
        scale, beta, mean, var = (graph.weight(t) for t in bn.inputs[1:5])
        k = scale / np.sqrt(var + bn.attrs["epsilon"])
        w = graph.weight(conv.inputs[1])
        b = graph.weight(conv.inputs[2]) if len(conv.inputs) > 2 and conv.inputs[2] else 0.0
        wname, bname = f"{conv.name}.folded_weight", f"{conv.name}.folded_bias"
        graph.weights[wname] = (w * k.reshape(-1, *[1] * (w.ndim - 1))).astype(np.float32)
        graph.weights[bname] = ((b - mean) * k + beta).astype(np.float32)
        conv.inputs = [conv.inputs[0], wname, bname]
        conv.outputs = list(bn.outputs)
        graph.nodes.remove(bn)


def _per_channel(value, shape):
    """The constant `value` as one number per channel (axis 1) of a tensor of `shape`, where it
    broadcasts that way without growing the tensor; else None."""
    value = np.asarray(value)
    if value.ndim > len(shape) or len(shape) < 2 or value.dtype != np.float32:
        return None
    dims = (1,) * (len(shape) - value.ndim) + value.shape
    if dims[0] != 1 or any(d != 1 for d in dims[2:]) or dims[1] not in (1, shape[1]):
        return None
    return np.broadcast_to(value.reshape(-1), (shape[1],))


def fold_channel_affine(graph):
    """A Mul or Add of a Conv's or a BatchNormalization's output by a constant per channel, folded
    into its weights: Caffe's Scale layer, exported after a BatchNorm as x * gamma + beta (the ONNX
    light models' Inception v2 and DenseNet-121 have one after every conv), then costs nothing."""
    folded = True
    while folded:
        folded = False
        for node in [n for n in graph.nodes if n.op in ("Mul", "Add")]:
            for x, c in (node.inputs[:2], node.inputs[1::-1]):
                src = next((n for n in graph.nodes if x in n.outputs), None)
                if c in graph.weights and src is not None and _only_consumer(graph, x) is node:
                    v = _per_channel(graph.weights[c], graph.shapes[x])
                    if v is not None and _fold_affine(graph, src, node, v):
                        folded = True
                        break


def _fold_affine(graph, src, node, v):
    """Folds y = src's output * v (Mul) or + v (Add), v per channel, into src: whether it could."""
    names = {"Conv": (1, 2), "BatchNormalization": (1, 2)}.get(src.op)
    if names is None or "activation" in src.attrs or src.op == "Conv" and len(src.inputs) > 3:
        return False
    scale_at, shift_at = names
    params = [t for t in src.inputs[1:] if t]
    if any(t not in graph.weights or np.asarray(graph.weights[t]).dtype != np.float32 for t in params):
        return False
    scale = graph.weight(src.inputs[scale_at])
    shift = graph.weight(src.inputs[shift_at]) if len(src.inputs) > shift_at and src.inputs[shift_at] else 0.0
    if node.op == "Mul":
        scale, shift = scale * v.reshape(-1, *[1] * (scale.ndim - 1)), shift * v
    else:
        shift = shift + v
    inputs = list(src.inputs) + [""] * (shift_at + 1 - len(src.inputs))
    for at, value, what in [(scale_at, scale, "scale"), (shift_at, shift, "shift")]:
        inputs[at] = f"{node.name}.folded_{what}"
        graph.weights[inputs[at]] = np.ascontiguousarray(value, np.float32)
    src.inputs, src.outputs = inputs, list(node.outputs)
    graph.nodes.remove(node)
    return True


def materialize_conv_bias(graph):
    """Gives every Conv a bias input so kernels have one form (X, W, B[, residual])."""
    for n in graph.nodes:
        if n.op == "Conv" and (len(n.inputs) < 3 or not n.inputs[2]):
            name = f"{n.name}.zero_bias"
            graph.weights[name] = np.zeros(graph.shapes[n.inputs[1]][0], graph.dtypes[n.inputs[1]])
            n.inputs = [*n.inputs[:2], name]


def _epilogue(node, act):
    """The host carries the activation's op and its attributes, each renamed `act_<name>`."""
    attrs = {**OPS[act.op].attrs, **act.attrs}
    own = {f"act_{k}": v if isinstance(v, str) else float(v) for k, v in attrs.items()}  # Gelu's mode
    node.attrs.update(activation=act.op, **own)


def fuse_epilogues(graph):
    for node in list(graph.nodes):
        n_inputs = OPS[node.op].epilogue
        if not n_inputs or "activation" in node.attrs:
            continue
        out = node.outputs[0]
        nxt = _only_consumer(graph, out)
        if node.op == "Gemm" and len(node.inputs) < 3:
            node.inputs.append("")
        is_add = nxt is not None and (nxt.op == "Add" or nxt.op == "Sum" and len(nxt.inputs) == 2)
        if is_add and len(node.inputs) == n_inputs:
            other = nxt.inputs[1] if nxt.inputs[0] == out else nxt.inputs[0]
            if other != out and graph.shapes.get(other) == graph.shapes[out]:
                node.inputs.append(other)
                node.outputs = list(nxt.outputs)
                _move(graph, node, nxt)
                out = node.outputs[0]
                nxt = _only_consumer(graph, out)
        if nxt is not None and OPS[nxt.op].activation:
            _epilogue(node, nxt)
            node.outputs = list(nxt.outputs)
            _move(graph, node, nxt)


def _move(graph, node: Node, replaced: Node):
    """Puts `node` where `replaced` was (all of its inputs are defined by then) and drops `replaced`."""
    graph.nodes.remove(node)
    graph.nodes[graph.nodes.index(replaced)] = node
