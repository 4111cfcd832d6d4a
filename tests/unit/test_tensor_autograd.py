"""Autograd of pycore.Tensor and pycore.nn.functional, checked against central finite differences.

Every gradient rule in the op records (pycore/ops, and the numpy backward kernels of conv and pooling) is
compared, element by element and in float64, with (f(x + h) - f(x - h)) / 2h, so a rule is judged by
the forward pass it claims to differentiate rather than by a second hand-written formula. A test
fails when a rule has no case here, so a new op cannot ship with an unchecked gradient. Then:
broadcast gradients sum back to the input's shape, gradients accumulate, no_grad records nothing,
and bad input gets an error that names the op and the shapes at fault.
"""

import math

import numpy as np
import pytest

import pycore.nn.functional as F
import pycore.tensors as T
from pycore import autograd, ops
from pycore.errors import PycoreError

RNG = np.random.default_rng(0)  # the whole table is drawn at collection, so every run sees the same inputs


def normal(*shape):
    return RNG.standard_normal(shape)


def uniform(lo, hi, *shape):
    return RNG.uniform(lo, hi, shape)


def avoiding(*shape, points=(0.0,), lo=-3.0, hi=3.0, gap=0.1):
    """Values in [lo, hi) at least `gap` from each kink in `points`, so x +- h never crosses one."""
    x = RNG.uniform(lo, hi, shape)
    while (near := np.any([np.abs(x - p) < gap for p in points], axis=0)).any():
        x[near] = RNG.uniform(lo, hi, int(near.sum()))
    return x


def distinct(*shape):
    """A shuffled grid 0.1 apart: max / min / max-pool have no ties, whose gradient is a choice."""
    n = math.prod(shape)
    return (RNG.permutation(n) - n / 2).reshape(shape) * 0.1


def apart(b, lo=0.2, hi=1.0):
    """Values at least `lo` above or below those of b (same shape), so elementwise max / min never tie."""
    b = np.asarray(b)
    return b + RNG.choice([-1.0, 1.0], b.shape) * RNG.uniform(lo, hi, b.shape)


def f64(x):
    return T.tensor(x, dtype="float64")


def check_grad(fn, *arrays, h=1e-6, rtol=1e-5, atol=1e-7):
    """Backward of sum(fn(*xs) * w) against central differences of every element of every x."""
    arrays = [np.asarray(a, np.float64) for a in arrays]
    xs = [T.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    out = fn(*xs)
    # a distinct random weight per output element: a gradient sent to the wrong element shows
    w = np.random.default_rng(1).standard_normal(out.shape)
    (out * f64(w)).sum().backward()

    def f(values):
        with autograd.no_grad():
            return float((fn(*[f64(v) for v in values]).numpy() * w).sum())

    for i, (a, x) in enumerate(zip(arrays, xs)):
        numeric = np.zeros_like(a)
        for j in np.ndindex(a.shape):
            plus, minus = list(arrays), list(arrays)
            plus[i], minus[i] = a.copy(), a.copy()
            plus[i][j] += h
            minus[i][j] -= h
            numeric[j] = (f(plus) - f(minus)) / (2 * h)
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.shape == a.shape, f"input {i}: gradient shape {x.grad.shape} != {a.shape}"
        np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=rtol, atol=atol, err_msg=f"input {i}")


def case(name, fn, *arrays, **opts):
    return pytest.param(fn, arrays, opts, id=name)


def seeded_dropout(x):
    T.manual_seed(7)  # the same mask on every call, which finite differences need
    return F.dropout(x, 0.4)


def batch_norm_train(x, w, b):
    running_mean, running_var = T.zeros(x.shape[1], dtype="float64"), T.ones(x.shape[1], dtype="float64")
    return F.batch_norm(x, running_mean, running_var, w, b, training=True)


COND = RNG.random((3, 4)) > 0.5
ROW = normal(4)  # against (3, 4) rows kept at least 0.2 from it, so elementwise max / min never tie
LABELS = T.tensor([2, 0, 1, 2])
RUN_MEAN, RUN_VAR = normal(3), uniform(0.5, 2.0, 3)
# multiples of 2**-8 and h = 2**-8 survive a round trip through float32 exactly
CAST_INPUT = np.round(normal(3, 4) * 256) / 256

CASES = [
    # ---- arithmetic and broadcasting ----
    case("add", lambda a, b: a + b, normal(3, 4), normal(3, 4)),
    case("add-(3,1)+(1,4)", lambda a, b: a + b, normal(3, 1), normal(1, 4)),
    case("sub-(2,3,4)-(4,)", lambda a, b: a - b, normal(2, 3, 4), normal(4)),
    case("mul-(2,3,4)*(4,)", lambda a, b: a * b, normal(2, 3, 4), normal(4)),
    case("mul-scalar-tensor", lambda s, x: s * x, normal(), normal(3)),
    case("div", lambda a, b: a / b, normal(3, 4), avoiding(3, 4, gap=0.5)),
    case("div-broadcast", lambda a, b: a / b, normal(2, 3), uniform(0.5, 2, 2, 1)),
    case("python-scalars", lambda x: 2 - 3 * x + x / 4 - 1.5, normal(5)),
    case("rdiv", lambda x: 1.0 / x, avoiding(5, gap=0.5)),
    case("pow-int", lambda x: x**3, normal(5)),
    case("pow-float", lambda x: x**2.5 + x.pow(-1.5), uniform(0.5, 2, 5)),
    case("pow-tensor", lambda a, b: a**b, uniform(0.5, 2, 3, 4), normal(3, 4)),
    case("pow-tensor-broadcast", lambda a, b: a**b, uniform(0.5, 2, 4), normal(3, 1)),
    case("rpow", lambda x: 2.0**x, normal(5)),
    case("neg", lambda x: -x + x.neg() * 2, normal(3, 4)),
    # ---- elementwise ----
    case("exp", lambda x: x.exp(), normal(3, 4)),
    case("log", lambda x: x.log(), uniform(0.2, 3, 3, 4)),
    case("sqrt", lambda x: x.sqrt(), uniform(0.2, 3, 3, 4)),
    case("abs", lambda x: x.abs(), avoiding(3, 4)),
    case("relu", lambda x: x.relu(), avoiding(3, 4)),
    case("clamp", lambda x: x.clamp(-0.5, 0.5), avoiding(3, 4, points=(-0.5, 0.5))),
    case("clamp-min", lambda x: x.clamp(min=0.3), avoiding(3, 4, points=(0.3,))),
    case("clip-max", lambda x: x.clip(max=-0.2), avoiding(3, 4, points=(-0.2,))),
    case("leaky-relu", lambda x: T.apply("LeakyRelu", x, alpha=0.1), avoiding(3, 4)),
    case("maximum", lambda a, b: T.apply("Max", a, b), apart(np.tile(ROW, (3, 1))), ROW),
    case("minimum", lambda a, b: T.apply("Min", a, b), ROW, apart(np.tile(ROW, (3, 1)))),
    case("sigmoid", lambda x: x.sigmoid() + T.sigmoid(x), normal(3, 4)),
    case("tanh", lambda x: x.tanh(), normal(3, 4)),
    case("erf", lambda x: x.erf(), normal(3, 4)),
    case("sin", lambda x: x.sin(), normal(3, 4)),
    case("cos", lambda x: x.cos(), normal(3, 4)),
    case("tan", lambda x: x.tan(), uniform(-1.2, 1.2, 3, 4)),
    case("asin", lambda x: x.asin(), uniform(-0.9, 0.9, 3, 4)),
    case("acos", lambda x: x.acos(), uniform(-0.9, 0.9, 3, 4)),
    case("atan", lambda x: x.atan(), normal(3, 4)),
    case("sinh", lambda x: x.sinh(), normal(3, 4)),
    case("cosh", lambda x: x.cosh(), normal(3, 4)),
    case("asinh", lambda x: x.asinh(), normal(3, 4)),
    case("acosh", lambda x: x.acosh(), uniform(1.2, 3, 3, 4)),
    case("atanh", lambda x: x.atanh(), uniform(-0.9, 0.9, 3, 4)),
    case("gelu", lambda x: x.gelu(), normal(3, 4)),
    case("gelu-tanh", lambda x: x.gelu(approximate="tanh"), normal(3, 4)),
    case("where", lambda a, b: T.where(T.tensor(COND), a, b), normal(3, 4), normal(3, 4)),
    case("where-broadcast", lambda a, b: T.where(T.tensor(COND), a, b), normal(3, 1), normal(4)),
    case("where-scalar", lambda x: x.where(T.tensor(COND), 0.5), normal(3, 4)),
    case("cast", lambda x: x.to(dtype="float32").to(dtype="float64"), CAST_INPUT, h=2**-8),
    # ---- reductions ----
    case("sum-all", lambda x: x.sum(), normal(2, 3, 4)),
    case("sum-dim", lambda x: x.sum(1), normal(2, 3, 4)),
    case("sum-keepdim", lambda x: x.sum(-1, keepdim=True), normal(2, 3, 4)),
    case("sum-dims", lambda x: x.sum((0, 2)), normal(2, 3, 4)),
    case("mean-all", lambda x: x.mean(), normal(2, 3, 4)),
    case("mean-dim", lambda x: x.mean(0), normal(2, 3, 4)),
    case("mean-keepdim", lambda x: x.mean((1, 2), keepdim=True), normal(2, 3, 4)),
    case("max-all", lambda x: x.max(), distinct(2, 3, 4)),
    case("max-dim", lambda x: x.max(1), distinct(2, 3, 4)),
    case("max-keepdim", lambda x: x.max((0, 2), keepdim=True), distinct(2, 3, 4)),
    case("min-all", lambda x: x.min(), distinct(2, 3, 4)),
    case("min-dim", lambda x: x.min(-1), distinct(2, 3, 4)),
    case("min-keepdim", lambda x: x.min(0, keepdim=True), distinct(2, 3, 4)),
    case("var-all", lambda x: x.var(), normal(3, 4)),
    case("var-dim", lambda x: x.var(1), normal(3, 4)),
    case("var-biased-keepdim", lambda x: x.var(0, keepdim=True, unbiased=False), normal(3, 4)),
    # ---- shape ----
    case("reshape", lambda x: x.reshape(4, 6), normal(2, 3, 4)),
    case("reshape-minus-one", lambda x: x.reshape(-1, 2), normal(2, 3, 4)),
    case("view", lambda x: x.view((3, 8)), normal(2, 3, 4)),
    case("flatten", lambda x: x.flatten(), normal(2, 3, 4)),
    case("flatten-from-1", lambda x: x.flatten(1), normal(2, 3, 4)),
    case("squeeze", lambda x: x.squeeze(), normal(2, 1, 3, 1)),
    case("squeeze-dim", lambda x: x.squeeze(1), normal(2, 1, 3, 1)),
    case("unsqueeze", lambda x: x.unsqueeze(1) * x.unsqueeze(-1), normal(3, 4)),
    case("permute", lambda x: x.permute(2, 0, 1), normal(2, 3, 4)),
    case("transpose", lambda x: x.transpose(0, -1), normal(2, 3, 4)),
    case("T", lambda x: x.T, normal(3, 4)),
    case("expand", lambda x: x.expand(2, 3, 4), normal(3, 1)),
    case("clone", lambda x: x.clone() * x, normal(3, 2)),
    case("expand-minus-one", lambda x: x.expand(5, -1, -1), normal(3, 1)),
    case("cat", lambda a, b: T.cat([a, b]), normal(2, 3), normal(4, 3)),
    case("cat-last-dim", lambda a, b, c: T.cat([a, b, c], dim=-1), normal(2, 1), normal(2, 3), normal(2, 2)),
    case("stack", lambda a, b: T.stack([a, b]), normal(2, 3), normal(2, 3)),
    case("stack-last-dim", lambda a, b: T.stack([a, b], dim=-1), normal(2, 3), normal(2, 3)),
    # ---- basic indexing ----
    case("index-int", lambda x: x[1], normal(3, 4, 2)),
    case("index-negative", lambda x: x[-1, 2], normal(3, 4, 2)),
    case("index-slice", lambda x: x[1:3], normal(4, 3)),
    case("index-columns", lambda x: x[:, 1:-1], normal(4, 5)),
    case("index-ellipsis", lambda x: x[..., 1], normal(2, 3, 4)),
    case("index-none", lambda x: x[None, 0, ..., None], normal(2, 3, 4)),
    case("index-mixed", lambda x: x[1, :, None, 2:], normal(2, 3, 4)),
    # ---- matmul ----
    case("matmul", lambda a, b: a @ b, normal(3, 4), normal(4, 5)),
    case("matmul-batched", lambda a, b: a @ b, normal(2, 3, 4), normal(4, 5)),
    case("matmul-broadcast", lambda a, b: T.matmul(a, b), normal(2, 1, 3, 4), normal(3, 4, 2)),
    case("matmul-vector-matrix", lambda a, b: a @ b, normal(4), normal(4, 5)),
    case("matmul-matrix-vector", lambda a, b: a @ b, normal(3, 4), normal(4)),
    case("matmul-vector-vector", lambda a, b: a @ b, normal(4), normal(4)),
    case("matmul-batch-vector", lambda a, b: a @ b, normal(2, 3, 4), normal(4)),
    # ---- softmax ----
    case("softmax", lambda x: x.softmax(-1), normal(3, 4)),
    case("softmax-dim0", lambda x: F.softmax(x, 0), normal(3, 4)),
    case("log-softmax", lambda x: x.log_softmax(), normal(3, 4)),
    case("log-softmax-dim0", lambda x: F.log_softmax(x, dim=0), normal(3, 4)),
    # ---- convolution ----
    case("conv2d", lambda x, w, b: F.conv2d(x, w, b), normal(2, 3, 5, 5), normal(4, 3, 3, 3), normal(4)),
    case("conv2d-no-bias", lambda x, w: F.conv2d(x, w), normal(1, 2, 5, 4), normal(3, 2, 2, 3)),
    case(
        "conv2d-stride-padding",
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
        normal(1, 2, 6, 5),
        normal(3, 2, 3, 3),
        normal(3),
    ),
    case(
        "conv2d-uneven",  # stride 3 over 7 rows leaves the last row unused: its gradient is 0
        lambda x, w: F.conv2d(x, w, stride=(3, 2), padding=(1, 0)),
        normal(1, 2, 7, 6),
        normal(2, 2, 3, 2),
    ),
    case("conv2d-dilation", lambda x, w: F.conv2d(x, w, dilation=2), normal(1, 2, 6, 6), normal(2, 2, 2, 2)),
    case(
        "conv2d-groups",
        lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
        normal(1, 4, 4, 4),
        normal(6, 2, 3, 3),
        normal(6),
    ),
    case(
        "conv2d-depthwise",
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=3),
        normal(2, 3, 5, 5),
        normal(3, 1, 3, 3),
        normal(3),
    ),
    case("conv2d-1x1", lambda x, w: F.conv2d(x, w), normal(2, 3, 3, 3), normal(4, 3, 1, 1)),
    # ---- pooling ----
    case("max-pool", lambda x: F.max_pool2d(x, 2), distinct(2, 2, 4, 4)),
    case("max-pool-overlap", lambda x: F.max_pool2d(x, 2, stride=1), distinct(1, 2, 4, 5)),
    case("max-pool-padding", lambda x: F.max_pool2d(x, 3, stride=2, padding=1), distinct(1, 2, 5, 5)),
    case("max-pool-ceil", lambda x: F.max_pool2d(x, 2, ceil_mode=True), distinct(1, 2, 5, 5)),
    case(
        "max-pool-ceil-padding",
        lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
        distinct(1, 1, 6, 6),
    ),
    case("max-pool-dilation", lambda x: F.max_pool2d(x, 2, dilation=2), distinct(1, 2, 5, 5)),
    case("avg-pool", lambda x: F.avg_pool2d(x, 2), normal(2, 2, 4, 4)),
    case("avg-pool-overlap", lambda x: F.avg_pool2d(x, (2, 3), stride=1), normal(1, 2, 4, 5)),
    case("avg-pool-pad-counted", lambda x: F.avg_pool2d(x, 3, 2, padding=1), normal(1, 2, 5, 5)),
    case(
        "avg-pool-pad-not-counted",
        lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False),
        normal(1, 2, 5, 5),
    ),
    case("avg-pool-ceil", lambda x: F.avg_pool2d(x, 2, ceil_mode=True), normal(1, 2, 5, 5)),
    case(
        "avg-pool-ceil-padding",
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
        normal(1, 1, 6, 6),
    ),
    case(
        "avg-pool-ceil-padding-not-counted",
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        normal(1, 1, 6, 6),
    ),
    case("adaptive-avg-pool-1", lambda x: F.adaptive_avg_pool2d(x, 1), normal(2, 3, 4, 4)),
    case("adaptive-avg-pool-2x3", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), normal(1, 2, 4, 6)),
    # ---- layers and losses ----
    case("linear", lambda x, w, b: F.linear(x, w, b), normal(3, 4), normal(5, 4), normal(5)),
    case("linear-no-bias-3d", lambda x, w: F.linear(x, w), normal(2, 3, 4), normal(2, 4)),
    case("batch-norm-train", batch_norm_train, normal(4, 3, 2, 2), normal(3), normal(3)),
    case("batch-norm-train-2d", lambda x: F.batch_norm(x, None, None, training=True), normal(5, 3)),
    case(
        "batch-norm-eval",
        lambda x, w, b: F.batch_norm(x, f64(RUN_MEAN), f64(RUN_VAR), w, b),
        normal(2, 3, 2, 2),
        normal(3),
        normal(3),
    ),
    case("layer-norm", lambda x, w, b: F.layer_norm(x, 4, w, b), normal(2, 3, 4), normal(4), normal(4)),
    case("layer-norm-2d-no-affine", lambda x: F.layer_norm(x, (3, 4)), normal(2, 3, 4)),
    case("layer-norm-bias-only", lambda x, b: F.layer_norm(x, 4, bias=b, eps=1e-3), normal(3, 4), normal(4)),
    case("cross-entropy", lambda x: F.cross_entropy(x, LABELS), normal(4, 3)),
    case("cross-entropy-sum", lambda x: F.cross_entropy(x, LABELS, reduction="sum"), normal(4, 3)),
    case("cross-entropy-none", lambda x: F.cross_entropy(x, LABELS, reduction="none"), normal(4, 3)),
    case("nll-loss", lambda x: F.nll_loss(F.log_softmax(x, 1), LABELS), normal(4, 3)),
    case("nll-loss-sum", lambda x: F.nll_loss(x, LABELS, reduction="sum"), normal(4, 3)),
    case("mse-loss", lambda x, y: F.mse_loss(x, y), normal(3, 4), normal(3, 4)),
    case("mse-loss-sum", lambda x, y: F.mse_loss(x, y, reduction="sum"), normal(3, 4), normal(3, 4)),
    case("pad", lambda x: F.pad(x, (1, 2)), normal(2, 3)),
    case("pad-2d-value", lambda x: F.pad(x, (1, 0, 2, 1), value=0.5), normal(1, 2, 3)),
    case("dropout", seeded_dropout, normal(4, 5)),
    case("relu-f", F.relu, avoiding(3, 4)),
    case("relu6", F.relu6, avoiding(3, 4, points=(0.0, 6.0), lo=-2, hi=8)),
    case("hardswish", F.hardswish, avoiding(3, 4, points=(-3.0, 3.0), lo=-5, hi=5)),
    case("hardsigmoid", F.hardsigmoid, avoiding(3, 4, points=(-3.0, 3.0), lo=-5, hi=5)),
    case("gelu-f", lambda x: F.gelu(x) + F.gelu(x, approximate="tanh"), normal(3, 4)),
    case(
        "hardsigmoid-onnx",
        lambda x: T.apply("HardSigmoid", x, alpha=0.3, beta=0.4),
        avoiding(3, 4, points=(-4 / 3, 2.0)),
    ),
    case("softplus", lambda x: F.softplus(x) + F.softplus(x, beta=2.0), normal(3, 4) * 3),
    case("softsign", F.softsign, normal(3, 4) * 3),
    case("mish", F.mish, normal(3, 4) * 3),
    case("sigmoid-tanh-f", lambda x: F.sigmoid(x) * F.tanh(x), normal(3, 4)),
]


@pytest.fixture(autouse=True)
def _keep_the_generator(monkeypatch):
    """seeded_dropout reseeds pycore's generator; other test files keep the stream they expect."""
    monkeypatch.setattr(T, "_generator", T.generator())


@pytest.mark.parametrize("fn, arrays, opts", CASES)
def test_gradient_matches_finite_differences(fn, arrays, opts):
    check_grad(fn, *arrays, **opts)


def recorded_ops(t):
    """Names of the ops in the graph that backward() would walk from t."""
    names, seen, todo = set(), set(), [t]
    while todo:
        t = todo.pop()
        if id(t) in seen or t._ctx is None:
            continue
        seen.add(id(t))
        op, _, inputs = t._ctx
        names.add(op)
        todo.extend(inputs)
    return names


def test_every_gradient_rule_has_a_finite_difference_case():
    covered = set()
    for param in CASES:
        fn, arrays, _ = param.values
        covered |= recorded_ops(fn(*[T.tensor(a, dtype="float64", requires_grad=True) for a in arrays]))
    missing = {name for name, rec in ops.OPS.items() if rec.grad} - covered
    assert not missing, f"gradient rules with no finite-difference case in CASES: {sorted(missing)}"


def test_indexing_matches_numpy():
    """The indexing cases above check the gradient of what Slice took; this checks it took numpy's."""
    x = normal(2, 3, 4)
    for key in [1, (-1, 2), (slice(1, 3),), (Ellipsis, 1), (None, 0, Ellipsis, None), (1, slice(None), None)]:
        np.testing.assert_array_equal(f64(x)[key].numpy(), x[key], err_msg=str(key))


# ---- broadcasting and accumulation ----


def leaf(array):
    return T.tensor(array, dtype="float64", requires_grad=True)


def test_broadcast_gradients_sum_back_to_the_input_shapes():
    a, b = leaf(normal(3, 1)), leaf(normal(1, 4))
    (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full((1, 4), 3.0))

    x, v = leaf(normal(2, 3, 4)), leaf(normal(4))
    (x * v).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), x.numpy().sum((0, 1)))
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(v.numpy(), (2, 3, 4)))


def test_scalar_tensors():
    s, x = leaf(np.float64(1.5)), leaf(normal(3))
    y = s * x + s
    y.sum().backward()
    assert s.grad.shape == () and x.grad.shape == (3,)
    np.testing.assert_allclose(s.grad.numpy(), x.numpy().sum() + 3)
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 1.5))

    t = leaf(np.float64(2.0))
    (t * t).backward()  # a 0-d result has the implicit gradient 1
    assert t.grad.item() == 4.0


def test_a_tensor_used_twice_accumulates_both_paths():
    x = leaf(normal(5))
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 1)

    x = leaf(normal(5))
    y = x * 2  # an intermediate used twice, not just a leaf
    (y * y + y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.numpy() + 2)


def test_grad_accumulates_across_backward_calls():
    x = leaf(normal(2, 3))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 5.0))


def test_retain_graph_allows_a_second_backward():
    x = leaf(normal(3))
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())


def test_backward_through_a_freed_graph_is_an_error():
    x = leaf(normal(3))
    y = (x * x).sum()
    y.backward()
    with pytest.raises(PycoreError, match="already freed.*retain_graph=True"):
        y.backward()


def test_backward_with_an_explicit_gradient():
    x = leaf(normal(2, 3))
    g = normal(2, 3)
    (x * 3).backward(f64(g))
    np.testing.assert_allclose(x.grad.numpy(), 3 * g)


# ---- no_grad ----


def test_no_grad_records_nothing():
    x = leaf(normal(3))
    with autograd.no_grad():
        y = (x * 2).exp().sum()
    assert y._ctx is None and not y.requires_grad
    z = x * 2  # recording resumes after the block
    assert z._ctx is not None and z.requires_grad


def test_no_grad_as_a_decorator():
    @autograd.no_grad()
    def double_exp(t):
        return (t * 2).exp()

    x = leaf(normal(3))
    y = double_exp(x)
    assert y._ctx is None and not y.requires_grad
    assert (x * 2).requires_grad


def test_no_grad_ends_when_its_block_raises():
    x = leaf(normal(3))
    with pytest.raises(ValueError), autograd.no_grad():
        raise ValueError("inside no_grad")
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad():
    x = leaf(normal(3))
    with autograd.no_grad(), autograd.enable_grad():
        y = x * 2
    assert y.requires_grad and y._ctx is not None


# ---- bad input ----


def bad(name, call, error, message):
    return pytest.param(call, error, message, id=name)


ERRORS = [
    bad("add", lambda: T.ones(2, 3) + T.ones(4), T.TensorError, r"Add: shapes \[2, 3\] and \[4\] do not fit"),
    bad(
        "matmul",
        lambda: T.ones(2, 3) @ T.ones(4, 5),
        T.TensorError,
        r"MatMul: shapes \[2, 3\] and \[4, 5\] do not fit \(inner dimensions 3 and 4 differ\)",
    ),
    bad(
        "conv2d-channels",
        lambda: F.conv2d(T.ones(1, 3, 5, 5), T.ones(4, 2, 3, 3)),
        T.TensorError,
        r"conv2d: input \[1, 3, 5, 5\] has 3 channels, weight \[4, 2, 3, 3\] with groups=1 expects 2",
    ),
    bad(
        "linear-features",
        lambda: F.linear(T.ones(2, 3), T.ones(5, 4)),
        T.TensorError,
        r"linear: input \[2, 3\] has 3 features, weight \[5, 4\] expects 4",
    ),
    bad(
        "exp-bool",
        lambda: T.tensor([True]).exp(),
        T.TensorError,
        "Exp needs floating-point tensors, got bool",
    ),
    bad(
        "sqrt-int",
        lambda: T.tensor([4]).sqrt(),
        T.TensorError,
        "Sqrt needs floating-point tensors, got int64",
    ),
    bad(
        "matmul-dtypes",
        lambda: T.ones(2, 3) @ T.ones(3, 2, dtype="float64"),
        T.TensorError,
        r"MatMul: dtypes \['float32', 'float64'\] differ",
    ),
    bad(
        "float-labels",
        lambda: F.cross_entropy(T.ones(2, 3), T.tensor([0.0, 1.0])),
        T.TensorError,
        r"class labels must be an integer tensor, got float32",
    ),
    bad(
        "labels-out-of-range",
        lambda: F.cross_entropy(T.ones(2, 3), T.tensor([0, 5])),
        T.TensorError,
        r"labels must be in \[0, 3\), got values from 0 to 5",
    ),
    bad(
        "negative-labels",
        lambda: F.nll_loss(T.ones(2, 3), T.tensor([-1, 1])),
        T.TensorError,
        r"nll_loss: labels must be in \[0, 3\), got values from -1 to 1",
    ),
    bad(
        "backward-non-scalar",
        lambda: (T.ones(2, 3, requires_grad=True) * 2).backward(),
        PycoreError,
        r"backward\(\) of a tensor of shape \[2, 3\] needs a gradient",
    ),
    bad(
        "backward-gradient-shape",
        lambda: (T.ones(2, 3, requires_grad=True) * 2).backward(T.ones(3, 2)),
        PycoreError,
        r"gradient shape \[3, 2\] differs from \[2, 3\]",
    ),
    bad("backward-no-graph", lambda: (T.ones(1) * 2).backward(), PycoreError, "does not require grad"),
    bad(
        "strided-slice-gradient",
        lambda: T.ones(4, requires_grad=True)[::2].sum().backward(),
        PycoreError,
        r"strided slice \(step > 1\) is not supported",
    ),
    bad(
        "op-without-gradient",
        lambda: T.apply("LRN", T.ones(1, 3, 2, 2, requires_grad=True), size=3),
        T.TensorError,
        r"LRN has no gradient rule; run it under pycore.no_grad\(\)",
    ),
    bad(
        "int-requires-grad",
        lambda: T.tensor([1, 2], requires_grad=True),
        T.TensorError,
        "only floating-point tensors can require gradients, not int64",
    ),
    bad(
        "item",
        lambda: T.ones(2, 3).item(),
        T.TensorError,
        r"item\(\) needs a tensor with one element, this one has shape \[2, 3\]",
    ),
    bad(
        "gelu-mode",
        lambda: F.gelu(T.ones(2), approximate="fast"),
        T.TensorError,
        "'none' or 'tanh', got 'fast'",
    ),
    bad(
        "layer-norm-weight",
        lambda: F.layer_norm(T.ones(2, 3), 3, weight=T.ones(4)),
        T.TensorError,
        r"LayerNormalization: shapes \[2, 3\] and \[4\] do not fit \(scale \[4\] is not the normalised",
    ),
    bad(
        "mish-int",
        lambda: F.mish(T.tensor([1, 2])),
        T.TensorError,
        "Mish needs floating-point tensors, got int64",
    ),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message) as e:
        call()
    assert isinstance(e.value, PycoreError)
