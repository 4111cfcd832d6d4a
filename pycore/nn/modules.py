"""Modules: layers that own their parameters, with PyTorch's names, defaults and state-dict keys,
so a PyTorch state dict (pycore.torch_checkpoint) loads into the same pycore module."""

import math

import numpy as np

from .. import tensors as T
from ..errors import PycoreError
from . import functional as F


class Parameter(T.Tensor):
    """A tensor a Module learns: it requires a gradient and shows up in parameters()."""

    def __init__(self, data, requires_grad=True):
        if isinstance(data, T.Tensor):
            super().__init__(data.data, data.device, requires_grad)
        else:
            super().__init__(np.asarray(data, np.float32), requires_grad=requires_grad)


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, tensor):
        """A tensor that is state but not learnt (batch norm's running statistics)."""
        self.__setattr__(name, tensor)
        self._buffers[name] = tensor

    def __call__(self, *args, **kwargs):
        scope = self.__dict__.get("_trace_name")
        if scope is None or not T._tape:
            return self.forward(*args, **kwargs)
        T._scopes.append(scope)  # an export names the ops after the module that applied them
        try:
            return self.forward(*args, **kwargs)
        finally:
            T._scopes.pop()

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}{name}.")

    def modules(self):
        return [m for _, m in self.named_modules()]

    def named_parameters(self):
        for prefix, m in self.named_modules():
            for name, p in m._parameters.items():
                yield prefix + name, p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for prefix, m in self.named_modules():
            for name, b in m._buffers.items():
                yield prefix + name, b

    def state_dict(self):
        """Parameters and buffers by PyTorch's dotted names, as numpy arrays."""
        out = {k: p.numpy() for k, p in self.named_parameters()}
        out.update({k: b.numpy() for k, b in self.named_buffers()})
        return out

    def load_state_dict(self, state, strict=True):
        """Copies arrays (or tensors) into the module; with strict, missing, unexpected and
        mis-shaped keys are refused, all of them listed."""
        own = dict(self.named_parameters()) | dict(self.named_buffers())
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        shapes = [
            f"{k}: {list(np.shape(state[k]))} for {list(own[k].shape)}"
            for k in sorted(set(own) & set(state))
            if tuple(np.shape(state[k])) != own[k].shape
        ]
        problems = [f"missing keys {missing}"] * bool(missing) + [f"unexpected keys {extra}"] * bool(extra)
        problems += [f"mis-shaped: {', '.join(shapes)}"] * bool(shapes)
        if problems and (strict or shapes):
            raise PycoreError(f"load_state_dict({type(self).__name__}): " + "; ".join(problems))
        for k in set(own) & set(state):
            value = state[k].numpy() if isinstance(state[k], T.Tensor) else state[k]
            own[k].data = T.Tensor(np.array(value, dtype=own[k].dtype), own[k].device).data
        return {"missing_keys": missing, "unexpected_keys": extra}

    def save(self, path):
        """Writes the state dict as safetensors (PyTorch's key names)."""
        from .. import safetensors

        with open(path, "wb") as f:
            f.write(safetensors.write(self.state_dict()))

    def load(self, path):
        from .. import safetensors

        with open(path, "rb") as f:
            return self.load_state_dict(safetensors.read(f.read(), str(path)))

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def to(self, device=None, dtype=None):
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    moved = t.to(device, dtype)
                    t.data, t.device = moved.data, moved.device
        return self

    def extra_repr(self):
        return ""

    def __repr__(self):
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        body = "".join(f"\n  ({k}): " + repr(m).replace("\n", "\n  ") for k, m in self._modules.items())
        return head + body + "\n)"


class Sequential(Module):
    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x


def _uniform(shape, bound):
    """PyTorch's default initialisation: U(-bound, bound), from pycore's seeded generator."""
    return Parameter(T.generator().uniform(-bound, bound, shape).astype(np.float32))


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = _uniform((out_features, in_features), bound)
        self.bias = _uniform((out_features,), bound) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Conv2d(Module):
    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True
    ):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise PycoreError(
                f"Conv2d: {in_channels} in and {out_channels} out channels do not split into {groups} groups"
            )
        kh, kw = F._pair(kernel_size, "kernel_size")
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (kh, kw)
        bound = 1 / math.sqrt(in_channels // groups * kh * kw)
        self.weight = _uniform((out_channels, in_channels // groups, kh, kw), bound)
        self.bias = _uniform((out_channels,), bound) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}" + (f", groups={self.groups}" if self.groups != 1 else "")
        )


class BatchNorm2d(Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, np.float32)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", T.zeros(num_features))
            self.register_buffer("running_var", T.ones(num_features))
            self.register_buffer("num_batches_tracked", T.tensor(0))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise PycoreError(
                f"BatchNorm2d({self.num_features}): expected (N, {self.num_features}, H, W), "
                f"got {list(x.shape)}"
            )
        momentum = self.momentum
        if self.training and self.running_mean is not None:
            self.num_batches_tracked.assign_(self.num_batches_tracked + 1)
            if momentum is None:  # a cumulative average over every batch so far
                momentum = 1.0 / self.num_batches_tracked.item()
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or self.running_mean is None,
            momentum,
            self.eps,
        )

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        super().__init__()
        shape = [normalized_shape] if isinstance(normalized_shape, int) else list(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.weight = Parameter(np.ones(shape, np.float32)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, np.float32)) if elementwise_affine else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{tuple(self.normalized_shape)}, eps={self.eps}"


def _activation(name, fn):
    def forward(self, x):
        return fn(x)

    return type(
        name, (Module,), {"forward": forward, "__doc__": f"{name}: applies {fn.__name__} elementwise."}
    )


ReLU = _activation("ReLU", F.relu)
ReLU6 = _activation("ReLU6", F.relu6)
Hardswish = _activation("Hardswish", F.hardswish)
Sigmoid = _activation("Sigmoid", F.sigmoid)
Tanh = _activation("Tanh", F.tanh)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)


class MaxPool2d(Module):
    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        if return_indices:
            raise PycoreError("MaxPool2d: return_indices is not supported")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self):
        stride = self.stride or self.kernel_size
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    extra_repr = MaxPool2d.extra_repr


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise PycoreError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
