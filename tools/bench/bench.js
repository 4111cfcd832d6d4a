// Times pycore (CPU and WebGPU paths, in its worker) and onnxruntime-web (wasm with 1 thread, and
// webgpu) on the same models, inputs and browser. Results go to #results as JSON.
import { runtime } from "../web/pycore.js";
import * as ort from "./ort/ort.all.bundle.min.mjs";

const params = new URLSearchParams(location.search);
const models = (params.get("models") || "mnist").split(",");
const runs = Number(params.get("runs") || 10);
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

async function pycore(name, x, backend) {
  const model = await runtime().load(new URL(`../models/${name}/`, import.meta.url), { backend });
  if (model.backend !== backend) return { unavailable: model.note };
  const r = await time(`pycore ${backend} ${name}`, async () => (await model.predict(x)).latencyMs);
  await model.unload();
  return r;
}

async function onnxruntime(name, x, shape, ep) {
  try {
    const session = await ort.InferenceSession.create(new URL(`models/${name}.onnx`, import.meta.url).href, {
      executionProviders: [ep],
    });
    const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", x, shape) };
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

for (const name of models) {
  const info = await (await fetch(new URL(`../models/${name}/model.json`, import.meta.url))).json();
  const shape = info.inputs[0].shape;
  const x = input(shape.reduce((a, b) => a * b, 1));
  results.push({
    model: name,
    runs,
    "pycore cpu": await pycore(name, x, "cpu"),
    "pycore webgpu": await pycore(name, x, "webgpu"),
    "ort wasm-1thread": await onnxruntime(name, x, shape, "wasm"),
    "ort webgpu": await onnxruntime(name, x, shape, "webgpu"),
  });
  out.textContent = JSON.stringify(results, null, 2);
}
now.textContent = "";
document.getElementById("status").textContent = "done";
