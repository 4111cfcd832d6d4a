"""The tensor library in the browser: the same training code runs in Pyodide (Chromium) from the
site's pycore wheel and in CPython here; the loss falls and the first step's gradients agree.

The page is a bare Pyodide, not the demos' worker: the wheel is what a Pyodide app installs.
"""

import json

import numpy as np

# Runs as written in both places; its value is the JSON of what it measured. The convolution before
# the batch norm has no bias: the norm cancels it, so its gradient would be rounding noise.
TRAIN = """
import json
import numpy as np
import pycore
from pycore import nn
from pycore.nn import functional as F

pycore.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(4 * 14 * 14, 10),
)
opt = pycore.optim.Adam(model.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
x = pycore.tensor(rng.random((16, 1, 28, 28), dtype=np.float32))
y = pycore.tensor(rng.integers(0, 10, 16))
losses, grads = [], None
for step in range(5):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    if grads is None:
        grads = {k: p.grad.numpy().ravel().tolist() for k, p in model.named_parameters()}
    opt.step()
    losses.append(loss.item())
json.dumps({"losses": losses, "grads": grads, "numpy": np.__version__})
"""

BOOT = """async ([wheel, code]) => {
  const { loadPyodide } = await import("/pyodide/pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: "/pyodide/" });
  await pyodide.loadPackage(["numpy", wheel]);
  return pyodide.runPython(code);
}"""


def native():
    scope = {}
    lines = TRAIN.strip().splitlines()
    exec("\n".join(lines[:-1]), scope)
    return json.loads(eval(lines[-1], scope))


def test_training_steps_in_pyodide_match_cpython(page, site):
    import build

    wheel = next((build.DIST / "wheels").glob("pycore-*.whl")).name
    page.goto(f"{site}/index.html")
    browser = json.loads(page.evaluate(BOOT, [f"/wheels/{wheel}", TRAIN]))
    here = native()
    assert browser["numpy"].startswith("2.0"), "not Pyodide's numpy"
    assert browser["losses"][-1] < 0.8 * browser["losses"][0], browser["losses"]
    np.testing.assert_allclose(browser["losses"], here["losses"], rtol=1e-4)
    for k, g in here["grads"].items():
        got, want = np.array(browser["grads"][k]), np.array(g)
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), k
