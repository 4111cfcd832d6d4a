// Small UI helpers shared by the demo pages: load progress and status, probability bars, the
// backend switch. Elements are found by id in the page.
import { barItem } from "./bars.js";
import { describeProgress } from "./pycore.js";

const byId = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

export const wantedBackend = () => params.get("backend") || "auto";
export const wantedFault = () => params.get("gpu-fault") || "";

export function bindStatus(rt) {
  const status = byId("status"), text = byId("progress"), bar = byId("progress-bar"), box = byId("progress-box");
  rt.addEventListener("progress", ({ detail }) => {
    text.textContent = describeProgress(detail);
    if (detail.total) {
      bar.max = detail.total;
      bar.value = detail.loaded;
    } else {
      bar.removeAttribute("value");
    }
  });
  return {
    ready(model) {
      box.hidden = true;
      status.textContent = "ready";
      showBackend(model);
    },
    fail(error) {
      box.hidden = true;
      status.textContent = `error: ${error.message}`;
      status.classList.add("error");
    },
  };
}

export function showBackend(model) {
  byId("backend").textContent = model.backend;
  showNote(model.note);
}

export function showNote(text) {
  const note = byId("note");
  note.textContent = text || "";
  note.hidden = !text;
}

// The switch starts at the wanted path; changing it swaps the model's path in place and re-runs.
export function bindBackendSelect(model, rerun) {
  const select = byId("backend-select");
  select.value = wantedBackend();
  select.addEventListener("change", async () => {
    const url = new URL(location.href);
    url.searchParams.set("backend", select.value);
    history.replaceState(null, "", url);
    const status = byId("status");
    status.textContent = "switching";
    select.disabled = true;
    try {
      await model.setBackend(select.value, { fault: wantedFault() });
      showBackend(model);
      status.textContent = "ready";
      rerun();
    } catch (error) {
      status.textContent = `error: ${error.message}`;
      status.classList.add("error");
    } finally {
      select.disabled = false;
    }
  });
}

export function renderBars(list, labels, probabilities, k) {
  const order = [...probabilities.keys()];
  if (k < probabilities.length) order.sort((a, b) => probabilities[b] - probabilities[a]).splice(k);
  list.replaceChildren(...order.map((i) => barItem({ label: labels[i], probability: probabilities[i] })));
}
