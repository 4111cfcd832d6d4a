// The pycore Web Worker: boots Pyodide, installs the pycore wheel from this origin with micropip
// (as any Pyodide app would; numpy, its one requirement, comes from Pyodide's lock), then
// answers {id, type, ...} requests from web/pycore.js. Every URL resolves from this file's own URL,
// so the site works from any folder. Inference never runs on the page's thread.
import { loadPyodide } from "../pyodide/pyodide.mjs";
import { installDownloads } from "./downloads.js";

const here = new URL(".", import.meta.url);
const root = new URL("../", import.meta.url);
let booted = null;

const progress = (stage, label, loaded = 0, total = 0) =>
  postMessage({ type: "progress", stage, label, loaded, total });

// Reads a whole response; a failed request names the file.
async function fetchBytes(url, label) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not download ${label} (${url.pathname}): ${e.message}`);
  }
  if (!response.ok) throw new Error(`could not download ${label} (${url.pathname}): HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// The manifest read and the fetch wrapper (web/downloads.js) installed: the first thing a request
// waits for, so every download after it, the model's included, shows in the progress and is kept
// in the Cache API. Resolves to the manifest.
let wrapped = null;
let next = "starting Python"; // what runs once the downloads in flight are done

async function wrapDownloads() {
  const listing = await fetchBytes(new URL("manifest.json", here), "the site manifest");
  const manifest = JSON.parse(new TextDecoder().decode(listing));
  installDownloads(manifest, root, (label, loaded, total) =>
    loaded < total ? progress("download", label, loaded, total) : progress("boot", next),
  );
  return manifest;
}

async function boot() {
  const manifest = await wrapped;
  const pyodide = await loadPyodide({ indexURL: new URL(manifest.pyodide, root).href });
  next = "installing pycore";
  progress("boot", "loading micropip and numpy");
  // both at once, so their downloads overlap; micropip then finds numpy installed
  await pyodide.loadPackage(["micropip", "numpy"], { messageCallback: () => {}, errorCallback: (m) => console.warn(m) });
  const wheel = new URL(manifest.wheel, root);
  const micropip = pyodide.pyimport("micropip");
  try {
    await micropip.install(wheel.href);
  } catch (e) {
    // micropip reads a missing file's 404 page as a zip: name the wheel
    throw new Error(`could not install pycore from ${wheel.pathname}: ${describe(e)}`);
  } finally {
    micropip.destroy();
  }
  progress("boot", "importing pycore");
  return { pyodide, api: pyodide.pyimport("pycore.worker") };
}

const toJs = (proxy) => {
  const value = proxy.toJs({ dict_converter: Object.fromEntries });
  proxy.destroy();
  return value;
};

// A Python exception's last line is the message meant for people; the traceback stays in the console.
function describe(error) {
  if (error && error.type) {
    console.debug(error.message);
    const lines = String(error.message).trim().split("\n");
    return lines[lines.length - 1].replace(/^[\w.]+: /, "");
  }
  return error && error.message ? error.message : String(error);
}

// A model's two files, fetched while Python may still be booting.
async function fetchModel(url) {
  await wrapped;
  const folder = url.pathname.replace(/\/$/, "").split("/").pop();
  const [json, weights] = await Promise.all([
    fetchBytes(new URL("model.json", url), `${folder}/model.json`),
    fetchBytes(new URL("weights.safetensors", url), `${folder}/weights.safetensors`),
  ]);
  return { folder, json: new TextDecoder().decode(json), weights };
}

// A playground run: what the code prints and plots is posted as it happens (a worker's messages
// reach the page while Python keeps this thread busy); the page may stop it through `interrupt`.
async function runCode(pyodide, { code, interrupt }) {
  if (interrupt) pyodide.setInterruptBuffer(interrupt);
  const send = (type, text) => postMessage({ type, text });
  const playground = pyodide.pyimport("pycore.playground");
  try {
    return { error: (await playground.run(code, send, root.href)) ?? null };
  } finally {
    playground.destroy();
  }
}

async function handle(msg) {
  wrapped ??= wrapDownloads();
  booted ??= boot();
  const files = msg.type === "load" ? fetchModel(new URL(msg.url)) : null;
  files?.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
  const { api, pyodide } = await booted;
  switch (msg.type) {
    case "boot":
      return { ok: true };
    case "load": {
      const { folder, json, weights } = await files;
      progress("model", `preparing ${folder}`);
      return toJs(await api.load(msg.modelId, json, weights, folder, msg.backend || "auto"));
    }
    case "predict":
      return toJs(await api.predict(msg.modelId, msg.data));
    case "run":
      return toJs(await api.run(msg.modelId, Object.keys(msg.inputs), Object.values(msg.inputs)));
    case "setBackend":
      return toJs(await api.set_backend(msg.modelId, msg.backend));
    case "unload":
      return await api.unload(msg.modelId);
    case "train": {
      const url = msg.data && new URL(msg.data); // fetched only once the examples passed their checks
      const data = url ? () => fetchBytes(url, url.pathname.split("/").slice(-2).join("/")) : null;
      const progress = (step, steps, loss) => postMessage({ type: "training", modelId: msg.modelId, step, steps, loss });
      return toJs(await api.train(msg.modelId, msg.kind, msg.inputs, msg.labels, data, progress, msg.steps));
    }
    case "features":
      return toJs(await api.features(msg.modelId, msg.data));
    case "usePersonal":
      return toJs(await api.use_personal(msg.modelId, msg.kind, msg.json, msg.weights));
    case "files":
      return toJs(await api.files(msg.modelId));
    case "reset":
      return toJs(await api.reset(msg.modelId));
    case "loseDevice":
      return api.lose_device(msg.modelId);
    case "exec":
      return await runCode(pyodide, msg);
    case "stats":
      return { ...toJs(api.stats(msg.modelId)), wasmHeapBytes: pyodide._module.HEAPU8.byteLength };
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

onmessage = async ({ data: msg }) => {
  try {
    postMessage({ id: msg.id, result: await handle(msg) });
  } catch (error) {
    postMessage({ id: msg.id, error: describe(error) });
  }
};
