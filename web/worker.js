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
async function fetchBytes(url, label, onBytes = (loaded, total) => progress("download", label, loaded, total)) {
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
    onBytes(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

// Downloads several files at once, reporting their summed bytes as one progress line.
function fetchAll(items, label) {
  const loaded = items.map(() => 0);
  const totals = items.map((item) => item.bytes || 0);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return Promise.all(
    items.map((item, i) =>
      fetchBytes(item.url, item.label, (n, total) => {
        loaded[i] = n;
        totals[i] = total || totals[i];
        progress("download", label, sum(loaded), sum(totals));
      }),
    ),
  );
}

async function boot() {
  const manifest = await (await fetch(new URL("manifest.json", here))).json();
  // Fetch the large files in parallel with byte progress; Pyodide's own requests then revalidate
  // against the HTTP cache instead of downloading again.
  const files = [...manifest.prefetch, { url: manifest.wheel, label: "pycore" }];
  const bytes = await fetchAll(
    files.map((f) => ({ ...f, url: new URL(f.url, root) })),
    files.map((f) => f.label).join(", "),
  );
  progress("boot", "starting Python");
  const pyodide = await loadPyodide({ indexURL: new URL(manifest.pyodide, root).href });
  progress("boot", "loading numpy");
  await pyodide.loadPackage("numpy", { messageCallback: () => {}, errorCallback: (m) => console.warn(m) });
  pyodide.unpackArchive(bytes[bytes.length - 1], "wheel");
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

// A model's two files, fetched while Python may still be booting.
async function fetchModel(url) {
  const folder = url.pathname.replace(/\/$/, "").split("/").pop();
  const [json, weights] = await Promise.all([
    fetchBytes(new URL("model.json", url), `${folder}/model.json`, () => {}),
    fetchBytes(new URL("weights.safetensors", url), `${folder}/weights.safetensors`),
  ]);
  return { folder, json: new TextDecoder().decode(json), weights };
}

async function handle(msg) {
  booted ??= boot();
  const files = msg.type === "load" ? fetchModel(new URL(msg.url)) : null;
  files?.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
  const { api } = await booted;
  switch (msg.type) {
    case "boot":
      return { ok: true };
    case "load": {
      const { folder, json, weights } = await files;
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
