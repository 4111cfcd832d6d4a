// The classify demo: a photo from the picker, a drop, a paste or a sample; web/image.js turns it
// into the model's input in the page, the worker runs EfficientNet-Lite0 on it.
import { runtime } from "../../web/pycore.js";
import { bindStatus, renderBars, wantedBackend, wantedFault, bindBackendSelect, showNote } from "../../web/ui.js";
import { imageToTensor, ImageInputError } from "../../web/image.js";

const TOP_K = 5;
const $ = (id) => document.getElementById(id);
const drop = $("drop"), input = $("file-input"), view = $("view"), resultEl = $("result");

let model = null;
let lastTensor = null;
let queued = null; // the newest photo waiting while one is being classified
let busy = false;
let runs = 0;

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function clearResult() {
  $("prediction").textContent = "";
  $("probabilities").replaceChildren();
  $("latency").textContent = "–";
  $("image-info").hidden = true;
  view.hidden = true;
}

// The whole photo as resized, scaled to fit the view, with the square the model sees outlined.
function showImage({ preview, crop }) {
  const fit = Math.min(320 / preview.width, 240 / preview.height);
  view.width = Math.max(1, Math.round(preview.width * fit));
  view.height = Math.max(1, Math.round(preview.height * fit));
  const ctx = view.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(preview, 0, 0, view.width, view.height);
  ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
  const [x, y, s] = [crop.x * fit, crop.y * fit, crop.size * fit];
  ctx.fillRect(0, 0, view.width, y);
  ctx.fillRect(0, y + s, view.width, view.height - y - s);
  ctx.fillRect(0, y, x, s);
  ctx.fillRect(x + s, y, view.width - x - s, s);
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 1.5;
  ctx.strokeRect(x + 0.75, y + 0.75, s - 1.5, s - 1.5);
  view.hidden = false;
  preview.close();
}

async function run(tensor) {
  const result = await model.predict(tensor);
  renderBars($("probabilities"), model.labels, result.probabilities, TOP_K);
  $("prediction").textContent = $("probabilities").firstElementChild.dataset.label;
  $("latency").textContent = result.latencyMs.toFixed(1);
  $("backend").textContent = result.backend;
  if (result.note) showNote(result.note);
}

async function classifyOne(file) {
  showMessage("");
  let image;
  try {
    image = await imageToTensor(file, model.input.preprocess);
  } catch (error) {
    if (!(error instanceof ImageInputError)) throw error;
    clearResult();
    showMessage(error.message);
    return;
  }
  showImage(image);
  $("image-name").textContent = file.name || "pasted image";
  $("image-size").textContent = `${image.width} × ${image.height}`;
  $("preprocess-ms").textContent = image.ms.toFixed(0);
  $("image-info").hidden = false;
  lastTensor = image.tensor;
  await run(image.tensor);
}

// One photo at a time; photos arriving meanwhile replace each other and the newest runs next.
async function classify(file) {
  queued = file;
  resultEl.setAttribute("aria-busy", "true");
  if (busy || !model) return;
  busy = true;
  while (queued) {
    const next = queued;
    queued = null;
    try {
      await classifyOne(next);
    } catch (error) {
      clearResult();
      showMessage(`classification failed: ${error.message}`);
    }
    resultEl.dataset.runs = ++runs;
  }
  busy = false;
  resultEl.setAttribute("aria-busy", "false");
}

async function rerun() {
  if (!lastTensor || busy) return;
  busy = true;
  resultEl.setAttribute("aria-busy", "true");
  try {
    await run(lastTensor);
  } catch (error) {
    showMessage(`classification failed: ${error.message}`);
  } finally {
    busy = false;
    resultEl.dataset.runs = ++runs;
    resultEl.setAttribute("aria-busy", "false");
  }
}

input.addEventListener("change", () => {
  if (input.files.length) classify(input.files[0]);
  input.value = ""; // choosing the same file again fires change again
});
drop.addEventListener("click", () => input.click());
drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    input.click();
  }
});
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) classify(file);
  else showMessage("Nothing to classify was dropped: drop an image file.");
});
document.addEventListener("paste", (e) => {
  const file = [...(e.clipboardData?.files || [])][0];
  if (file) {
    e.preventDefault();
    classify(file);
  }
});
for (const button of document.querySelectorAll("[data-sample]")) {
  button.addEventListener("click", async () => {
    const name = button.dataset.sample;
    const response = await fetch(new URL(`samples/${name}`, location.href));
    if (!response.ok) return showMessage(`could not load the sample ${name}: HTTP ${response.status}`);
    classify(new File([await response.blob()], name));
  });
}

const rt = runtime();
const status = bindStatus(rt);
$("backend-select").value = wantedBackend();
try {
  model = await rt.load(new URL("../../models/efficientnet-lite0/", import.meta.url), {
    backend: wantedBackend(),
    fault: wantedFault(),
  });
  bindBackendSelect(model, rerun);
  $("backend-select").disabled = false;
  status.ready(model);
  if (queued) classify(queued); // a photo chosen while the model was loading
} catch (error) {
  status.fail(error);
}
