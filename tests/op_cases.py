"""One case of every op on the WebGPU path, (nodes, input shapes), reaching every planner branch:
tests/unit/test_uniforms.py plans each (no GPU needed), tests/gpu/test_float16_webgpu.py runs each
on float16 tensors."""

from tests.unit.graphs import node

X4 = (2, 4, 7, 6)
WINDOW = dict(kernel_shape=[3, 3], strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2])

# (nodes, input shapes): together they reach every op of the WebGPU path and every planner branch
CASES = [
    *[([node(op, ["x"])], {"x": (2, 3, 5)}) for op in ("Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt")],
    *[([node(op, ["x"])], {"x": (2, 3, 5)}) for op in ("Neg", "Abs", "Erf", "Identity", "Dropout")],
    *[([node(op, ["x"])], {"x": (7,)}) for op in ("HardSwish", "Softplus", "Softsign", "Mish", "Gelu")],
    *[([node(op, ["x"])], {"x": (4, 3)}) for op in ("Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh")],
    *[([node(op, ["x"])], {"x": (4, 3)}) for op in ("Cosh", "Asinh", "Acosh", "Atanh", "Floor", "Ceil")],
    *[([node(op, ["x"])], {"x": (4, 3)}) for op in ("Round", "Sign")],
    ([node("Gelu", ["x"], approximate="tanh")], {"x": (7,)}),
    ([node("HardSigmoid", ["x"], alpha=0.3, beta=0.4)], {"x": (7,)}),
    ([node("LeakyRelu", ["x"], alpha=0.2)], {"x": (7,)}),
    ([node("Clip", ["x"], min=-1.0, max=2.0)], {"x": (7,)}),
    ([node("Cast", ["x"], to="int8")], {"x": (3, 4)}),
    *[
        ([node(op, ["x", "b"])], {"x": (2, 3, 4), "b": (3, 1)})
        for op in ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min")
    ],
    *[
        ([node(op, ["x", "b"])], {"x": (2, 3, 4), "b": (4,)})
        for op in ("Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual")
    ],
    *[([node("Mod", ["x", "b"], fmod=f)], {"x": (2, 3, 4), "b": (4,)}) for f in (0, 1)],
    ([node("Where", ["c", "a", "b"])], {"c": (2, 1, 4), "a": (3, 4), "b": (2, 3, 1)}),
    ([node("Sum", ["a", "b", "c"])], {"a": (2, 3), "b": (3,), "c": (2, 1)}),
    ([node("Sum", ["a"])], {"a": (2, 3)}),
    ([node("BatchNormStats", ["x"])], {"x": X4}),
    ([node("Conv", ["x", "w", "b"], kernel_shape=[1, 1])], {"x": X4, "w": (5, 4, 1, 1), "b": (5,)}),
    ([node("Conv", ["x", "w"], group=4, **WINDOW)], {"x": X4, "w": (4, 1, 3, 3)}),
    (
        [node("Conv", ["x", "w", "b", "r"], group=2, activation="LeakyRelu", act_alpha=0.3, **WINDOW)],
        {"x": X4, "w": (6, 2, 3, 3), "b": (6,), "r": (2, 6, 4, 3)},
    ),
    ([node("Conv", ["x", "w"], kernel_shape=[3], pads=[1, 1])], {"x": (2, 4, 9), "w": (3, 4, 3)}),
    ([node("MaxPool", ["x"], **WINDOW)], {"x": X4}),
    ([node("AveragePool", ["x"], count_include_pad=1, **WINDOW)], {"x": X4}),
    ([node("AveragePool", ["x"], kernel_shape=[2], strides=[2])], {"x": (2, 3, 8)}),
    (
        [node("BatchNormalization", ["x", "s", "b", "m", "v"], epsilon=1e-3)],
        {"x": X4, **{k: (4,) for k in "sbmv"}},
    ),
    ([node("LRN", ["x"], size=3)], {"x": X4}),
    (
        [node("Resize", ["x"], sizes=[2, 4, 14, 3], scales=[1, 1, 2, 0.5], mode="linear")],
        {"x": X4},
    ),
    ([node("Resize", ["x"], sizes=list(X4), scales=[1, 1, 1, 1])], {"x": X4}),  # a view
    ([node("LayerNormalization", ["x", "s", "b"], axis=2)], {"x": X4, "s": (7, 6), "b": (7, 6)}),
    ([node("LayerNormalization", ["x"], axis=-1, epsilon=1e-3)], {"x": X4}),
    *[
        ([node(op, ["x"], axes=[1, 3])], {"x": X4})
        for op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd")
    ],
    *[([node(op, ["x"])], {"x": X4}) for op in ("GlobalAveragePool", "GlobalMaxPool")],
    ([node("ArgMax", ["x"], axis=1, select_last_index=1)], {"x": X4}),
    ([node("Gemm", ["a", "w", "c"], transB=1, alpha=0.5)], {"a": (3, 8), "w": (5, 8), "c": (1, 5)}),
    ([node("MatMul", ["a", "w"])], {"a": (2, 1, 3, 4), "w": (3, 4, 5)}),
    ([node("MatMul", ["a", "w"], activation="Relu")], {"a": (3, 4), "w": (4, 5)}),
    ([node("Softmax", ["x"], axis=1)], {"x": (3, 5, 2)}),
    ([node("Flatten", ["x"])], {"x": X4}),
    ([node("Reshape", ["x"], shape=[8, 42])], {"x": X4}),
    ([node("Transpose", ["x"], perm=[0, 2, 3, 1])], {"x": X4}),
    ([node("Concat", ["a", "b"], axis=1)], {"a": (2, 3, 4), "b": (2, 1, 4)}),
    ([node("Expand", ["x"], shape=[2, 3, 4])], {"x": (3, 1)}),
    ([node("Pad", ["x"], pads=[0, 1, 2, 0, 2, 1], mode="reflect")], {"x": (2, 5, 4)}),
    ([node("Slice", ["x"], starts=[1, 0], ends=[4, 6], axes=[1, 3], steps=[2, 3])], {"x": X4}),
    (
        [
            node("ConvGradInput", ["dy", "w"], ["gx"], shape=[2, 4, 7, 6], group=2, **WINDOW),
            node("ConvGradWeight", ["x", "dy"], ["gw"], shape=[6, 2, 3, 3], group=2, **WINDOW),
        ],
        {"x": X4, "dy": (2, 6, 4, 3), "w": (6, 2, 3, 3)},
    ),
    ([node("MaxPoolGrad", ["x", "dy"], **WINDOW)], {"x": X4, "dy": (2, 4, 4, 3)}),
    ([node("AveragePoolGrad", ["x", "dy"], count_include_pad=1, **WINDOW)], {"x": X4, "dy": (2, 4, 4, 3)}),
]
