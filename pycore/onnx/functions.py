"""ONNX ops pycore has no function for, but which ONNX defines as a function of other ops (their
schema's function body, as Attention, RMSNormalization, RotaryEmbedding): such a node is replaced
by that body before conversion, with the onnx package's own inliner, so the ops it is made of are
what converts. The node suite's "_expanded" cases are these same bodies."""

import onnx
import onnx.inliner
from onnx import FunctionProto

from .registry import OPS

DOMAIN = "pycore.expanded"  # the domain the bodies are inlined from: never a real one
ROUNDS = 4  # a body may use ops that are functions themselves


def expand(model, opset):
    """`model` with every node of the default domain that pycore cannot convert, but ONNX defines
    as a function at `opset`, inlined; the model itself when there is none."""
    for _ in range(ROUNDS):
        expanded = onnx.ModelProto()
        expanded.CopyFrom(model)
        bodies = _bodies(expanded, opset)
        if not bodies:
            return model
        for k, body in bodies.items():
            node = expanded.graph.node[k]
            node.domain, node.op_type = DOMAIN, body.name
            expanded.functions.append(body)
        expanded.opset_import.append(onnx.helper.make_opsetid(DOMAIN, 1))
        model = onnx.inliner.inline_local_functions(expanded)
        del model.opset_import[:]
        model.opset_import.extend([o for o in expanded.opset_import if o.domain != DOMAIN])
    return model


def _bodies(model, opset):
    """{node index: its function body, named uniquely in DOMAIN} for the nodes to expand."""
    out, types = {}, None
    for k, node in enumerate(model.graph.node):
        if node.domain not in ("", "ai.onnx") or node.op_type in OPS:
            continue
        try:
            schema = onnx.defs.get_schema(node.op_type, opset, "")
        except onnx.defs.SchemaError:
            continue
        if not (schema.has_function or schema.has_context_dependent_function):
            continue
        _give_defaults(node, schema)
        if types is None:
            types = _types(model)
        body = _body(schema, node, opset, types)
        if body is not None:
            body.domain, body.name = DOMAIN, f"{node.op_type}_{k}"
            out[k] = body
    return out


def _give_defaults(node, schema):
    """Writes the schema's default of each attribute the node leaves out into the node: a body
    refers to its attributes by name, and the inliner drops a reference to one the node lacks."""
    given = {a.name for a in node.attribute}
    for name, attr in schema.attributes.items():
        if name not in given and attr.default_value.name:
            node.attribute.append(attr.default_value)


def _body(schema, node, opset, types):
    versions = [v for v in schema.function_opset_versions if v <= opset]
    body = FunctionProto()
    if versions:
        body.ParseFromString(schema.get_function_with_opset_version(max(versions)))
        return body
    versions = [v for v in schema.context_dependent_function_opset_versions if v <= opset]
    if not versions or any(t and t not in types for t in node.input):
        return None
    given = [types[t].SerializeToString() if t else onnx.TypeProto().SerializeToString() for t in node.input]
    body.ParseFromString(
        schema.get_context_dependent_function_with_opset_version(
            max(versions), node.SerializeToString(), given
        )
    )
    return body


def _types(model):
    """{tensor name: TypeProto} of every tensor ONNX's shape inference can type."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # onnx raises several kinds for graphs it cannot infer; then nothing expands
        return {}
    g = inferred.graph
    types = {v.name: v.type for v in (*g.input, *g.value_info, *g.output)}
    for t in g.initializer:
        types.setdefault(t.name, onnx.helper.make_tensor_type_proto(t.data_type, t.dims))
    return types
