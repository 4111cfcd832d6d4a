// The page half of the ONNX conformance runner: loads a converted case (cases/<name>/ as written
// by tools/conformance/chromium.py), runs its inputs through pycore's worker on each path and hands
// every output back, bytes intact, for chromium.py to compare.
import { runtime } from "../web/pycore.js";

const status = document.getElementById("status");
const now = document.getElementById("now");

// safetensors' dtypes as the typed arrays the worker takes (bool as 0/1 bytes); float16 has none
const ARRAYS = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

// The inputs (input/<name>) of a case's data.safetensors: u64 header length, JSON header, raw
// little-endian data. Its expected outputs are for chromium.py.
function readInputs(buffer) {
  const view = new DataView(buffer);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, n)));
  const out = {};
  for (const [key, { dtype, shape, data_offsets: [a, b] }] of Object.entries(header)) {
    if (!key.startsWith("input/")) continue;
    if (!ARRAYS[dtype]) throw new Error(`${key}: dtype ${dtype} has no typed array in JS`);
    out[key] = { shape, data: new ARRAYS[dtype](buffer.slice(8 + n + a, 8 + n + b)) };
  }
  return out;
}

function base64(array) {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function adapter() {
  const a = await navigator.gpu?.requestAdapter();
  return a ? `${a.info.vendor} ${a.info.architecture} ${a.info.description}`.trim() : "none";
}

// Runs one case on each path in `paths` ("cpu", "webgpu"): {path: {outputs, latencyMs} | {error}}.
async function run(name, paths) {
  now.textContent = name;
  const folder = new URL(`cases/${name}/`, import.meta.url);
  const response = await fetch(new URL("data.safetensors", folder));
  if (!response.ok) throw new Error(`${name}/data.safetensors: HTTP ${response.status}`);
  const data = readInputs(await response.arrayBuffer());
  const inputs = Object.fromEntries(Object.entries(data).map(([k, v]) => [k.slice("input/".length), v.data]));
  const result = {};
  let model;
  try {
    model = await runtime().load(folder, { backend: "cpu" });
  } catch (e) {
    for (const path of paths) result[path] = { error: `load: ${e.message}` };
    return result;
  }
  for (const path of paths) {
    try {
      // setBackend falls back to the CPU when WebGPU fails; that fallback is a failure here
      const info = await model.setBackend(path);
      if (info.backend !== path) {
        const why = info.note.match(/^WebGPU is not available here \((.*)\); running on the CPU path$/s)?.[1];
        throw new Error(`the ${path} path could not be set up: ${why || info.note || `got ${info.backend}`}`);
      }
      const r = await model.run(inputs);
      if (r.backend !== path) throw new Error(`ran on ${r.backend}, not ${path}`);
      result[path] = {
        latencyMs: r.latencyMs,
        outputs: Object.fromEntries(
          Object.entries(r.outputs).map(([k, v]) => [k, { shape: v.shape, dtype: v.dtype, base64: base64(v.data) }]),
        ),
      };
    } catch (e) {
      result[path] = { error: e.message };
    }
  }
  try {
    await model.setBackend("cpu"); // frees the GPU buffers now (unload alone leaves them to GC)
    await model.unload();
  } catch (e) {
    console.warn(`${name}: unload: ${e.message}`);
  }
  now.textContent = "";
  return result;
}

async function boot() {
  await runtime().boot();
  status.textContent = "ready";
  return { adapter: await adapter(), userAgent: navigator.userAgent };
}

window.conformance = { boot, run };
status.textContent = "loaded";
