// The MNIST demo: draw with pointer events, preprocess as MNIST was made, predict in the worker.
import { runtime } from "../../web/pycore.js";
import { bindStatus, renderBars, wantedBackend, wantedFault, bindBackendSelect, showNote } from "../../web/ui.js";
import { toMnist } from "../../web/digits.js";
import { DrawingPad } from "../../web/pad.js";

const pad = new DrawingPad(document.getElementById("pad"), { onDraw: predict, onStrokeEnd: predict });
const preview = document.getElementById("preview").getContext("2d");
const predictionEl = document.getElementById("prediction");
const barsEl = document.getElementById("probabilities");
const latencyEl = document.getElementById("latency");
const backendEl = document.getElementById("backend");
const resultEl = document.getElementById("result");

let model = null;
let busy = false;
let again = false;

const hintEl = document.getElementById("hint");

function clearPad() {
  pad.clear();
  hintEl.hidden = false;
  preview.clearRect(0, 0, 28, 28);
  predictionEl.textContent = "";
  barsEl.replaceChildren();
}

function showPreview(image) {
  const pixels = preview.createImageData(28, 28);
  image.forEach((v, i) => {
    const g = Math.round(v * 255);
    pixels.data.set([g, g, g, 255], i * 4);
  });
  preview.putImageData(pixels, 0, 0);
}

// One prediction in flight at a time; a request arriving meanwhile runs once the current one ends.
async function predict() {
  if (!model) return;
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  resultEl.setAttribute("aria-busy", "true");
  try {
    const image = toMnist(pad.imageData());
    if (!image) {
      clearPad();
      return;
    }
    showPreview(image);
    hintEl.hidden = true;
    const result = await model.predict(image);
    renderBars(barsEl, model.labels, result.probabilities, 10);
    const best = result.probabilities.indexOf(Math.max(...result.probabilities));
    predictionEl.textContent = model.labels[best];
    latencyEl.textContent = result.latencyMs.toFixed(2);
    backendEl.textContent = result.backend;
  } catch (error) {
    showNote(`prediction failed: ${error.message}`);
  } finally {
    busy = false;
    if (again) {
      again = false;
      predict();
    } else {
      resultEl.setAttribute("aria-busy", "false");
    }
  }
}

document.getElementById("clear").addEventListener("click", clearPad);
clearPad();

const rt = runtime();
const status = bindStatus(rt);
try {
  model = await rt.load(new URL("../../models/mnist/", import.meta.url), { backend: wantedBackend(), fault: wantedFault() });
  bindBackendSelect(model, predict);
  globalThis.pycore = { runtime: rt, model }; // a handle for the browser console (and the tests)
  status.ready(model);
} catch (error) {
  status.fail(error);
}
