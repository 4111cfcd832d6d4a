// The pycore Web Worker: boots Pyodide, installs numpy and the pycore wheel from this origin, then
// answers {id, type, ...} requests from web/pycore.js. Every URL resolves from this file's own URL,
// so the site works from any folder. Inference never runs on the page's thread.
import { loadPyodide } from "../pyodide/pyodide.mjs";

const here = new URL(".", import.meta.url);
const root = new URL("../", import.meta.url);
let booted = null;

const progress = (stage, label, loaded = 0, total = 0) =>
  postMessage({ type: "progress", stage, label, loaded, total });

// Reads a response body while reporting bytes; a failed request names the file.
async function fetchBytes(url, label) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not download ${label} (${url.pathname}): ${e.message}`);
  }
  if (!response.ok) throw new Error(`could not download ${label} (${url.pathname}): HTTP ${response.status}`);
  const total = Number(response.headers.get("content-length")) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    progress("download", label, loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

async function boot() {
  const manifest = await (await fetch(new URL("manifest.json", here))).json();
  // Fetch the large runtime files first with byte progress; Pyodide's own requests then revalidate
  // against the HTTP cache instead of downloading again.
  for (const item of manifest.prefetch) {
    await fetchBytes(new URL(item.url, root), item.label);
  }
  progress("boot", "starting Python");
  const pyodide = await loadPyodide({ indexURL: new URL(manifest.pyodide, root).href });
  progress("boot", "loading numpy");
  await pyodide.loadPackage("numpy", { messageCallback: () => {}, errorCallback: (m) => console.warn(m) });
  const wheel = await fetchBytes(new URL(manifest.wheel, root), "pycore");
  pyodide.unpackArchive(wheel, "wheel");
  progress("boot", "importing pycore");
  return { pyodide, api: pyodide.pyimport("pycore.browser") };
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

async function handle(msg) {
  booted ??= boot();
  const { api } = await booted;
  switch (msg.type) {
    case "boot":
      return { ok: true };
    case "load": {
      const url = new URL(msg.url);
      const folder = url.pathname.replace(/\/$/, "").split("/").pop();
      progress("model", `model ${folder}`);
      const json = new TextDecoder().decode(await fetchBytes(new URL("model.json", url), `${folder}/model.json`));
      const weights = await fetchBytes(new URL("weights.safetensors", url), `${folder}/weights.safetensors`);
      progress("model", `preparing ${folder}`);
      return toJs(await api.load(msg.modelId, json, weights, folder, msg.backend || "auto", msg.fault || ""));
    }
    case "predict":
      return toJs(await api.predict(msg.modelId, msg.data));
    case "setBackend":
      return toJs(await api.set_backend(msg.modelId, msg.backend, msg.fault || ""));
    case "unload":
      return api.unload(msg.modelId);
    case "loseDevice":
      return api.lose_device(msg.modelId);
    case "stats":
      return toJs(api.stats(msg.modelId));
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
