"""pycore.nn.functional: PyTorch's functional layer API, composed from Tensor ops.

Convolution and pooling are single IR ops (their backward has kernels of its own), and so are the
activations of current models (GELU, hard-swish, softplus, ...), which fuse into the layer before
them, and layer norm; everything else (the losses, ...) is written here once, in Tensor ops.
"""

import numpy as np

from .. import autograd
from ..tensors import Tensor, TensorError, apply, full_like, generator, get_device, tensor, zeros_like


def _pair(v, name):
    v = [v, v] if isinstance(v, int) else list(v)
    if len(v) != 2:
        raise TensorError(f"{name} must be an int or a pair, got {v}")
    return v


def _check_nchw(x, op):
    if x.ndim != 4:
        raise TensorError(f"{op}: expected an input of shape (N, C, H, W), got {list(x.shape)}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    _check_nchw(input, "conv2d")
    if weight.ndim != 4:
        raise TensorError(f"conv2d: weight must be (out, in / groups, kH, kW), got {list(weight.shape)}")
    if input.shape[1] != weight.shape[1] * groups:
        raise TensorError(
            f"conv2d: input {list(input.shape)} has {input.shape[1]} channels, weight "
            f"{list(weight.shape)} with groups={groups} expects {weight.shape[1] * groups}"
        )
    strides, dilations = _pair(stride, "stride"), _pair(dilation, "dilation")
    pads = _conv_pads(padding, strides, dilations, weight.shape[2:], input.shape[2:])
    inputs = [input, weight] + ([bias] if bias is not None else [])
    return apply(
        "Conv",
        *inputs,
        strides=strides,
        pads=pads,
        dilations=dilations,
        group=groups,
        kernel_shape=list(weight.shape[2:]),
    )


def _conv_pads(padding, strides, dilations, kernel, size):
    """[top, left, bottom, right] from an int, a pair, "valid" or "same": output size = ceil(input /
    stride), an odd total padding putting the extra row and column at the end. With stride 1 that is
    PyTorch's "same"; with larger strides (which PyTorch refuses) TensorFlow's SAME, which models
    ported from TensorFlow (EfficientNet-Lite) need."""
    if padding == "valid":
        return [0, 0, 0, 0]
    if padding == "same":
        total = [
            max(0, (-(-n // s) - 1) * s + d * (k - 1) + 1 - n)
            for n, s, d, k in zip(size, strides, dilations, kernel)
        ]
        return [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]
    if isinstance(padding, str):
        raise TensorError(f"conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    ph, pw = _pair(padding, "padding")
    return [ph, pw, ph, pw]


def _pool(op, x, kernel_size, stride, padding, ceil_mode, **extra):
    _check_nchw(x, op)
    k = _pair(kernel_size, "kernel_size")
    s = _pair(stride if stride is not None else k, "stride")
    ph, pw = _pair(padding, "padding")
    if ph * 2 > k[0] or pw * 2 > k[1]:
        raise TensorError(f"{op}: padding {padding} is more than half the kernel {k}")
    return apply(op, x, kernel_shape=k, strides=s, pads=[ph, pw, ph, pw], ceil_mode=int(ceil_mode), **extra)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _pool(
        "MaxPool", input, kernel_size, stride, padding, ceil_mode, dilations=_pair(dilation, "dilation")
    )


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _pool(
        "AveragePool",
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad=int(count_include_pad),
    )


def adaptive_avg_pool2d(input, output_size):
    _check_nchw(input, "adaptive_avg_pool2d")
    oh, ow = _pair(output_size, "output_size")
    h, w = input.shape[2:]
    if oh == 1 and ow == 1:
        return input.mean((2, 3), keepdim=True)
    if h % oh or w % ow:
        raise TensorError(f"adaptive_avg_pool2d: output {oh}x{ow} must divide the input {h}x{w}")
    return avg_pool2d(input, (h // oh, w // ow))


def linear(input, weight, bias=None):
    if input.shape[-1] != weight.shape[-1]:
        raise TensorError(
            f"linear: input {list(input.shape)} has {input.shape[-1]} features, weight {list(weight.shape)} "
            f"expects {weight.shape[-1]}"
        )
    if input.ndim == 2:  # one Gemm, as exporters write it (and the passes fuse its epilogue)
        return apply("Gemm", input, weight, *([bias] if bias is not None else []), transB=1)
    out = input @ weight.T
    return out + bias if bias is not None else out


def relu(input):
    return input.relu()


def hardtanh(input, min_val=-1.0, max_val=1.0):
    return input.clamp(min_val, max_val)


def relu6(input):
    return input.clamp(0.0, 6.0)


def hardsigmoid(input):
    return apply("HardSigmoid", input, alpha=1 / 6, beta=0.5)


def hardswish(input):
    return apply("HardSwish", input)


def softplus(input, beta=1.0):
    """log(1 + exp(beta * x)) / beta (PyTorch's threshold, 20, changes the result by under 1e-8)."""
    return apply("Softplus", input) if beta == 1 else apply("Softplus", input * beta) / beta


def softsign(input):
    return apply("Softsign", input)


def mish(input):
    return apply("Mish", input)


def gelu(input, approximate="none"):
    return input.gelu(approximate)


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def softmax(input, dim=-1):
    return input.softmax(dim)


def log_softmax(input, dim=-1):
    return input.log_softmax(dim)


def batch_norm(
    input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    """Normalises over every dim but the channels (1). In training, by the batch's statistics, and
    running_mean / running_var (plain tensors) move towards them in place, as in PyTorch."""
    if input.ndim < 2:
        raise TensorError(f"batch_norm: expected (N, C, ...), got {list(input.shape)}")
    if training:
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise TensorError(
                f"batch_norm: training needs more than one value per channel, got {list(input.shape)}"
            )
        # one kernel for the batch's statistics and one for the normalisation, each with one
        # gradient rule (pycore/ops/nn.py): a third of the full-size passes of a composition
        stats = apply("BatchNormStats", input)
        mean, var = stats[0], stats[1]
        if running_mean is not None:
            if momentum is None:
                raise TensorError("batch_norm: momentum=None (a cumulative average) needs BatchNorm2d")
            with autograd.no_grad():
                m = float(momentum)
                running_mean.assign_((1 - m) * running_mean + m * mean)
                running_var.assign_((1 - m) * running_var + m * var * (n / (n - 1)))
    elif running_mean is None:
        raise TensorError("batch_norm: evaluation needs running_mean and running_var")
    else:  # one op, which the passes fold into the convolution before it
        mean, var = running_mean, running_var
    weight = weight if weight is not None else full_like(mean, 1.0)
    bias = bias if bias is not None else zeros_like(mean)
    return apply("BatchNormalization", input, weight, bias, mean, var, epsilon=eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """One LayerNormalization op (the composition touched the full-size tensor about 9 times)."""
    normalized_shape = [normalized_shape] if isinstance(normalized_shape, int) else list(normalized_shape)
    k = len(normalized_shape)
    if list(input.shape[input.ndim - k :]) != normalized_shape:
        raise TensorError(f"layer_norm: input {list(input.shape)} does not end in {normalized_shape}")
    if weight is None and bias is not None:  # the op's inputs are positional: scale, then bias
        weight = full_like(bias, 1.0)
    affine = [t for t in (weight, bias) if t is not None]
    return apply("LayerNormalization", input, *affine, axis=input.ndim - k, epsilon=eps)


def dropout(input, p=0.5, training=True):
    if not 0 <= p <= 1:
        raise TensorError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    if getattr(get_device(input.device), "capture", None) is not None:
        raise TensorError(
            "dropout inside pycore.compile would replay one mask: leave it out of the captured step"
        )
    keep = Tensor(generator().random(input.shape) >= p, input.device)  # drawn on the host: one stream
    return input.where(keep, 0.0) / (1 - p)


def pad(input, pad, mode="constant", value=0.0):
    """`pad` lists (before, after) pairs from the last dimension backwards, as in PyTorch."""
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise TensorError(f"pad: {list(pad)} must hold (before, after) pairs for at most {input.ndim} dims")
    if mode != "constant":
        raise TensorError(f"pad: mode {mode!r} is not supported yet (only 'constant')")
    n = input.ndim
    before, after = [0] * n, [0] * n
    for i in range(len(pad) // 2):
        before[n - 1 - i], after[n - 1 - i] = pad[2 * i], pad[2 * i + 1]
    if min(before + after) < 0:
        raise TensorError("pad: negative padding is not supported; slice the tensor instead")
    return input._op("Pad", pads=before + after, value=float(value))


def _labels(target, n_classes, op, ignore_index):
    if target.dtype not in ("int64", "int32"):
        raise TensorError(f"{op}: class labels must be an integer tensor, got {target.dtype} (use .long())")
    if target.device != "cpu":  # reading labels back from a GPU would stall every step
        return
    labels = target.numpy()
    used = labels[labels != ignore_index]
    if used.size and (used.min() < 0 or used.max() >= n_classes):
        raise TensorError(
            f"{op}: labels must be in [0, {n_classes}), got values from {used.min()} to {used.max()}"
        )


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise TensorError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def nll_loss(input, target, reduction="mean", ignore_index=-100, _op="nll_loss"):
    """input: (N, C) log-probabilities; target: (N,) integer classes; targets equal to
    ignore_index count for nothing (and "mean" divides by the others' count), as in PyTorch."""
    if input.ndim != 2 or target.shape != input.shape[:1]:
        raise TensorError(
            f"{_op}: expected input (N, C) and target (N,), got {list(input.shape)} and {list(target.shape)}"
        )
    _labels(target, input.shape[1], _op, ignore_index)
    classes = tensor(np.arange(input.shape[1]), dtype=target.dtype, device=target.device)
    onehot = (target.reshape(-1, 1) == classes.reshape(1, -1)).to(dtype=input.dtype)
    loss = -(input * onehot).sum(1)
    if reduction == "mean":
        return loss.sum() / (target != ignore_index).sum().to(dtype=input.dtype)
    return _reduce(loss, reduction, _op)


def cross_entropy(input, target, reduction="mean", ignore_index=-100, label_smoothing=0.0):
    """input: (N, C) logits; target: (N,) integer classes. label_smoothing mixes the one-hot target
    with the uniform distribution, as in PyTorch."""
    if input.ndim != 2:
        raise TensorError(f"cross_entropy: expected logits of shape (N, C), got {list(input.shape)}")
    if not 0 <= label_smoothing <= 1:
        raise TensorError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    logp = log_softmax(input, 1)
    loss = nll_loss(logp, target, reduction, ignore_index, _op="cross_entropy")
    if not label_smoothing:
        return loss
    valid = (target != ignore_index).to(dtype=input.dtype)
    uniform = -(logp.mean(1) * valid)
    uniform = (
        uniform.sum() / valid.sum() if reduction == "mean" else _reduce(uniform, reduction, "cross_entropy")
    )
    return (1 - label_smoothing) * loss + label_smoothing * uniform


def mse_loss(input, target, reduction="mean"):
    if input.shape != target.shape:
        raise TensorError(f"mse_loss: input {list(input.shape)} and target {list(target.shape)} differ")
    return _reduce((input - target) ** 2, reduction, "mse_loss")
