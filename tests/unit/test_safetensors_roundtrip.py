"""safetensors write then read gives back every tensor exactly, and the bytes follow the format
(https://huggingface.co/docs/safetensors): u64 little-endian header size, JSON header, raw data."""

import json
import struct

import numpy as np
import pytest

from pycore import safetensors
from pycore.model import read_weights

DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
SHAPES = [(), (1,), (7,), (0,), (3, 0, 2), (7, 9), (2, 3, 5, 1), (13, 5)]


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind == "f":
        x = (rng.standard_normal(shape) * 1e3).astype(dt)
        special = np.array([np.nan, np.inf, -np.inf, -0.0, np.finfo(dt).max, np.finfo(dt).tiny], dt)
        flat = x.reshape(-1)
        flat[: min(flat.size, special.size)] = special[: flat.size]
        return x
    info = np.iinfo(dt)
    x = rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
    flat = x.reshape(-1)
    flat[: min(flat.size, 2)] = [info.min, info.max][: flat.size]
    return x


def parse(data):
    (n,) = struct.unpack("<Q", data[:8])
    return n, json.loads(data[8 : 8 + n]), data[8 + n :]


@pytest.mark.parametrize("code", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_round_trip(code, shape):
    x = sample(DTYPES[code], shape)
    data = safetensors.write({"t": x})
    back = safetensors.read(data)["t"]
    assert back.dtype == x.dtype and back.shape == x.shape
    np.testing.assert_array_equal(back, x)  # bit-exact, nan included
    _, header, _ = parse(data)
    assert header["t"]["dtype"] == code
    assert header["t"]["shape"] == list(shape)


def test_many_tensors_with_mixed_dtypes_and_sizes():
    tensors = {
        f"layer{i}.{code}": sample(dt, (i % 4 + 1, 3 + i), seed=i)
        for i, (code, dt) in enumerate(DTYPES.items())
    }
    tensors["empty"] = np.zeros((0, 4), np.float32)
    tensors["scalar"] = np.float32(3.5)
    back = safetensors.read(safetensors.write(tensors))
    assert sorted(back) == sorted(tensors)
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k], v)
        assert back[k].dtype == np.asarray(v).dtype


def test_layout_follows_the_format():
    """Sorted names, 8-byte aligned data section, contiguous offsets covering all of it."""
    tensors = {
        "b": np.arange(3, dtype=np.int8),
        "a": np.ones((2, 2), np.float64),
        "c": np.zeros(0, np.float32),
    }
    data = safetensors.write(tensors)
    n, header, body = parse(data)
    assert n % 8 == 0 and (8 + n) % 8 == 0
    names = [k for k in header if k != "__metadata__"]
    assert names == sorted(names)
    end = 0
    for k in names:
        start, stop = header[k]["data_offsets"]
        assert start == end, "no holes between tensors"
        end = stop
    assert end == len(body)


@pytest.mark.parametrize("metadata", [None, {}, {"format": "pt"}, {"source": "mnist", "epochs": 3, "ü": "ß"}])
def test_metadata(metadata):
    data = safetensors.write({"w": np.ones(2, np.float32)}, metadata=metadata)
    _, header, _ = parse(data)
    if metadata:
        assert header["__metadata__"] == {str(k): str(v) for k, v in metadata.items()}
    else:
        assert "__metadata__" not in header
    assert list(safetensors.read(data)) == ["w"]  # metadata is not a tensor
    assert safetensors.metadata(data) == {str(k): str(v) for k, v in (metadata or {}).items()}


def test_metadata_that_is_not_strings_is_refused():
    head = json.dumps({"__metadata__": {"epochs": 3}}).encode()
    with pytest.raises(safetensors.SafetensorsError, match="__metadata__ must map names to strings"):
        safetensors.metadata(struct.pack("<Q", len(head)) + head)


def test_empty_file():
    data = safetensors.write({})
    assert safetensors.read(data) == {}
    assert len(data) % 8 == 0


@pytest.mark.parametrize("make", [bytes, bytearray, memoryview])
def test_reads_any_bytes_like(make):
    x = sample(np.float32, (7, 9))
    np.testing.assert_array_equal(safetensors.read(make(safetensors.write({"x": x})))["x"], x)


def test_arrays_are_views_and_read_only():
    x = sample(np.float32, (4, 5))
    back = safetensors.read(safetensors.write({"x": x}))["x"]
    assert not back.flags.writeable
    with pytest.raises(ValueError):
        back[0, 0] = 1.0


def test_non_contiguous_inputs_are_written_in_logical_order():
    base = sample(np.float32, (6, 8))
    tensors = {"t": base.T, "s": base[::2, 1::3], "f": np.asfortranarray(base)}
    back = safetensors.read(safetensors.write(tensors))
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k], v)


@pytest.mark.parametrize("dtype", [">f4", ">i8", ">f2", ">i2"])
def test_big_endian_inputs_are_stored_little_endian(dtype):
    x = np.arange(-3, 9, dtype=dtype).reshape(3, 4)
    data = safetensors.write({"x": x})
    back = safetensors.read(data)["x"]
    np.testing.assert_array_equal(back, x)
    assert data.endswith(x.astype(np.dtype(dtype).newbyteorder("<")).tobytes())


def test_unaligned_tensor_after_odd_sized_one():
    """An int8 tensor of odd size puts the next tensor's data at an odd offset; still exact."""
    tensors = {
        "a": np.arange(3, dtype=np.int8),
        "b": sample(np.float64, (5,)),
        "c": sample(np.float32, (3, 3)),
    }
    back = safetensors.read(safetensors.write(tensors))
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k], v)


def test_reads_a_file_built_by_hand():
    """Independent of write(): bytes laid out by hand from the format description."""
    w = np.array([[1.5, -2.0], [0.25, 8.0]], "<f4")
    ids = np.array([7, -1, 300], "<i2")
    header = {
        "__metadata__": {"format": "pt"},
        "ids": {"dtype": "I16", "shape": [3], "data_offsets": [16, 22]},
        "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
    }
    head = json.dumps(header).encode()  # no padding: readers must not require it
    data = struct.pack("<Q", len(head)) + head + w.tobytes() + ids.tobytes()
    back = safetensors.read(data)
    np.testing.assert_array_equal(back["w"], w)
    np.testing.assert_array_equal(back["ids"], ids)


def test_write_matches_hand_built_bytes():
    data = safetensors.write({"x": np.array([1.0, 2.0], "<f4")})
    head = b'{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    head += b" " * (-len(head) % 8)
    assert data == struct.pack("<Q", len(head)) + head + np.array([1.0, 2.0], "<f4").tobytes()


def test_model_weights_come_back_as_float32():
    """read_weights (the loader's path) turns stored float16 / float64 into float32."""
    tensors = {"h": sample(np.float16, (3, 4)), "d": sample(np.float64, (2,)), "f": sample(np.float32, (5,))}
    tensors = {k: np.where(np.isfinite(v), v, 0).astype(v.dtype) for k, v in tensors.items()}
    back = read_weights(safetensors.write(tensors))
    for k, v in tensors.items():
        assert back[k].dtype == np.float32
        np.testing.assert_array_equal(back[k], v.astype(np.float32))
