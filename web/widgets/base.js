// What every pycore widget shares: a shadow root styled by widget.css (a file next to this module,
// so a strict CSP with style-src 'self' holds), the model's life cycle (load, swap when `model`
// changes, unload), load progress, one model run at a time, the result hooks and the events.
//
// A subclass supplies `static defaultModel` (a URL resolved from its own module's URL),
// `static inputHTML` (the part people interact with) and calls `this.schedule(makeInput)`.
import { barItem } from "../bars.js";
import { runtime, describeProgress } from "../pycore.js";

const STYLESHEET = new URL("./widget.css", import.meta.url).href;
const DEFAULT_TOP_K = 5;

const frame = (input) => `
<link rel="stylesheet" href="${STYLESHEET}">
<div class="widget" hidden>
  <div class="input">${input}</div>
  <section class="result" aria-busy="false">
    <div class="status-line">
      <span>Status <strong data-testid="status">loading</strong></span>
      <span>Backend <strong data-testid="backend">–</strong></span>
      <span>Latency <strong><span data-testid="latency-ms">–</span> ms</strong></span>
    </div>
    <div class="progress" role="status">
      <progress></progress>
      <span data-testid="progress">starting…</span>
    </div>
    <p class="message" role="alert" hidden></p>
    <p class="prediction" aria-live="polite"><span class="caption">Prediction</span>
      <strong data-testid="prediction"></strong></p>
    <ol class="bars" data-testid="probabilities" aria-label="Most likely labels"></ol>
  </section>
</div>`;

const templates = new Map();

export class PycoreWidget extends HTMLElement {
  static observedAttributes = ["model", "backend", "top-k"];

  #model = null;
  #url = null; // the loaded model's folder
  #loading = null; // the promise of the model being loaded, or null
  #generation = 0; // bumped by every (re)load, so a superseded load drops its result
  #queue = Promise.resolve();
  #busy = 0;
  #last = null; // the last result and labels, re-rendered when top-k changes

  constructor() {
    super();
    if (!templates.has(this.constructor)) {
      const t = document.createElement("template");
      t.innerHTML = frame(this.constructor.inputHTML);
      templates.set(this.constructor, t);
    }
    // open, so the page (and its tests) can reach the data-testid hooks
    this.root = this.attachShadow({ mode: "open" });
    this.root.append(templates.get(this.constructor).content.cloneNode(true));
    const widget = this.root.querySelector(".widget");
    // shown once styled, so the page never sees an unstyled flash
    const show = () => (widget.hidden = false);
    this.root.querySelector("link").addEventListener("load", show);
    this.root.querySelector("link").addEventListener("error", show);
  }

  /** The element with data-testid `id` inside the shadow root. */
  part(id) {
    return this.root.querySelector(`[data-testid="${id}"]`);
  }

  /** The model folder: the `model` attribute (resolved like any URL in the page) or the default. */
  get modelURL() {
    const attr = this.getAttribute("model");
    return attr ? new URL(attr, document.baseURI) : this.constructor.defaultModel;
  }

  get backend() {
    return this.getAttribute("backend") || "auto";
  }

  get topK() {
    return Math.max(1, parseInt(this.getAttribute("top-k"), 10) || DEFAULT_TOP_K);
  }

  /** The loaded model's info ({backend, labels, input}), or null while none is ready. */
  get model() {
    return this.#model;
  }

  connectedCallback() {
    if (!this.#model && !this.#loading) this.#load();
  }

  disconnectedCallback() {
    this.#generation++;
    this.#loading = null;
    this.#unload();
  }

  attributeChangedCallback(name, old, value) {
    if (!this.isConnected || old === value) return;
    if (name === "model") this.#load();
    else if (name === "backend" && this.#model) this.#switchBackend();
    else if (name === "top-k" && this.#last) this.#render(...this.#last);
  }

  #unload() {
    const model = this.#model;
    this.#model = null;
    this.#last = null;
    model?.unload().catch(() => {}); // the worker forgets it; nothing to report if it already has
  }

  async #load() {
    const generation = ++this.#generation;
    const url = this.modelURL;
    this.#unload();
    this.clearResult();
    this.#setStatus("loading");
    this.part("backend").textContent = "–";
    const box = this.root.querySelector(".progress");
    const bar = box.querySelector("progress");
    box.hidden = false;
    const rt = runtime();
    const onProgress = ({ detail }) => {
      this.part("progress").textContent = describeProgress(detail);
      if (detail.total) {
        bar.max = detail.total;
        bar.value = detail.loaded;
      } else {
        bar.removeAttribute("value");
      }
    };
    rt.addEventListener("progress", onProgress);
    const asked = this.backend;
    const loading = rt.load(url.href, { backend: asked });
    this.#loading = loading;
    loading.catch(() => {}); // reported below; predict() callers waiting on it see it too
    try {
      const model = await loading;
      if (generation !== this.#generation) return model.unload();
      this.#model = model;
      this.#url = url;
      this.#becomeReady();
      if (this.backend !== asked) this.#switchBackend(); // the attribute changed while it loaded
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#fail(`could not load the model at ${url.href}: ${error.message}`);
    } finally {
      rt.removeEventListener("progress", onProgress);
      if (generation === this.#generation) {
        this.#loading = null;
        box.hidden = true;
      }
    }
  }

  // Queued like a run, so no prediction is in flight while the worker swaps the model's path.
  #switchBackend() {
    const model = this.#model;
    this.#setStatus("switching");
    this.#queue = this.#queue.then(async () => {
      try {
        await model.setBackend(this.backend);
        if (model === this.#model) this.#becomeReady();
      } catch (error) {
        if (model === this.#model) this.#fail(error.message);
      }
    });
  }

  // After a load or a backend switch: show it, tell the page, and run again on what is shown.
  #becomeReady() {
    const model = this.#model;
    this.#showBackend();
    this.#setStatus("ready");
    this.#fire("ready", { model: this.#url.href, backend: model.backend, note: model.note, labels: model.labels });
    this.rerun();
  }

  #showBackend() {
    this.part("backend").textContent = this.#model.backend;
    this.part("backend").title = this.#model.note || "";
  }

  async #ready() {
    if (this.#model) return this.#model;
    if (this.#loading) return this.#loading;
    throw new Error(this.part("status").textContent.replace(/^error: /, "") || "no model is loaded");
  }

  /** Runs the model again on what the widget shows, after a swap; subclasses fill it in. */
  rerun() {}

  /**
   * Queues one model run: `makeInput(model)` gives the input tensor (a Float32Array) when its turn
   * comes, or null for "nothing to classify" (the result clears). Resolves to the prediction's
   * detail, or null; runs never overlap, so a live drawing reads the canvas at its newest.
   */
  schedule(makeInput) {
    const section = this.root.querySelector(".result");
    this.#busy++;
    section.setAttribute("aria-busy", "true");
    const task = this.#queue.then(async () => {
      let model = null;
      try {
        model = await this.#ready();
        const input = await makeInput(model);
        if (model !== this.#model) return null; // swapped while the input was prepared
        if (!input) {
          this.clearResult();
          return null;
        }
        const result = await model.predict(input);
        if (model !== this.#model) return null; // swapped while it ran
        this.#say("");
        this.#last = [result, model.labels];
        return this.#render(result, model.labels, true);
      } catch (error) {
        if (model && model !== this.#model) return null; // its model was swapped out: nothing to say
        this.#say(error.message);
        this.#fire("error", { message: error.message });
        throw error;
      } finally {
        if (--this.#busy === 0) section.setAttribute("aria-busy", "false");
      }
    });
    this.#queue = task.catch(() => {});
    return task;
  }

  #render(result, labels, announce = false) {
    const p = result.probabilities;
    const order = [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, this.topK);
    const topK = order.map((i) => ({ label: labels[i], probability: p[i] }));
    this.part("prediction").textContent = topK[0].label;
    this.part("latency-ms").textContent = result.latencyMs.toFixed(2);
    this.part("backend").textContent = result.backend;
    this.part("probabilities").replaceChildren(...topK.map(barItem));
    const detail = { ...topK[0], topK, latencyMs: result.latencyMs, backend: result.backend };
    if (announce) this.#fire("prediction", detail);
    return detail;
  }

  clearResult() {
    this.part("prediction").textContent = "";
    this.part("probabilities").replaceChildren();
  }

  #say(message) {
    const p = this.root.querySelector(".message");
    p.textContent = message;
    p.hidden = !message;
  }

  #setStatus(text) {
    const status = this.part("status");
    status.textContent = text;
    status.classList.toggle("error", text.startsWith("error"));
  }

  #fail(message) {
    this.#setStatus(`error: ${message}`);
    this.#fire("error", { message });
  }

  #fire(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}
