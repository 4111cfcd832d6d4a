"""pycore.Tensor: an eager tensor with PyTorch's names, recorded op by op for autodiff.

Every operation is one IR op (its record in pycore/ops: attributes, shapes, dtype, gradient) run
by the device's kernel table (the CPU path's numpy kernels), so Tensor code, converted models and
exported graphs share one op set. Composite ops (softmax, layer norm, GELU...) are written here
in terms of those.
A tensor that needs a gradient keeps (op, attrs, inputs) in `_ctx`; autograd.py walks it back.
"""

import math

import numpy as np

from . import autograd, ops
from .cpu import KERNELS as CPU_KERNELS
from .errors import PycoreError
from .ops import DTYPES

_NAMES = {np.dtype(name): name for name in DTYPES}  # numpy's dtype.name is slow: once per op counts
float32, float64, float16 = "float32", "float64", "float16"
int32, int64, bool_, uint8, int8 = "int32", "int64", "bool", "uint8", "int8"


class CPUDevice:
    """numpy arrays, computed at once by the CPU path's kernels: in Pyodide, Conv, Gemm, MatMul and
    the convolution's weight gradient on the wasm SIMD kernels where they load (pycore/cpu/fused.py),
    as in a loaded model, which made a training step of the MNIST CNN 2-3 times faster there."""

    name = "cpu"
    _kernels = None

    @property
    def kernels(self):
        if self._kernels is None:  # the wasm modules load on first use, once
            from .cpu import fused, wasm

            runners, _ = wasm.fused_kernels("auto")
            self._kernels = {**CPU_KERNELS, **fused.kernels(runners)} if runners else CPU_KERNELS
        return self._kernels

    def from_numpy(self, array):
        return np.asarray(array)

    constant = from_numpy

    def to_numpy(self, data):
        return data

    async def to_numpy_async(self, data):
        return data

    def run(self, op, attrs, inputs, shape, dtype):
        data = np.asarray(self.kernels[op](attrs, *inputs))
        return data if _NAMES.get(data.dtype) == dtype else data.astype(dtype)

    def assign(self, tensor, old, new):
        """Computed already: nothing to do."""


_devices = {"cpu": CPUDevice()}


def get_device(name):
    """The device object behind a device name; WebGPU is set up on first use."""
    if name not in _devices:
        if name != "webgpu":
            raise TensorError(f"unknown device {name!r}; choose 'cpu' or 'webgpu'")
        from .webgpu.lazy import WebGPUDevice

        _devices[name] = WebGPUDevice()
    return _devices[name]


class TensorError(PycoreError):
    """A tensor operation asked for something impossible: shapes, devices or dtypes that do not fit."""


def _dtype(dtype):
    name = np.dtype(dtype).name if dtype is not None else None
    if name not in DTYPES:
        raise TensorError(f"dtype {dtype!r} is not supported; use one of {sorted(DTYPES)}")
    return name


def _floating(dtype):
    return dtype in _FLOATS


_FLOATS = {"float16", "float32", "float64"}


class Tensor:
    __array_priority__ = 1000  # numpy defers `array + tensor` to Tensor.__radd__

    def __init__(self, data, device="cpu", requires_grad=False, _ctx=None):
        self.data = data if isinstance(data, np.ndarray) and device == "cpu" else _on(device, data)
        self.device = device
        self.grad = None
        self._ctx = _ctx  # (op, attrs, inputs) for tensors computed from ones that need gradients
        self._freed = False  # its graph was released by a backward(); a second one must say so
        self.requires_grad = bool(requires_grad)

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and not _floating(self.dtype):
            raise TensorError(f"only floating-point tensors can require gradients, not {self.dtype}")
        self._requires_grad = bool(value)

    # ---- facts ----
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        dtype = self.data.dtype
        return _NAMES.get(dtype) or dtype.name

    @property
    def ndim(self):
        return self.data.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        return math.prod(self.shape)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", precision=4, threshold=20, prefix="tensor(")
        extra = [f"dtype={self.dtype}"] if self.dtype != "float32" else []
        extra += [f"device='{self.device}'"] if self.device != "cpu" else []
        if self._ctx is not None:
            extra.append(f"grad_fn={self._ctx[0]}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extra)})"

    # ---- values out ----
    def numpy(self):
        """The values as a numpy array (on webgpu this runs what is pending and reads it back; in
        the browser, where a readback is a promise, use `await t.numpy_async()`)."""
        return get_device(self.device).to_numpy(self.data)

    async def numpy_async(self):
        return await get_device(self.device).to_numpy_async(self.data)

    def tolist(self):
        return self.numpy().tolist()

    def item(self):
        if self.numel() != 1:
            raise TensorError(
                f"item() needs a tensor with one element, this one has shape {list(self.shape)}"
            )
        return self.numpy().reshape(()).item()

    def __bool__(self):
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def clone(self):
        """A copy with its own data that stays in the graph (gradients flow through it)."""
        return self._op("Identity")

    def detach(self):
        out = Tensor(self.data, self.device)
        if _tape:  # a trace follows values through detach()
            _tape[-1].append(("Identity", {}, (self,), out, _scopes[-1] if _scopes else None))
        return out

    def to(self, device=None, dtype=None):
        out = self
        if dtype is not None and _dtype(dtype) != self.dtype:
            out = out._op("Cast", to=_dtype(dtype))
        if device is not None and device != self.device:
            out = Tensor(out.numpy(), device)  # a copy through the host, outside any graph
        return out

    def float(self):
        return self.to(dtype="float32")

    def long(self):
        return self.to(dtype="int64")

    def assign_(self, value):
        """Replaces this tensor's values with `value`'s (same shape), outside autodiff: how
        optimisers and batch norm update parameters and running statistics."""
        if value.shape != self.shape or value.device != self.device:
            raise TensorError(
                f"assign_: {list(value.shape)} on {value.device} into {list(self.shape)} on {self.device}"
            )
        old = self.data
        self.data = value.data if value.dtype == self.dtype else value.to(dtype=self.dtype).data
        get_device(self.device).assign(self, old, self.data)
        return self

    def backward(self, gradient=None, retain_graph=False):
        autograd.backward(self, gradient, retain_graph)

    # ---- one way in for every op ----
    def _op(self, op, *others, **attrs):
        return apply(op, self, *others, **attrs)

    def _scalar(self, value):
        """A Python number as a 0-d tensor of this tensor's dtype (so 2 * x stays float32)."""
        if isinstance(value, Tensor):
            return value
        if isinstance(value, bool):
            dtype = "bool"
        elif isinstance(value, int):
            dtype = self.dtype if self.dtype != "bool" else "int64"
        else:
            dtype = self.dtype if _floating(self.dtype) else "float32"
        return Tensor(get_device(self.device).constant(np.asarray(value, dtype)), self.device)

    # ---- arithmetic ----
    def _binary(self, op, other, reverse=False):
        a, b = _promote(self, self._scalar(other))
        return apply(op, b, a) if reverse else apply(op, a, b)

    def __add__(self, o):
        return self._binary("Add", o)

    def __radd__(self, o):
        return self._binary("Add", o, reverse=True)

    def __sub__(self, o):
        return self._binary("Sub", o)

    def __rsub__(self, o):
        return self._binary("Sub", o, reverse=True)

    def __mul__(self, o):
        return self._binary("Mul", o)

    def __rmul__(self, o):
        return self._binary("Mul", o, reverse=True)

    def __truediv__(self, o):  # true division of integers gives floats, as in PyTorch
        return (self if _floating(self.dtype) else self.float())._binary("Div", o)

    def __rtruediv__(self, o):
        return (self if _floating(self.dtype) else self.float())._binary("Div", o, reverse=True)

    def __pow__(self, o):
        return self._binary("Pow", o)

    def __rpow__(self, o):
        return self._binary("Pow", o, reverse=True)

    def __neg__(self):
        return self._op("Neg")

    def __matmul__(self, o):
        return matmul(self, o)

    def __gt__(self, o):
        return self._binary("Greater", o)

    def __lt__(self, o):
        return self._binary("Less", o)

    def __ge__(self, o):
        return self._binary("GreaterOrEqual", o)

    def __le__(self, o):
        return self._binary("LessOrEqual", o)

    def eq(self, o):
        return self._binary("Equal", o)

    __eq__ = eq
    __hash__ = object.__hash__

    def ne(self, o):
        return self.eq(o).logical_not()

    __ne__ = ne

    def logical_not(self):
        return self._op("Equal", self._scalar(False))

    # ---- elementwise ----
    def exp(self):
        return self._op("Exp")

    def log(self):
        return self._op("Log")

    def sqrt(self):
        return self._op("Sqrt")

    def abs(self):
        return self._op("Abs")

    def neg(self):
        return self._op("Neg")

    def relu(self):
        return self._op("Relu")

    def sigmoid(self):
        return self._op("Sigmoid")

    def tanh(self):
        return self._op("Tanh")

    def erf(self):
        return self._op("Erf")

    def sin(self):
        return self._op("Sin")

    def cos(self):
        return self._op("Cos")

    def tan(self):
        return self._op("Tan")

    def asin(self):
        return self._op("Asin")

    def acos(self):
        return self._op("Acos")

    def atan(self):
        return self._op("Atan")

    def sinh(self):
        return self._op("Sinh")

    def cosh(self):
        return self._op("Cosh")

    def asinh(self):
        return self._op("Asinh")

    def acosh(self):
        return self._op("Acosh")

    def atanh(self):
        return self._op("Atanh")

    def floor(self):
        return self._op("Floor")

    def ceil(self):
        return self._op("Ceil")

    def round(self):
        return self._op("Round")

    def sign(self):
        return self._op("Sign")

    def pow(self, exponent):
        return self**exponent

    def clamp(self, min=None, max=None):
        lo = -math.inf if min is None else float(min)
        hi = math.inf if max is None else float(max)
        return self._op("Clip", min=lo, max=hi)

    clip = clamp

    def gelu(self, approximate="none"):
        """One Gelu op (it fuses into the matrix product before it), not the five of its formula."""
        if approximate not in ("none", "tanh"):
            raise TensorError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")
        return self._op("Gelu", approximate=approximate)

    # ---- reductions ----
    def _axes(self, dim):
        if dim is None:
            return list(range(self.ndim))
        dims = [dim] if isinstance(dim, int) else list(dim)
        for d in dims:
            if not -self.ndim <= d < max(self.ndim, 1):
                raise TensorError(f"dim {d} is out of range for a tensor of shape {list(self.shape)}")
        return [d % max(self.ndim, 1) for d in dims]

    def sum(self, dim=None, keepdim=False):
        return self._op("ReduceSum", axes=self._axes(dim), keepdims=int(keepdim))

    def mean(self, dim=None, keepdim=False):
        return self._op("ReduceMean", axes=self._axes(dim), keepdims=int(keepdim))

    def var(self, dim=None, keepdim=False, unbiased=True):
        axes = self._axes(dim)
        n = math.prod(self.shape[a] for a in axes)
        d = self - self.mean(axes, keepdim=True)
        return (d * d).sum(axes, keepdim=keepdim) / max(n - int(unbiased), 1)

    def max(self, dim=None, keepdim=False):
        return self._op("ReduceMax", axes=self._axes(dim), keepdims=int(keepdim))

    def min(self, dim=None, keepdim=False):
        return self._op("ReduceMin", axes=self._axes(dim), keepdims=int(keepdim))

    def argmax(self, dim=None, keepdim=False):
        x = self.reshape(-1) if dim is None else self
        return x._op("ArgMax", axis=0 if dim is None else self._axes(dim)[0], keepdims=int(keepdim))

    def softmax(self, dim=-1):
        """One Softmax op: the kernels fuse max, exp, sum and divide (one dispatch on the GPU)."""
        return self._op("Softmax", axis=self._axes(dim)[0])

    def log_softmax(self, dim=-1):
        shifted = self - self.detach().max(dim, keepdim=True)
        return shifted - shifted.exp().sum(dim, keepdim=True).log()

    # ---- shape ----
    def reshape(self, *shape):
        shape = list(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
        if shape.count(-1) == 1:  # Reshape reads 0 as "keep", so -1 is resolved here
            known = math.prod(d for d in shape if d != -1)
            if known == 0 or self.numel() % known:
                raise TensorError(f"cannot reshape a tensor of shape {list(self.shape)} to {shape}")
            shape[shape.index(-1)] = self.numel() // known
        if tuple(shape) == self.shape:
            return self
        return self._op("Reshape", shape=shape, allowzero=1)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = start_dim % self.ndim, end_dim % self.ndim
        if s == 1 and e == self.ndim - 1 and self.ndim > 2:  # ONNX's Flatten: an export keeps the batch free
            return self._op("Flatten", axis=1)
        return self.reshape(*self.shape[:s], math.prod(self.shape[s : e + 1]), *self.shape[e + 1 :])

    def squeeze(self, dim=None):
        dims = [d for d in range(self.ndim) if self.shape[d] == 1] if dim is None else self._axes(dim)
        return self.reshape([n for d, n in enumerate(self.shape) if d not in dims or n != 1])

    def unsqueeze(self, dim):
        dim = dim % (self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def permute(self, *dims):
        dims = list(dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)
        return self._op("Transpose", perm=[d % self.ndim for d in dims])

    def transpose(self, dim0, dim1):
        perm = list(range(self.ndim))
        perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
        return self._op("Transpose", perm=perm)

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def expand(self, *shape):
        shape = list(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
        lead = len(shape) - self.ndim
        shape = [self.shape[i - lead] if d == -1 else d for i, d in enumerate(shape)]
        if tuple(shape) == self.shape:
            return self
        return self._op("Expand", shape=shape)

    def __getitem__(self, index):
        return autograd.index(self, index)

    def where(self, condition, other):
        return where(condition, self, other)


_tape = []  # the op records of the traces in progress (pycore/export.py)
_scopes = []  # the names of the modules whose forward is running, while tracing


async def open_webgpu():
    """Opens the WebGPU device for tensors and returns its description. CPython opens it on first
    use; in the browser, where that is a promise, await this first."""
    return await get_device("webgpu").open()


def _on(name, data):
    """Data for a device from a numpy array (or anything numpy takes), or the device's own data."""
    dev = get_device(name)
    return data if not isinstance(data, (np.ndarray, np.generic, int, float, bool)) else dev.from_numpy(data)


def _promote(a, b):
    """Two operands with one dtype: a float operand's dtype wins over an integer or bool one."""
    if a.dtype == b.dtype:
        return a, b
    if _floating(a.dtype) != _floating(b.dtype):
        target = a.dtype if _floating(a.dtype) else b.dtype
    else:
        target = np.result_type(a.dtype, b.dtype).name
    return a.to(dtype=target), b.to(dtype=target)


def apply(op, *inputs, **attrs):
    """Runs one IR op on tensors: checks devices and dtypes, infers the shape (naming the op and
    both sides when they do not fit), runs the device's kernel and records it for autodiff."""
    device = inputs[0].device
    for t in inputs[1:]:
        if t.device != device:
            raise TensorError(f"{op}: tensors on different devices ({device} and {t.device})")
    rec = ops.OPS[op]
    dtypes = [t.dtype for t in inputs]
    floats = {d for d in dtypes if d in _FLOATS}
    if any(d not in _FLOATS for d in dtypes[: rec.floats]):
        raise TensorError(f"{op} needs floating-point tensors, got {', '.join(dtypes)}")
    if len(floats) > 1:
        raise TensorError(f"{op}: dtypes {sorted(floats)} differ; convert one with .to(dtype=...)")
    attrs = {**rec.attrs, **attrs}
    try:
        shape = rec.infer(attrs, *[t.shape for t in inputs])
    except (ValueError, IndexError, TypeError) as e:
        shapes = " and ".join(str(list(t.shape)) for t in inputs)
        raise TensorError(f"{op}: shapes {shapes} do not fit ({e})") from None
    dtype = ops.output_dtype(op, attrs, dtypes)
    data = _devices[device].run(op, attrs, [t.data for t in inputs], tuple(int(d) for d in shape), dtype)
    out = Tensor(data, device)
    if _tape:  # pycore.export is tracing
        _tape[-1].append((op, attrs, inputs, out, _scopes[-1] if _scopes else None))
    # a cast to integers (or a comparison) ends the graph, as in PyTorch
    if autograd.enabled() and _floating(dtype) and any(t.requires_grad for t in inputs):
        if rec.grad is None:
            raise TensorError(
                f"{op} has no gradient rule; run it under pycore.no_grad() or on detached tensors"
            )
        out._ctx = (op, attrs, inputs)
        out._requires_grad = True
    return out


# ---- construction ----

_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Seeds the generator behind randn, rand, randint, dropout and parameter initialisation."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator():
    return _generator


def tensor(data, dtype=None, device="cpu", requires_grad=False):
    if isinstance(data, Tensor):
        data = data.data
    array = np.asarray(data)
    if dtype is None:
        dtype = "float32" if array.dtype.kind == "f" else "int64" if array.dtype.kind in "iu" else array.dtype
    return Tensor(np.array(array, _dtype(dtype)), device, requires_grad)


def _shape(shape):
    return tuple(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)


def full(shape, value, dtype="float32", device="cpu", requires_grad=False):
    return Tensor(np.full(_shape([shape]), value, _dtype(dtype)), device, requires_grad)


def zeros(*shape, dtype="float32", device="cpu", requires_grad=False):
    return full(_shape(shape), 0, dtype, device, requires_grad)


def ones(*shape, dtype="float32", device="cpu", requires_grad=False):
    return full(_shape(shape), 1, dtype, device, requires_grad)


def zeros_like(t, dtype=None):
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device)


def ones_like(t, dtype=None):
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device)


def full_like(t, value, dtype=None):
    return full(t.shape, value, dtype=dtype or t.dtype, device=t.device)


def arange(start, end=None, step=1, dtype=None, device="cpu"):
    start, end = (0, start) if end is None else (start, end)
    if dtype is None:
        dtype = "int64" if all(isinstance(v, int) for v in (start, end, step)) else "float32"
    return Tensor(np.arange(start, end, step, dtype=_dtype(dtype)), device)


def randn(*shape, dtype="float32", device="cpu", requires_grad=False):
    data = _generator.standard_normal(_shape(shape)).astype(_dtype(dtype))
    return Tensor(data, device, requires_grad)


def rand(*shape, dtype="float32", device="cpu", requires_grad=False):
    return Tensor(_generator.random(_shape(shape)).astype(_dtype(dtype)), device, requires_grad)


def randint(low, high, shape, dtype="int64", device="cpu"):
    return Tensor(_generator.integers(low, high, _shape([shape])).astype(_dtype(dtype)), device)


# ---- functions of several tensors ----


def matmul(a, b):
    if a.ndim < 2 or b.ndim < 2:  # a vector operand gets a unit dimension, dropped again after
        if a.ndim == 0 or b.ndim == 0:
            raise TensorError(
                f"matmul: both operands need a dimension, got {list(a.shape)} and {list(b.shape)}"
            )
        out = matmul(a.unsqueeze(0) if a.ndim == 1 else a, b.unsqueeze(-1) if b.ndim == 1 else b)
        drop = ([-2] if a.ndim == 1 else []) + ([-1] if b.ndim == 1 else [])
        return out.reshape([d for i, d in enumerate(out.shape) if i - out.ndim not in drop])
    return apply("MatMul", a, b)


def where(condition, x, y):
    x = x if isinstance(x, Tensor) else (y._scalar(x) if isinstance(y, Tensor) else tensor(x))
    y = y if isinstance(y, Tensor) else x._scalar(y)
    if condition.dtype != "bool":
        raise TensorError(f"where: the condition must be a bool tensor, got {condition.dtype}")
    return apply("Where", condition, x, y)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise TensorError("cat: needs at least one tensor")
    return apply("Concat", *tensors, axis=dim)


def stack(tensors, dim=0):
    return cat([t.unsqueeze(dim) for t in tensors], dim)


for _name in ("exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh", "softmax", "log_softmax"):
    globals()[_name] = getattr(Tensor, _name)
