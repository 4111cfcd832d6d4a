"""What PyTorch computes for pycore.Tensor's ops, so tests/unit/test_tensor_torch.py needs no torch.

    pip install torch==2.13.0 && python3 tools/tensor_fixtures.py

Writes tests/fixtures/tensor/ (float32 throughout, everything seeded, about 210 KB):
- functional.json, functional.safetensors: one case per row of cases() below, a call of a
  torch.nn.functional function with non-default arguments. The JSON gives, per case, the function,
  its scalar keyword arguments, the names of its tensor keyword arguments (in call order) and which
  of them have gradients. The safetensors file holds, per case `c`: the inputs `c/in/<arg>` (as
  they were before the call), torch's output `c/out`, a fixed random weight `c/w` of the output's
  shape, the gradients `c/grad/<arg>` of `(out * w).sum()` with respect to every float input
  that takes one, and for batch norm in training the running statistics it updated in place,
  `c/after/<arg>`.
- cnn_init.pt: the initial state dict of tools/reference_models.py's fixture_cnn built with
  torch.nn (pycore.nn builds the same layers, so the keys are the same), saved by torch.save in the
  zip format.
- cnn.json, cnn.safetensors: a batch `x` (16x1x28x28, in [0, 1]) and int64 labels `y`; for every
  optimiser in OPTIMISERS, starting from cnn_init.pt, STEPS steps of
  `zero_grad(); cross_entropy(model(x), y).backward(); step()` in train mode: the loss of each
  step `<opt>/loss`, the gradients of the first step `<opt>/grad/<key>`, and the state dict after
  the last step `<opt>/final/<key>` (parameters, batch-norm running statistics and counter).

Torch runs on one thread, so the files come out the same from run to run.
"""

import io
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pycore import safetensors  # noqa: E402
from tools.reference_models import fixture_cnn  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tensor"
STEPS = 3
# name -> (torch.optim class name, keyword arguments); pycore.optim has the same classes and keywords
OPTIMISERS = {
    "sgd_nesterov": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    "sgd": ("SGD", dict(lr=0.05)),
    "adam": ("Adam", dict(lr=1e-3)),
    "adamw": ("AdamW", dict(lr=1e-3, weight_decay=0.05)),
}
NO_GRAD = {"running_mean", "running_var"}  # batch norm's statistics are state, not inputs to learn


def cases():
    """(name, function, tensor arguments, scalar arguments): every function pycore.nn.functional
    shares with torch, with the arguments that change what it computes."""
    r = torch.randn

    def labels(n, c):
        return torch.randint(0, c, (n,))

    return [
        ("conv2d_stride_pad_dilation", "conv2d", dict(input=r(2, 4, 9, 8), weight=r(6, 4, 3, 3), bias=r(6)),
         dict(stride=[2, 1], padding=[1, 2], dilation=[2, 1])),
        ("conv2d_groups", "conv2d", dict(input=r(2, 6, 7, 7), weight=r(9, 2, 3, 2)),
         dict(stride=2, padding=1, groups=3)),
        ("conv2d_depthwise", "conv2d", dict(input=r(1, 4, 6, 5), weight=r(4, 1, 3, 3), bias=r(4)),
         dict(padding=1, groups=4)),
        ("max_pool2d_pad_ceil", "max_pool2d", dict(input=r(2, 3, 8, 7)),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        ("max_pool2d_dilation", "max_pool2d", dict(input=r(1, 2, 7, 8)),
         dict(kernel_size=[2, 3], stride=1, dilation=2)),
        ("avg_pool2d_ceil_exclude_pad", "avg_pool2d", dict(input=r(2, 3, 8, 7)),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
        ("avg_pool2d_include_pad", "avg_pool2d", dict(input=r(2, 2, 7, 6)),
         dict(kernel_size=[3, 2], stride=[2, 1], padding=1, count_include_pad=True)),
        ("max_pool2d_ties", "max_pool2d", dict(input=torch.randint(0, 3, (2, 2, 6, 6)).float()),
         dict(kernel_size=3, stride=1, padding=1)),
        ("max_pool2d_ceil_drops_window_in_pad", "max_pool2d", dict(input=r(1, 2, 5, 5)),
         dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
        ("avg_pool2d_ceil_include_pad", "avg_pool2d", dict(input=r(2, 2, 8, 6)),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)),
        ("avg_pool2d_ceil_drops_window_in_pad", "avg_pool2d", dict(input=r(1, 2, 5, 5)),
         dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
        ("adaptive_avg_pool2d_1", "adaptive_avg_pool2d", dict(input=r(2, 3, 5, 7)), dict(output_size=1)),
        ("adaptive_avg_pool2d_2x3", "adaptive_avg_pool2d", dict(input=r(2, 3, 6, 9)),
         dict(output_size=[2, 3])),
        ("linear_bias_3d", "linear", dict(input=r(2, 3, 5), weight=r(4, 5), bias=r(4)), {}),
        ("linear_no_bias", "linear", dict(input=r(6, 5), weight=r(3, 5)), {}),
        ("batch_norm_train", "batch_norm",
         dict(input=r(4, 3, 5, 6) * 2 + 1, running_mean=r(3), running_var=torch.rand(3) + 0.5,
              weight=r(3), bias=r(3)),
         dict(training=True, momentum=0.2, eps=1e-3)),
        ("batch_norm_train_2d_no_affine", "batch_norm",
         dict(input=r(8, 5), running_mean=torch.zeros(5), running_var=torch.ones(5)), dict(training=True)),
        ("batch_norm_eval", "batch_norm",
         dict(input=r(3, 4, 5, 5), running_mean=r(4), running_var=torch.rand(4) + 0.5, weight=r(4),
              bias=r(4)),
         dict(training=False, eps=1e-4)),
        ("layer_norm_affine", "layer_norm", dict(input=r(2, 3, 3, 4) * 3, weight=r(3, 4), bias=r(3, 4)),
         dict(normalized_shape=[3, 4], eps=1e-6)),
        ("layer_norm_plain", "layer_norm", dict(input=r(4, 7)), dict(normalized_shape=[7])),
        ("gelu_erf", "gelu", dict(input=r(3, 17) * 3), dict(approximate="none")),
        ("gelu_tanh", "gelu", dict(input=r(3, 17) * 3), dict(approximate="tanh")),
        ("hardswish", "hardswish", dict(input=r(4, 16) * 4), {}),
        ("relu6", "relu6", dict(input=r(4, 16) * 5), {}),
        ("hardswish_at_kinks", "hardswish", dict(input=torch.tensor([-4.0, -3.0, -1.0, 0.0, 3.0, 4.0])), {}),
        ("relu6_at_kinks", "relu6", dict(input=torch.tensor([-1.0, 0.0, 1.0, 6.0, 7.0])), {}),
        ("softmax_dim1", "softmax", dict(input=r(3, 5, 4) * 3), dict(dim=1)),
        ("log_softmax_dim0", "log_softmax", dict(input=r(6, 5) * 3), dict(dim=0)),
        ("cross_entropy_mean", "cross_entropy", dict(input=r(7, 5) * 2, target=labels(7, 5)), {}),
        ("cross_entropy_sum", "cross_entropy", dict(input=r(7, 5) * 2, target=labels(7, 5)),
         dict(reduction="sum")),
        ("nll_loss_mean", "nll_loss", dict(input=F.log_softmax(r(6, 4), 1), target=labels(6, 4)), {}),
        ("nll_loss_none", "nll_loss", dict(input=r(6, 4), target=labels(6, 4)), dict(reduction="none")),
        ("mse_loss_mean", "mse_loss", dict(input=r(3, 4, 5), target=r(3, 4, 5)), {}),
        ("mse_loss_sum", "mse_loss", dict(input=r(6, 5), target=r(6, 5)), dict(reduction="sum")),
        ("pad_value", "pad", dict(input=r(2, 3, 4, 5)), dict(pad=[1, 2, 0, 3, 2, 0], value=0.5)),
        ("dropout_eval", "dropout", dict(input=r(4, 5)), dict(p=0.3, training=False)),
        ("cross_entropy_smoothing", "cross_entropy",
         dict(input=r(7, 5) * 2, target=torch.tensor([0, 4, -100, 1, 2, 3, 4])),
         dict(label_smoothing=0.1)),
    ]  # fmt: skip


def functional():
    torch.manual_seed(0)
    meta, arrays = {}, {}
    for name, fn, tensors, kwargs in cases():
        for k, t in tensors.items():
            arrays[f"{name}/in/{k}"] = t.numpy().copy()
            if t.is_floating_point() and k not in NO_GRAD:
                t.requires_grad_(True)
        out = getattr(F, fn)(**tensors, **kwargs)
        w = torch.randn(out.shape)
        (out * w).sum().backward()
        grads = [k for k, t in tensors.items() if t.requires_grad]
        after = [k for k in tensors if k in NO_GRAD and kwargs.get("training")]
        arrays[f"{name}/out"] = out.detach().numpy()
        arrays[f"{name}/w"] = w.numpy()
        arrays.update({f"{name}/grad/{k}": tensors[k].grad.numpy() for k in grads})
        arrays.update({f"{name}/after/{k}": tensors[k].numpy() for k in after})
        meta[name] = {"fn": fn, "tensors": list(tensors), "kwargs": kwargs, "grads": grads, "after": after}
    return meta, arrays


def train(model, init, x, y, opt_class, kwargs):
    model.load_state_dict(init)
    model.train()
    opt = getattr(torch.optim, opt_class)(model.parameters(), **kwargs)
    losses, grads = [], {}
    for step in range(STEPS):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if step == 0:
            grads = {k: p.grad.numpy().copy() for k, p in model.named_parameters()}
        opt.step()
        losses.append(loss.item())
    final = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    return losses, grads, final


def training():
    torch.manual_seed(1)
    model = fixture_cnn(nn)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(init, buf)  # the zip format, torch's default since 1.6
    # sparse bright "ink" on black, like MNIST digits
    x = torch.rand(16, 1, 28, 28) * (torch.rand(16, 1, 28, 28) > 0.7)
    y = torch.randint(0, 10, (16,))
    arrays = {"x": x.numpy(), "y": y.numpy()}
    meta = {"steps": STEPS, "model": repr(model), "optimisers": {}}
    for name, (opt_class, kwargs) in OPTIMISERS.items():
        losses, grads, final = train(model, init, x, y, opt_class, kwargs)
        arrays[f"{name}/loss"] = torch.tensor(losses).numpy()
        arrays.update({f"{name}/grad/{k}": v for k, v in grads.items()})
        arrays.update({f"{name}/final/{k}": v for k, v in final.items()})
        meta["optimisers"][name] = {"class": opt_class, "kwargs": kwargs, "losses": losses}
    return buf.getvalue(), meta, arrays


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    meta, arrays = functional()
    (OUT / "functional.json").write_text(json.dumps(meta, indent=1) + "\n")
    (OUT / "functional.safetensors").write_bytes(safetensors.write(arrays))
    pt, meta, arrays = training()
    (OUT / "cnn_init.pt").write_bytes(pt)
    (OUT / "cnn.json").write_text(json.dumps(meta, indent=1) + "\n")
    (OUT / "cnn.safetensors").write_bytes(safetensors.write(arrays))
    size = sum(p.stat().st_size for p in OUT.iterdir())
    names = sorted(p.name for p in OUT.iterdir())
    print(f"wrote {names} ({size} bytes) to {OUT} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
