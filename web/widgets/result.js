// The result half of every widget, and so of the demo pages built on them: status and backend,
// load progress, the note when the path asked for could not be had, messages, and the prediction
// with its bars and latency. While an input newer than the shown result runs, that result is
// marked stale (aria-busy; widget.css dims it and says "classifying…"), never passed off as the
// answer for the new input. The data-testid hooks are the test contract in DESIGN.md.
import { describeProgress } from "../pycore.js";

export const resultHTML = (placeholder) => `
<section class="result empty" aria-busy="false">
  <div class="status-line">
    <span>Status <strong data-testid="status">loading</strong></span>
    <span>Backend <strong data-testid="backend">–</strong></span>
  </div>
  <div class="progress" role="status">
    <progress></progress>
    <span data-testid="progress">starting…</span>
  </div>
  <p class="note" data-testid="backend-note" hidden></p>
  <p class="message" data-testid="message" role="alert" hidden></p>
  <p class="placeholder">${placeholder}</p>
  <div class="answer" aria-live="polite">
    <p class="prediction">
      <span class="caption"><span class="idle">Prediction</span><span class="working">classifying…</span></span>
      <strong data-testid="prediction"></strong>
    </p>
    <p class="caveat" data-testid="caveat" hidden></p>
    <ol class="bars" data-testid="probabilities" aria-label="Most likely labels"></ol>
    <p class="latency" title="The model run alone: tensor in, probabilities out">Latency
      <strong><span data-testid="latency-ms"></span> ms</strong></p>
  </div>
</section>`;

/** Milliseconds as the widgets show them, everywhere: one decimal. */
export const formatMs = (ms) => ms.toFixed(1);

export class ResultView {
  #section;
  #part;

  constructor(root) {
    this.#section = root.querySelector(".result");
    this.#part = (id) => root.querySelector(`[data-testid="${id}"]`);
  }

  status(text) {
    const status = this.#part("status");
    status.textContent = text;
    status.classList.toggle("error", text.startsWith("error"));
  }

  /** The path in use, and why it is not the one asked for (shown, or for `auto` only kept in the
   *  hook and the tooltip: falling back is what auto is for, and not news to every visitor). */
  backend(name, note = "", { quiet = false } = {}) {
    this.#part("backend").textContent = name;
    this.#part("backend").title = note;
    this.note(note);
    if (quiet) this.#part("backend-note").hidden = true;
  }

  note(text) {
    this.#show(this.#part("backend-note"), text);
  }

  message(text) {
    this.#show(this.#part("message"), text);
  }

  /** Load progress: a progress event's detail, or null once the load is over. */
  progress(detail) {
    const box = this.#section.querySelector(".progress");
    box.hidden = !detail;
    if (!detail) return;
    const bar = box.querySelector("progress");
    this.#part("progress").textContent = describeProgress(detail);
    if (detail.total) {
      bar.max = detail.total;
      bar.value = detail.loaded;
    } else {
      bar.removeAttribute("value");
    }
  }

  /** True while inputs wait or run: whatever result is shown is then stale. */
  busy(on) {
    this.#section.setAttribute("aria-busy", String(on));
  }

  /** Shows a result: the top-k [{label, probability}], best first, in `order` for the bars. */
  show(topK, order, latencyMs, backend) {
    this.#part("prediction").textContent = topK[0].label;
    // a widget's short copy of the answer beside its input, in view on a phone while drawing
    const reading = this.#part("reading");
    if (reading) reading.textContent = `reads ${topK[0].label} · ${(topK[0].probability * 100).toFixed(0)}%`;
    this.#part("probabilities").replaceChildren(...order.map(barItem));
    this.#part("latency-ms").textContent = formatMs(latencyMs);
    this.#part("backend").textContent = backend;
    this.#section.classList.remove("empty");
  }

  /** Why the answer shown deserves little trust (unsure, or an input unlike what the model knows),
   *  or "" for none; shown above the bars, which stay. */
  caveat(text) {
    this.#show(this.#part("caveat"), text);
  }

  clear() {
    this.caveat("");
    const reading = this.#part("reading");
    if (reading) reading.textContent = "";
    this.#part("prediction").textContent = "";
    this.#part("probabilities").replaceChildren();
    this.#part("latency-ms").textContent = "";
    this.#section.classList.add("empty");
  }

  #show(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }
}

// One probability bar, with the hooks data-label and data-prob.
function barItem({ label, probability }) {
  const item = document.createElement("li");
  item.dataset.label = label;
  item.dataset.prob = probability.toFixed(6);
  const name = document.createElement("span");
  name.className = "label";
  name.textContent = label;
  name.title = label;
  const track = document.createElement("span");
  track.className = "track";
  const bar = document.createElement("span");
  bar.className = "bar";
  // CSSOM, not a style attribute in markup: allowed under style-src 'self'
  bar.style.width = `${(probability * 100).toFixed(1)}%`;
  track.append(bar);
  const pct = document.createElement("span");
  pct.className = "pct";
  pct.textContent = `${(probability * 100).toFixed(1)}%`;
  item.append(name, track, pct);
  return item;
}
