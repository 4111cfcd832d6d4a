"""pycore.Tensor against PyTorch: the functional ops and their gradients, and a CNN trained 3 steps.

pycore claims PyTorch's names and semantics, so the reference is what torch itself computes:
tools/tensor_fixtures.py ran torch 2.13 and wrote tests/fixtures/tensor/, and this file needs no
torch. Each functional case calls the pycore function of the same name with the same arguments and
compares the output and the gradients of `(out * w).sum()` (w fixed and random). The CNN is built
with pycore.nn, loads the state dict torch.save wrote (through pycore.torch_checkpoint, so torch's
key names must fit), and trains with each optimiser as torch did: losses, first-step gradients and
final state dicts must agree.

Tolerances are relative to each array's largest magnitude (float32 sums in another order differ by a
few ulps of the largest term, whatever the BLAS or its thread count), so they hold on any machine.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import pycore
from pycore import nn, optim, safetensors
from pycore.errors import PycoreError
from pycore.nn import functional as F
from pycore.torch_checkpoint import state_dict as read_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tools.reference_models import fixture_cnn  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tensor"
CASES = json.loads((FIXTURES / "functional.json").read_text())
ARRAYS = safetensors.read((FIXTURES / "functional.safetensors").read_bytes())
CNN = json.loads((FIXTURES / "cnn.json").read_text())
CNN_ARRAYS = safetensors.read((FIXTURES / "cnn.safetensors").read_bytes())
NO_GRAD = {"running_mean", "running_var"}


def close(got, want, what, rtol=1e-4):
    """|got - want| within rtol of want's largest magnitude (and the same shape and dtype)."""
    got = np.asarray(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, torch {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, torch {want.dtype}"
    if want.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    scale = float(np.abs(want).max()) if want.size else 0.0
    err = float(np.abs(got.astype(np.float64) - want).max()) if want.size else 0.0
    assert err <= rtol * scale + 1e-7, f"{what}: max error {err:.3g} over a scale of {scale:.3g}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_matches_torch(name):
    case = CASES[name]
    tensors = {}
    for k in case["tensors"]:
        value = ARRAYS[f"{name}/in/{k}"]
        grad = value.dtype.kind == "f" and k not in NO_GRAD
        tensors[k] = pycore.tensor(value.copy(), requires_grad=grad)
    out = getattr(F, case["fn"])(**tensors, **case["kwargs"])
    close(out.numpy(), ARRAYS[f"{name}/out"], f"{name}: output")
    (out * pycore.tensor(ARRAYS[f"{name}/w"])).sum().backward()
    for k in case["grads"]:
        assert tensors[k].grad is not None, f"{name}: no gradient for {k}"
        close(tensors[k].grad.numpy(), ARRAYS[f"{name}/grad/{k}"], f"{name}: gradient of {k}")
    for k in case["after"]:
        close(tensors[k].numpy(), ARRAYS[f"{name}/after/{k}"], f"{name}: {k} after the call")


def test_every_functional_op_is_covered():
    want = {"conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "linear", "batch_norm"}
    want |= {"layer_norm", "dropout", "relu6", "hardswish", "gelu", "cross_entropy", "nll_loss"}
    want |= {"mse_loss", "pad", "softmax", "log_softmax"}
    assert want <= {c["fn"] for c in CASES.values()}


def test_dropout_in_training_keeps_and_scales():
    """Random masks cannot match torch's generator; what can is the rule: zero or x / (1 - p), and
    the gradient flows through the kept elements only, with the same scale."""
    pycore.manual_seed(3)
    x = pycore.tensor(np.linspace(1, 2, 4000, dtype=np.float32).reshape(40, 100), requires_grad=True)
    out = F.dropout(x, p=0.25, training=True)
    kept = out.numpy() != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(out.numpy()[kept], x.numpy()[kept] / 0.75, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / np.float32(0.75), rtol=1e-6)


def torch_init():
    return read_checkpoint((FIXTURES / "cnn_init.pt").read_bytes(), "cnn_init.pt")


def test_torch_state_dict_has_pycores_keys():
    init = torch_init()
    model = fixture_cnn(nn)
    assert set(init) == set(model.state_dict())
    model.load_state_dict(init)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, init[k], err_msg=k)
        assert v.dtype == init[k].dtype, k


@pytest.mark.parametrize("name", sorted(CNN["optimisers"]))
def test_cnn_training_matches_torch(name):
    config = CNN["optimisers"][name]
    model = fixture_cnn(nn)
    model.load_state_dict(torch_init())
    model.train()
    opt = getattr(optim, config["class"])(model.parameters(), **config["kwargs"])
    x, y = pycore.tensor(CNN_ARRAYS["x"]), pycore.tensor(CNN_ARRAYS["y"])
    losses = []
    for step in range(CNN["steps"]):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if step == 0:
            for k, p in model.named_parameters():
                close(p.grad.numpy(), CNN_ARRAYS[f"{name}/grad/{k}"], f"{name}: first-step gradient of {k}")
        opt.step()
        losses.append(loss.item())
    close(np.float32(losses), CNN_ARRAYS[f"{name}/loss"], f"{name}: losses {losses}")
    final = model.state_dict()
    want = {k[len(f"{name}/final/") :]: v for k, v in CNN_ARRAYS.items() if k.startswith(f"{name}/final/")}
    assert set(final) == set(want)
    for k, v in want.items():
        close(final[k], v, f"{name}: {k} after {CNN['steps']} steps")


def test_load_state_dict_names_every_problem():
    state = dict(torch_init())
    del state["4.bias"]
    state["9.weight"] = np.zeros((10, 16), np.float32)
    state["0.weight"] = np.zeros((8, 1, 5, 5), np.float32)
    model = fixture_cnn(nn)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(PycoreError) as e:
        model.load_state_dict(state)
    message = str(e.value)
    for part in ("missing", "4.bias", "unexpected", "9.weight", "mis-shaped", "0.weight", "[8, 1, 5, 5]"):
        assert part in message, (part, message)
    for k, v in model.state_dict().items():  # refused means untouched
        np.testing.assert_array_equal(v, before[k], err_msg=k)
