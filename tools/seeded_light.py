"""The ONNX light models with seeded random weights, and onnxruntime's output on them.

The nine light CNNs in the onnx wheel fill every weight with ConstantOfShape(0.02): activations reach
about 1e10 and every class gets the same logit, so the shipped reference is a softmax of equal
numbers and whether two runtimes agree on it depends on the BLAS's summation order, not on the
arithmetic. Here each fill becomes a seeded random initializer of the same shape, scaled so
activations stay of order 1 (He-normal weights, batch norms and channel affines near identity), and
the reference is onnxruntime on that same modified graph. Every runtime path compares with it.
"""

import zlib

import numpy as np
import onnx
from onnx import helper, numpy_helper

# ops a weight passes through unchanged on its way to the op that uses it
THROUGH = ("Unsqueeze", "Reshape", "Identity")


def _uses(graph):
    uses = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            uses.setdefault(name, []).append((node, k))
    return uses


def _role(name, shape, uses, consts):
    """(op, input index, shape as that op sees it) of the first use that is not a pass-through."""
    node, k = uses[name][0]
    while node.op_type in THROUGH:
        if node.op_type == "Reshape":
            shape = tuple(int(d) for d in consts[node.input[1]])
        node, k = uses[node.output[0]][0]
    return node, k, shape


def _values(rng, node, k, shape, size):
    """Values for input k of `node`, in the shape the node sees."""
    op = node.op_type
    if (op, k) == ("Conv", 1):  # He normal: fan in = in channels / groups x kernel area
        return rng.standard_normal(size, np.float32) * np.sqrt(2.0 / np.prod(shape[1:]))
    if (op, k) == ("Gemm", 1):
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return rng.standard_normal(size, np.float32) * np.sqrt(2.0 / shape[1 if trans_b else 0])
    if (op, k) in {("BatchNormalization", 1), ("BatchNormalization", 4), ("Mul", 1), ("Mul", 0)}:
        return 0.8 + 0.4 * rng.random(size, np.float32)  # scales and variances near 1
    if (op, k) in {("Conv", 2), ("Gemm", 2), ("BatchNormalization", 2), ("BatchNormalization", 3)} or (
        op == "Add"
    ):
        return 0.2 * rng.random(size, np.float32) - 0.1  # biases and means near 0
    raise ValueError(f"no seeding rule for input {k} of {op} node {node.name or node.output[0]!r}")


def inputs(shapes, seed=0):
    """Seeded uniform [0, 1) test inputs, by name: {name: shape} -> {name: float32 array}."""
    return {
        name: np.random.default_rng([seed, zlib.crc32(name.encode())]).random(shape, np.float32)
        for name, shape in shapes.items()
    }


def input_shapes(graph):
    """{name: shape} of an ONNX graph's real inputs (not its initializers)."""
    consts = {t.name for t in graph.initializer}
    return {
        i.name: tuple(d.dim_value for d in i.type.tensor_type.shape.dim)
        for i in graph.input
        if i.name not in consts
    }


def seeded(path, seed=0):
    """The model at `path` with each float ConstantOfShape fill replaced by a seeded initializer,
    and each BatchNormalization's statistics set to those of its input on `inputs()`.

    Each tensor's generator is seeded by `seed` and its name, so values do not depend on graph order.
    """
    model = onnx.load(path)
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    uses = _uses(graph)
    keep, fills = [], {}
    for node in graph.node:
        value = next((a.t for a in node.attribute if a.name == "value"), None)
        if node.op_type != "ConstantOfShape" or node.input[0] not in consts or value is None:
            keep.append(node)
            continue
        if value.data_type != onnx.TensorProto.FLOAT:
            raise ValueError(f"{path}: ConstantOfShape {node.output[0]!r} fills dtype {value.data_type}")
        name, shape = node.output[0], tuple(int(d) for d in consts[node.input[0]])
        user, k, seen = _role(name, shape, uses, consts)
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        fills[name] = _values(rng, user, k, seen, int(np.prod(shape))).astype(np.float32).reshape(shape)
    del graph.node[:]
    graph.node.extend(keep)
    unread = set(consts) - {i for n in keep for i in n.input}
    real = [i for i in graph.input if i.name not in consts]
    consts = {k: v for k, v in consts.items() if k not in unread} | fills
    consts |= _batch_statistics(model, real, consts)
    _set_initializers(model, real, consts)
    return model


def _set_initializers(model, real, consts):
    """Gives the graph these initializers, and as inputs the real inputs (plus, before IR 4, the
    initializers too)."""
    graph = model.graph
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in consts.items())
    inputs = list(real)
    if model.ir_version < 4:  # before IR 4 every initializer is also a graph input
        inputs += [
            helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for k, v in consts.items()
        ]
    del graph.input[:]
    graph.input.extend(inputs)


def _batch_statistics(model, real, consts):
    """Mean and variance of every BatchNormalization's input, per channel, when each batch norm
    normalises by the statistics of its own input (InstanceNormalization, for a batch of one):
    with these as running statistics, every batch norm's output has mean 0 and variance 1 on the
    test input, whatever the depth or the residual sums before it."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    _set_initializers(probe, real, consts)
    nodes, watched = [], []
    for node in probe.graph.node:
        if node.op_type == "BatchNormalization":
            eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
            watched.append((node.input[0], node.input[3], node.input[4]))
            node = helper.make_node(
                "InstanceNormalization", node.input[:3], node.output[:1], epsilon=eps, name=node.name
            )
        nodes.append(node)
    del probe.graph.node[:]
    probe.graph.node.extend(nodes)
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_empty_tensor_value_info(x) for x, _, _ in watched)
    if not watched:
        return {}
    outs = run(probe, inputs(input_shapes(probe.graph)))
    stats = {}
    for (x, mean, var), value in zip(watched, outs):
        if value.ndim != 4:
            raise ValueError(f"batch norm of {x!r}: input of rank {value.ndim}, expected NCHW")
        stats[mean] = value.mean(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)
        stats[var] = value.var(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)
    return stats


def run(model, feeds):
    """onnxruntime's outputs for `feeds` (input name -> array), in graph output order."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # IR 3 graphs list initializers as inputs: ort warns per tensor
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: feeds[i.name] for i in session.get_inputs()})


def reference(model, feeds):
    """(onnxruntime's outputs, the largest |value| of any tensor on the way), for `feeds`."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    for node in probe.graph.node:
        for out in node.output:
            if out not in known:
                probe.graph.output.append(helper.make_empty_tensor_value_info(out))
    outs = run(probe, feeds)
    largest = max(float(np.abs(v).max(initial=0.0)) for v in outs)
    return outs[: len(model.graph.output)], largest
