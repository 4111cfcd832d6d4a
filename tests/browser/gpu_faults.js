// Test-only, put in front of web/worker.js by tests/browser/pages.py `inject_gpu_fault`: makes the
// WebGPU API in the worker fail as FAULT (defined just above this file) says, as tests/faults.py
// does for a native binding: no navigator.gpu, a null adapter, a device request over the adapter's
// limits (a genuine refusal), or shaders that do not compile (the compiler's own error).
if (FAULT === "no-gpu") {
  Object.defineProperty(WorkerNavigator.prototype, "gpu", { get: () => undefined });
} else if (FAULT === "no-adapter") {
  GPU.prototype.requestAdapter = async () => null;
} else if (FAULT === "device-reject") {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = function (descriptor = {}) {
    const name = "maxComputeWorkgroupStorageSize";
    const requiredLimits = { ...descriptor.requiredLimits, [name]: this.limits[name] + 1 };
    return requestDevice.call(this, { ...descriptor, requiredLimits });
  };
} else if (FAULT === "shader-fail") {
  const createShaderModule = GPUDevice.prototype.createShaderModule;
  GPUDevice.prototype.createShaderModule = function (descriptor) {
    return createShaderModule.call(this, { ...descriptor, code: `${descriptor.code}\nfn broken() -> f32 { return 1.0 + ; }\n` });
  };
} else {
  throw new Error(`unknown fault ${FAULT}`);
}
