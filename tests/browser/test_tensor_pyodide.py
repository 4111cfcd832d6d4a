"""The tensor library in the browser: the same training code (the MNIST demo's CNN) runs in Pyodide
(Chromium) from the site's pycore wheel, on the CPU path and on WebGPU (SwiftShader), and in CPython
here; the loss falls and the first step's gradients agree.

The page is a bare Pyodide, not the demos' worker: the wheel is what a Pyodide app installs.
"""

import json

import numpy as np
import pytest

from pycore.model import blocking
from tools.browser import run_in_pyodide

# Runs as written in both places: the MNIST demo's CNN (three conv + batch norm + ReLU + pool blocks,
# two linear layers, dropout drawn from the seeded generator), five Adam steps. Values are awaited:
# in the browser a WebGPU readback is a promise.
TRAIN = """
import json
import numpy as np
import pycore
from pycore.nn import functional as F
from pycore.zoo.mnist import MnistCNN


async def train(device):
    if device == "webgpu":
        await pycore.open_webgpu()
    pycore.manual_seed(0)
    model = MnistCNN().to(device)
    opt = pycore.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = pycore.tensor(rng.random((16, 1, 28, 28), dtype=np.float32)).to(device)
    y = pycore.tensor(rng.integers(0, 10, 16)).to(device)
    losses, grads = [], None
    for step in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if grads is None:
            grads = {k: (await p.grad.numpy_async()).ravel().tolist() for k, p in model.named_parameters()}
        opt.step()
        losses.append(float(await loss.numpy_async()))
    # float16 storage (on webgpu two values to a word): each op's result rounded as numpy rounds it
    half = pycore.tensor(np.linspace(-30000, 30000, 37), dtype="float16").to(device)
    with np.errstate(over="ignore"):  # results past 65504 are meant to be inf
        half = (await ((half * 3 + 1) / 7).numpy_async()).tolist()
    return json.dumps({"losses": losses, "grads": grads, "half": half, "numpy": np.__version__})
"""


@pytest.fixture(scope="module")
def native():
    scope = {}
    exec(TRAIN, scope)
    return json.loads(blocking(scope["train"]("cpu")))  # playwright's loop is running here


@pytest.mark.parametrize("device", ["cpu", "webgpu"])
def test_training_steps_in_pyodide_match_cpython(page, site, native, device):
    page.goto(f"{site}/index.html")
    browser = json.loads(run_in_pyodide(page, f"{TRAIN}\nawait train({device!r})"))
    assert browser["numpy"].startswith("2.0"), "not Pyodide's numpy"
    assert browser["losses"][-1] < 0.8 * browser["losses"][0], browser["losses"]
    np.testing.assert_allclose(browser["losses"], native["losses"], rtol=1e-4)
    assert browser["half"] == native["half"]  # float16 results, infinities included
    for k, g in native["grads"].items():
        got, want = np.array(browser["grads"][k]), np.array(g)
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), k
