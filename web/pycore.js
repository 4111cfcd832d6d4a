// pycore's page-side API: one shared Web Worker per page, promise-based calls, progress events.
//
//   import { runtime } from "./web/pycore.js";
//   const rt = runtime();
//   rt.addEventListener("progress", (e) => console.log(e.detail));
//   const model = await rt.load("models/mnist/", { backend: "auto" });
//   const { probabilities, latencyMs, backend } = await model.predict(float32Array);
//   const trained = await model.train({ kind: "digits", inputs, labels, data }, (p) => console.log(p));
//
// All URLs the worker uses resolve from this module's own URL, never from the page's.

let shared = null;
let nextId = 0;

class Runtime extends EventTarget {
  constructor() {
    super();
    this.pending = new Map();
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = ({ data }) => {
      if (data.type) {
        // progress while booting and training; a playground run's "stdout", "stderr" and "plot"
        this.dispatchEvent(new CustomEvent(data.type, { detail: data }));
        return;
      }
      const { resolve, reject } = this.pending.get(data.id);
      this.pending.delete(data.id);
      if ("error" in data) reject(new Error(data.error));
      else resolve(data.result);
    };
    this.worker.onerror = (event) => {
      // a dead worker answers nothing: fail what waits and everything asked later
      this.failure = new Error(`the pycore worker failed: ${event.message || "unknown error"}`);
      for (const { reject } of this.pending.values()) reject(this.failure);
      this.pending.clear();
    };
  }

  call(type, payload = {}, transfer = []) {
    if (this.failure) return Promise.reject(this.failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, type, ...payload }, transfer);
    });
  }

  /** Starts Pyodide and pycore without loading a model (progress events report the bytes). */
  boot() {
    return this.call("boot");
  }

  /** Runs Python code (the playground's) with pycore importable; resolves to {error}: null, or the
   *  traceback's last frames. Meanwhile "stdout"/"stderr" events carry its output ({text}) and
   *  "plot" events its plots ({text}: JSON {label, values}). `interrupt`, an Int32Array on a
   *  SharedArrayBuffer (cross-origin isolated pages only), stops it when the page stores 2 in it. */
  exec(code, { interrupt = null } = {}) {
    return this.call("exec", { code, interrupt });
  }

  /** Ends the worker now, whatever it is doing (a run that does not stop): what waits fails, and
   *  the next runtime() starts a fresh worker. */
  terminate() {
    this.worker.terminate();
    this.failure = new Error("the pycore worker was stopped");
    for (const { reject } of this.pending.values()) reject(this.failure);
    this.pending.clear();
    if (shared === this) shared = null;
  }

  /** Loads a converted model folder (model.json + weights.safetensors) by URL. */
  async load(url, { backend = "auto" } = {}) {
    const modelId = nextId++;
    const info = await this.call("load", { modelId, url: new URL(url, document.baseURI).href, backend });
    return new Model(this, modelId, info);
  }
}

class Model {
  constructor(rt, id, info) {
    this.rt = rt;
    this.id = id;
    Object.assign(this, info); // backend, note, labels, input, fingerprint (the shipped weights'
    // sha256) and kind ("original", or "personal" once taught)
  }

  /** Runs one input; resolves to {probabilities, latencyMs, backend, note}. */
  async predict(data) {
    const copy = Float32Array.from(data);
    const result = await this.rt.call("predict", { modelId: this.id, data: copy }, [copy.buffer]);
    this.backend = result.backend;
    return result;
  }

  /** The features one input (as predict takes) gives the model's classifier, for teaching it
   *  classes; resolves to {features: Float32Array, ms, backend, note}. */
  async features(data) {
    const copy = Float32Array.from(data);
    const result = await this.rt.call("features", { modelId: this.id, data: copy }, [copy.buffer]);
    this.backend = result.backend;
    return result;
  }

  /** Runs named inputs ({name: a typed array of the input's type, Float32Array, BigInt64Array,
   *  Uint8Array for bool, ...; or an array of numbers}) and resolves to every graph output by name:
   *  {outputs: {name: {shape, dtype, data: a typed array}}, latencyMs, backend}. No fallback to the CPU. */
  async run(inputs) {
    const copy = (v) => (ArrayBuffer.isView(v) ? v.slice() : Float32Array.from(v));
    const copies = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, copy(v)]));
    return this.rt.call("run", { modelId: this.id, inputs: copies }, Object.values(copies).map((c) => c.buffer));
  }

  /** Switches the execution path (auto | cpu | webgpu); resolves to the model's info. */
  async setBackend(backend) {
    const info = await this.rt.call("setBackend", { modelId: this.id, backend });
    Object.assign(this, info);
    return info;
  }

  unload() {
    return this.rt.call("unload", { modelId: this.id });
  }

  /**
   * Teaches the model (pycore/teach/<kind>.py): trains a copy on the examples in the worker, on
   * the path in use, and swaps it in. inputs: the examples' model inputs end to end, a
   * Float32Array; labels: one string each; data: the URL of a file that kind needs, if any;
   * steps: fewer steps (tests). onProgress gets {step, steps, loss} after each step. Resolves to
   * {json, weights (Uint8Array), loss, ms, backend (where it trained), examples, note}.
   */
  async train({ kind, inputs, labels, data = "", steps = 0 }, onProgress = () => {}) {
    const listen = ({ detail }) => detail.modelId === this.id && onProgress(detail);
    this.rt.addEventListener("training", listen);
    try {
      const copy = Float32Array.from(inputs);
      const payload = { modelId: this.id, kind, inputs: copy, labels: [...labels], data, steps };
      const { info, ...trained } = await this.rt.call("train", payload, [copy.buffer]);
      Object.assign(this, info);
      return trained;
    } finally {
      this.rt.removeEventListener("training", listen);
    }
  }

  /** Puts a personal model in use: what train gave (json, weights) for that kind of teaching. */
  async usePersonal(kind, json, weights) {
    Object.assign(this, await this.rt.call("usePersonal", { modelId: this.id, kind, json, weights }));
  }

  /** {"model.json": text, "weights.safetensors": Uint8Array} of the model in use (pycore.load reads them). */
  files() {
    return this.rt.call("files", { modelId: this.id });
  }

  /** Goes back to the model as shipped. */
  async reset() {
    Object.assign(this, await this.rt.call("reset", { modelId: this.id }));
  }

  /** Test hooks: destroy the GPU device as a driver reset would; read GPU buffer statistics. */
  loseDevice() {
    return this.rt.call("loseDevice", { modelId: this.id });
  }

  stats() {
    return this.rt.call("stats", { modelId: this.id });
  }
}

/** The page's shared runtime: every caller (demo, widgets) gets the same worker and Pyodide. */
export function runtime() {
  shared ??= new Runtime();
  return shared;
}

/** Formats a progress event's detail for people: "downloading numpy: 1.2 / 3.0 MB". */
export function describeProgress({ stage, label, loaded, total }) {
  if (stage !== "download") return `${label}…`;
  const mb = (n) => (n / 1e6).toFixed(1);
  return total ? `downloading ${label}: ${mb(loaded)} / ${mb(total)} MB` : `downloading ${label}: ${mb(loaded)} MB`;
}
