"""Reads PyTorch checkpoints (state dicts) into numpy arrays without torch and without running pickle code.

A checkpoint is a pickle, and loading a pickle naively calls whatever function it names. Here a
restricted unpickler resolves only the few globals a state dict needs (OrderedDict, the tensor
rebuild functions, storage types, dtypes), each mapped to our own code; any other global is refused
by name before anything runs. Two layouts exist:

- zip (torch >= 1.6): `<prefix>/data.pkl` plus one file per storage, `<prefix>/data/<key>`.
- legacy (torch < 1.6, still what `_use_new_zipfile_serialization=False` writes): pickled magic
  number, protocol version and sys info, then the data pickle, then the pickled list of storage
  keys, then each storage as an int64 element count followed by its raw bytes, in that order.

Tensors become (copied, contiguous) numpy arrays; bfloat16 is widened to float32, since numpy has
no bfloat16.
"""

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

from .errors import PycoreError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch storage class name -> numpy dtype of its elements (bfloat16 read as raw uint16)
STORAGES = {
    "FloatStorage": "f4",
    "DoubleStorage": "f8",
    "HalfStorage": "f2",
    "BFloat16Storage": "u2",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}
DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"}


class CheckpointError(PycoreError):
    """A checkpoint that is truncated, malformed, or asks the unpickler for something it refuses."""


class _StorageType:
    __slots__ = ("name", "dtype")

    def __init__(self, name):
        self.name, self.dtype = name, np.dtype(STORAGES[name])


class _Storage:
    """A storage named by the pickle; its bytes arrive later (legacy) or on demand (zip)."""

    __slots__ = ("key", "type", "numel", "array", "base", "offset")

    def __init__(self, key, stype, numel, base=None, offset=0):
        self.key, self.type, self.numel, self.array = key, stype, numel, None
        self.base, self.offset = base, offset  # legacy storage views share their root's bytes


class _Tensor:
    """Placeholder returned while unpickling; becomes an ndarray once storages are read."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    if not isinstance(storage, _Storage):
        raise CheckpointError("a tensor is rebuilt from something that is not a storage")
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data  # requires_grad and hooks mean nothing for inference


SAFE_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in STORAGES},
    **{("torch", name): name for name in DTYPES},  # dtypes only appear as inert values
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages, source):
        super().__init__(file)
        self.storages, self.source = storages, source

    def find_class(self, module, name):
        if (module, name) in SAFE_GLOBALS:
            return SAFE_GLOBALS[(module, name)]
        raise CheckpointError(
            f"{self.source}: refused to load global '{module}.{name}': a state dict needs only tensors, "
            "storages and OrderedDict, and loading anything else could run code from the file"
        )

    def persistent_load(self, pid):
        # zip: ('storage', type, key, location, numel); legacy adds view_metadata
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise CheckpointError(f"{self.source}: unsupported persistent id {pid!r:.80}")
        stype, key, numel = pid[1], str(pid[2]), pid[4]
        if not isinstance(stype, _StorageType) or not isinstance(numel, int) or numel < 0:
            raise CheckpointError(f"{self.source}: malformed storage reference {pid!r:.80}")
        if key not in self.storages:
            self.storages[key] = _Storage(key, stype, numel)
        root = self.storages[key]
        view = pid[5] if len(pid) == 6 else None
        if view is None:
            return root
        view_key, offset, view_numel = view
        return self.storages.setdefault(str(view_key), _Storage(view_key, stype, view_numel, root, offset))


def _unpickle(f, storages, source):
    try:
        return _Unpickler(f, storages, source).load()
    except CheckpointError:
        raise
    except EOFError:
        raise CheckpointError(f"{source}: the file ends inside a pickle (truncated?)") from None
    except Exception as e:  # a malformed pickle fails in many ways; all mean the same to the user
        raise CheckpointError(f"{source}: malformed pickle ({type(e).__name__}: {e})") from None


def _to_array(t, source):
    st = t.storage
    flat = st.base.array[st.offset : st.offset + st.numel] if st.base is not None else st.array
    if flat is None or flat.size < st.numel:
        raise CheckpointError(f"{source}: storage {st.key} has no data (truncated file?)")
    size, stride, offset = t.size, t.stride, t.offset
    if len(size) != len(stride) or min((*size, *stride, offset), default=0) < 0:
        raise CheckpointError(f"{source}: tensor with invalid size {size}, stride {stride}, offset {offset}")
    # as_strided trusts its arguments; check the view stays inside the storage first
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if last >= st.numel:
        raise CheckpointError(f"{source}: tensor of size {size} reaches past storage {st.key}")
    item = flat.itemsize
    arr = np.lib.stride_tricks.as_strided(flat[offset:], size, [s * item for s in stride])
    if st.type.name == "BFloat16Storage":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    return np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")


def _resolve(obj, source):
    if isinstance(obj, _Tensor):
        return _to_array(obj, source)
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        out.update((k, _resolve(v, source)) for k, v in obj.items())
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v, source) for v in obj)
    return obj


def _bytes(st, raw, order, source):
    want = st.numel * st.type.dtype.itemsize
    if len(raw) < want:
        raise CheckpointError(f"{source}: storage {st.key} needs {want} bytes, found {len(raw)} (truncated?)")
    st.array = np.frombuffer(raw, st.type.dtype.newbyteorder(order), st.numel)


def _load_zip(data, source):
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise CheckpointError(f"{source}: zip archive without a <name>/data.pkl; not a torch checkpoint")
        prefix = pkl[0][: -len("data.pkl")]
        order = "<"
        if prefix + "byteorder" in names and zf.read(prefix + "byteorder").strip() == b"big":
            order = ">"
        storages = {}
        obj = _unpickle(io.BytesIO(zf.read(pkl[0])), storages, source)
        for st in storages.values():
            if st.base is None:
                name = f"{prefix}data/{st.key}"
                if name not in names:
                    raise CheckpointError(f"{source}: storage file {name} is missing")
                size, want = zf.getinfo(name).file_size, st.numel * st.type.dtype.itemsize
                if size > want:  # checked before inflating, so a zip bomb is never expanded
                    raise CheckpointError(f"{source}: {name} is {size} bytes, its storage needs {want}")
                _bytes(st, zf.read(name), order, source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as e:
        raise CheckpointError(f"{source}: damaged zip archive ({e}); truncated download?") from None
    return _resolve(obj, source)


def _load_legacy(data, source):
    f = io.BytesIO(data)

    def next_pickle(storages=None):
        return _unpickle(f, {} if storages is None else storages, source)

    if next_pickle() != LEGACY_MAGIC:
        raise CheckpointError(f"{source}: not a PyTorch checkpoint (bad magic number)")
    if next_pickle() != LEGACY_PROTOCOL:
        raise CheckpointError(f"{source}: unsupported legacy checkpoint protocol")
    info = next_pickle()
    order = "<" if not isinstance(info, dict) or info.get("little_endian", True) else ">"
    storages = {}
    obj = next_pickle(storages)
    keys = next_pickle()
    if not isinstance(keys, list):
        raise CheckpointError(f"{source}: malformed storage key list")
    for key in keys:
        st = storages.get(str(key))
        if st is None:
            raise CheckpointError(f"{source}: storage {key} is listed but never used")
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{source}: file ends before storage {key} (truncated?)")
        (numel,) = struct.unpack(order + "q", head)
        if numel != st.numel:
            raise CheckpointError(f"{source}: storage {key} holds {numel} elements, expected {st.numel}")
        _bytes(st, f.read(numel * st.type.dtype.itemsize), order, source)
    return _resolve(obj, source)


def load(source, name=None):
    """Unpickles a checkpoint (path or bytes) with tensors as numpy arrays; no code from it runs."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or "checkpoint"
    else:
        with open(source, "rb") as fh:
            data, name = fh.read(), name or str(source)
    if data[:4] == b"PK\x03\x04":
        return _load_zip(data, name)
    if data[:1] == b"\x80":  # a pickle's PROTO opcode
        return _load_legacy(data, name)
    raise CheckpointError(f"{name}: neither a zip nor a legacy PyTorch checkpoint ({len(data)} bytes)")


def state_dict(source, name=None):
    """{name: ndarray} from a checkpoint; nested dicts (e.g. {"model": ...}) are flattened with dots."""
    flat = {}

    def walk(prefix, obj):
        for k, v in obj.items():
            key = f"{prefix}{k}"
            if isinstance(v, np.ndarray):
                flat[key] = v
            elif isinstance(v, dict):
                walk(key + ".", v)

    obj = load(source, name)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{name or 'checkpoint'}: holds a {type(obj).__name__}, not a state dict")
    walk("", obj)
    return flat
