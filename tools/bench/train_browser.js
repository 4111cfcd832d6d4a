// Times one training step (forward, cross-entropy, backward, Adam lr 1e-3, loss read back) of the same
// small MNIST CNN in pycore (Pyodide: CPU and WebGPU paths) and TensorFlow.js 4.22.0 (wasm, 1 thread;
// webgpu). Run by tools/bench/train_browser.py, which copies this page, TF.js and
// tools/reference_models.py (the model, written once for pycore) into dist/bench/train/.
// Results go to #results as JSON. Query: ?steps=10&batch=64&warmup=3
/* global tf */

const params = new URLSearchParams(location.search);
const steps = Number(params.get("steps") || 10);
const batch = Number(params.get("batch") || 64);
const warmup = Number(params.get("warmup") || 3);
const now = document.getElementById("now");
const results = { steps, batch, warmup, rows: [] };

// A fixed pseudo-random batch, the same for every runtime: pixels in [0, 1), labels 0..9.
const xs = new Float32Array(batch * 28 * 28);
const ys = new Int32Array(batch);
let seed = 1;
const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (let i = 0; i < xs.length; i++) xs[i] = next();
for (let i = 0; i < batch; i++) ys[i] = Math.floor(next() * 10);

const firstLine = (e) => {
  const text = String(e?.message || e).trim().split("\n");
  return text[text.length - 1]; // a Python traceback ends with its exception line
};

// Runs `step` (async, resolves to the loss once the work is done) warmup + steps times.
async function timed(label, step) {
  const times = [], losses = [];
  for (let i = 0; i < warmup + steps; i++) {
    now.textContent = `${label}: step ${i + 1}/${warmup + steps}`;
    const t = performance.now();
    losses.push(await step());
    if (i >= warmup) times.push(performance.now() - t);
  }
  return { times, losses };
}

// ---- pycore in Pyodide ------------------------------------------------------------------------

const PYCORE = `
import numpy as np
import pycore
from pycore import nn
from pycore.nn import functional as F

def make_step(device, source, xs, ys, batch):
    scope = {}
    exec(source, scope)  # tools/reference_models.py
    pycore.manual_seed(0)
    model = scope["bench_cnn"](nn).to(device)
    opt = pycore.optim.Adam(model.parameters(), lr=1e-3)
    x = pycore.tensor(np.asarray(xs.to_py(), np.float32).reshape(batch, 1, 28, 28)).to(device)
    y = pycore.tensor(np.asarray(ys.to_py(), np.int64)).to(device)

    async def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        # on webgpu ops are queued: this readback runs what the loss needs, i.e. this forward and
        # the previous step's backward and Adam update (one step's work, once warmed up)
        return float(await loss.numpy_async())

    return step
`;

let pyodide;
async function pycoreRow(device) {
  const label = `pycore ${device} (Pyodide)`;
  try {
    if (!pyodide) {
      now.textContent = "loading Pyodide and the pycore wheel";
      const { loadPyodide } = await import("../../pyodide/pyodide.mjs");
      pyodide = await loadPyodide({ indexURL: "../../pyodide/" });
      const wheels = await (await fetch("wheel.json")).json();
      await pyodide.loadPackage("micropip"); // installs the wheel as any Pyodide app does
      await pyodide.pyimport("micropip").install(new URL(`../../wheels/${wheels.pycore}`, location.href).href);
      await pyodide.runPythonAsync(PYCORE);
    }
    let note = `Pyodide ${pyodide.version}`;
    if (device === "webgpu") note += `, ${await pyodide.runPythonAsync("import pycore\nstr(await pycore.open_webgpu())")}`;
    const source = await (await fetch("reference_models.py")).text();
    const step = pyodide.globals.get("make_step")(device, source, xs, ys, batch);
    const r = await timed(label, () => step());
    step.destroy();
    return { row: label, note, ...r };
  } catch (e) {
    return { row: label, error: firstLine(e) };
  }
}

// ---- TensorFlow.js ----------------------------------------------------------------------------

function cnn() {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: "same" }),
      tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: "same", activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

async function tfjsRow(label, backend) {
  try {
    if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend("${backend}") failed`);
    await tf.ready();
    const model = cnn();
    const optimizer = tf.train.adam(1e-3);
    const x = tf.tensor4d(xs, [batch, 28, 28, 1]); // one channel: NCHW and NHWC are the same bytes
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(ys, "int32"), 10));
    const step = async () => {
      const loss = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })),
        true,
      );
      const value = (await loss.data())[0];
      loss.dispose();
      return value;
    };
    try {
      return { row: label, note: await tfjsNote(backend), ...(await timed(label, step)) };
    } finally {
      [x, y, model, optimizer].forEach((t) => t.dispose());
    }
  } catch (e) {
    return { row: label, error: firstLine(e) };
  }
}

async function tfjsNote(backend) {
  if (backend !== "wasm") return `tfjs ${tf.version.tfjs}`;
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return `tfjs ${tf.version.tfjs}, SIMD ${simd ? "on" : "off"}, ${tf.wasm.getThreadsCount()} thread(s)`;
}

// tfjs-backend-wasm 4.22.0 has no Conv2DBackpropFilter kernel, so a stock conv net cannot train on
// it. For a CPU peer anyway, this registers one made of wasm kernels it has (stride 1, dilation 1,
// NHWC, "same"/"valid"): dW[kh,kw,ci,co] = conv2d(x as [ci,H,W,B], dy as [H,W,B,co]) transposed.
// It agrees with tfjs-backend-cpu's kernel to ~1e-5 relative on this model's shapes.
function addWasmFilterGrad() {
  const run = (name, inputs, backend, attrs) => tf.getKernel(name, "wasm").kernelFunc({ inputs, backend, attrs });
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs: { x, dy }, backend, attrs }) => {
      const { strides, pad, dilations, dimRoundingMode, filterShape } = attrs;
      const { padInfo, strideHeight, strideWidth, dilationHeight, dilationWidth } =
        tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations ?? 1, pad, dimRoundingMode);
      const simple = strideHeight * strideWidth * dilationHeight * dilationWidth === 1;
      if (attrs.dataFormat === "NCHW" || !simple || !["same", "valid"].includes(pad)) {
        throw new Error("this Conv2DBackpropFilter handles NHWC, stride 1, dilation 1, same/valid only");
      }
      const xt = run("Transpose", { x }, backend, { perm: [3, 1, 2, 0] });
      const dyt = run("Transpose", { x: dy }, backend, { perm: [1, 2, 0, 3] });
      const explicit = [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]];
      const w = run("Conv2D", { x: xt, filter: dyt }, backend, {
        strides: 1, pad: explicit, dilations: 1, dataFormat: "NHWC",
      });
      const out = run("Transpose", { x: w }, backend, { perm: [1, 2, 0, 3] });
      [xt, dyt, w].forEach((t) => backend.disposeData(t.dataId));
      return out;
    },
  });
}

// ---- the run ----------------------------------------------------------------------------------

tf.wasm.setWasmPaths(new URL("tfjs/", location.href).href);
tf.wasm.setThreadsCount(1);
tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);

const out = document.getElementById("results");
const rows = [
  () => pycoreRow("cpu"),
  () => pycoreRow("webgpu"),
  () => tfjsRow("tfjs wasm", "wasm"),
  () => (addWasmFilterGrad(), tfjsRow("tfjs wasm + filter-grad shim", "wasm")),
  () => tfjsRow("tfjs webgpu", "webgpu"),
];
for (const row of rows) {
  results.rows.push(await row());
  out.textContent = JSON.stringify(results, null, 2);
}
now.textContent = "";
document.getElementById("status").textContent = "done";
