"""A third WebGPU binding, for tests: a Device (pycore/webgpu/device.py) that keeps buffers in host
memory and logs every raw call instead of reaching a GPU, so what the bindings share (opening,
buffer bookkeeping, bind groups, the one-encoder submit, loss) and how the backend drives a
device can be checked on any machine. Shaders are never compiled and dispatches compute nothing."""

from pycore.webgpu.device import Device, GPUUnavailable

ADAPTER_LIMITS = {
    "max_storage_buffer_binding_size": 1 << 27,
    "max_buffer_size": 1 << 28,
    "max_compute_workgroup_storage_size": 16384,
    "min_uniform_buffer_offset_alignment": 256,
}


class Buffer:
    def __init__(self, size, usage):
        self.size, self.usage, self.data, self.destroyed = size, usage, bytearray(size), False

    def destroy(self):
        self.destroyed = True


class Raw:
    """The device object a real binding would get from request_device."""

    def __init__(self, limits, features):
        self.limits, self.features, self.destroyed = limits, features, False

    def destroy(self):
        self.destroyed = True


class Recorder:
    """An encoder, or its compute pass: each call is logged as (method, *args)."""

    def __init__(self, log):
        self.log = log

    def __getattr__(self, name):
        def call(*args):
            self.log.append((name, *args))
            if name == "begin_compute_pass":
                return self
            if name == "finish":
                return "command buffer"

        return call


class RecordingDevice(Device):
    NO_API = "the recording device was asked to have none"
    NO_ADAPTER = "the recording device was asked to have none"

    def __init__(self, adapter, device):
        super().__init__(
            device, info="recording device", software=True, limits=device.limits, features=device.features
        )
        self.log = []

    @classmethod
    def _gpu(cls):
        return "gpu"

    @classmethod
    async def _request_adapter(cls, gpu):
        return {"limits": ADAPTER_LIMITS, "features": {"shader-f16"}}

    @classmethod
    def _adapter_limit(cls, adapter, name):
        return adapter["limits"][name]

    @classmethod
    def _adapter_has(cls, adapter, feature):
        return feature in adapter["features"]

    @classmethod
    async def _request_device(cls, adapter, limits, features):
        over = [k for k, v in limits.items() if v > adapter["limits"].get(k, v)]
        if over:
            raise GPUUnavailable(f"request_device was rejected: the adapter has less {over}")
        return Raw({**adapter["limits"], **limits}, set(features))

    def _create_buffer(self, size, usage):
        return Buffer(size, usage)

    def write_buffer(self, buffer, offset, data):
        view = memoryview(data).cast("B")
        buffer.data[offset : offset + view.nbytes] = view
        self.log.append(("write_buffer", buffer, offset, view.nbytes))

    async def read_buffer(self, buffer, size):
        self.log.append(("read_buffer", buffer, size))
        return bytes(buffer.data[:size])

    async def create_compute_pipeline(self, code, constants, label):
        self.log.append(("create_compute_pipeline", label))
        return ("pipeline", label)

    def _create_bind_group(self, pipeline, entries):
        return ("bind group", pipeline, entries)

    def _command_encoder(self):
        self.log.append(("create_command_encoder",))
        return Recorder(self.log)

    def _queue_submit(self, command_buffer):
        self.log.append(("submit", command_buffer))

    def push_error_scope(self):
        self.log.append(("push_error_scope",))

    async def pop_error_scope(self):
        self.log.append(("pop_error_scope",))
        return None

    def _lost_reason(self, error):
        return str(error) if "lost" in str(error) else None
