// Times pycore (CPU and WebGPU paths, in its worker) and onnxruntime-web (wasm with 1 thread, and
// webgpu) on the same models, inputs and browser. Results go to #results as JSON.
// ?models=: the site's models (models/<name>/) against their ONNX export (bench/models/<name>.onnx);
// ?onnx=: light ONNX models, pycore's conversion (bench/onnx/<name>/) against the original file.
// ?paths=cpu: the CPU paths only (pycore cpu, ort wasm), where WebGPU is a slow software adapter.
import { runtime } from "../web/pycore.js";
import * as ort from "./ort/ort.all.bundle.min.mjs";

const params = new URLSearchParams(location.search);
const list = (key, fallback = "") => (params.get(key) ?? fallback).split(",").filter(Boolean);
const models = [
  ...list("models", "mnist").map((name) => ({ name, pycore: `../models/${name}/`, onnx: `models/${name}.onnx` })),
  ...list("onnx").map((name) => ({ name, pycore: `onnx/${name}/`, onnx: `onnx/${name}.onnx` })),
];
const runs = Number(params.get("runs") || 10);
const paths = list("paths", "cpu,webgpu");
const skipped = { unavailable: "not asked for (?paths=)" };
const WARMUP = 2;
const out = document.getElementById("results");
const now = document.getElementById("now");
const results = [];

ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// A fixed pseudo-random input, the same for every runtime.
function input(size) {
  const x = new Float32Array(size);
  let s = 1;
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = s / 2147483648;
  }
  return x;
}

async function time(label, once) {
  now.textContent = label;
  for (let i = 0; i < WARMUP; i++) await once();
  const wall = [], inner = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const reported = await once();
    wall.push(performance.now() - t);
    if (typeof reported === "number") inner.push(reported);
  }
  return { wallMs: median(wall), innerMs: inner.length ? median(inner) : null };
}

async function pycore({ name, pycore: folder }, x, backend) {
  const model = await runtime().load(new URL(folder, import.meta.url), { backend });
  if (model.backend !== backend) return { unavailable: model.note };
  const r = await time(`pycore ${backend} ${name}`, async () => (await model.predict(x)).latencyMs);
  await model.unload();
  return r;
}

async function onnxruntime({ name, onnx }, x, input, ep) {
  try {
    const session = await ort.InferenceSession.create(new URL(onnx, import.meta.url).href, {
      executionProviders: [ep],
    });
    // by name: old (IR 3) files also list their weights among the graph inputs
    const feeds = { [input.name]: new ort.Tensor("float32", x, input.shape) };
    const r = await time(`onnxruntime-web ${ep} ${name}`, async () => {
      const result = await session.run(feeds);
      await result[session.outputNames[0]].getData();
    });
    await session.release();
    return r;
  } catch (e) {
    return { unavailable: String(e.message || e) };
  }
}

for (const spec of models) {
  const info = await (await fetch(new URL(`${spec.pycore}model.json`, import.meta.url))).json();
  const x = input(info.inputs[0].shape.reduce((a, b) => a * b, 1));
  results.push({
    model: spec.name,
    runs,
    "pycore cpu": paths.includes("cpu") ? await pycore(spec, x, "cpu") : skipped,
    "pycore webgpu": paths.includes("webgpu") ? await pycore(spec, x, "webgpu") : skipped,
    "ort wasm-1thread": paths.includes("cpu") ? await onnxruntime(spec, x, info.inputs[0], "wasm") : skipped,
    "ort webgpu": paths.includes("webgpu") ? await onnxruntime(spec, x, info.inputs[0], "webgpu") : skipped,
  });
  out.textContent = JSON.stringify(results, null, 2);
}
now.textContent = "";
document.getElementById("status").textContent = "done";
