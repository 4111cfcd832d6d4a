// What every pycore widget shares: a shadow root styled by widget.css (a file next to this module,
// so a strict CSP with style-src 'self' holds), the model's life cycle (load, swap when `model`
// changes, switch path when `backend` does, unload), one model run at a time, and the events. The
// result half of the widget (status, progress, prediction, bars, latency) is result.js.
//
// A subclass supplies `static defaultModel` (a URL resolved from its own module's URL),
// `static inputHTML` (the part people interact with), `static placeholder` (what the result says
// before there is one), `static unsureBelow` (the top probability under which the result says
// "not sure"), may supply `inputCaveat()` and `modelLoaded(model, url)`, and calls
// `this.schedule(makeInput)`.
import { runtime } from "../pycore.js";
import { ResultView, resultHTML } from "./result.js";

const STYLESHEET = new URL("./widget.css", import.meta.url).href;
const DEFAULT_TOP_K = 5;

const frame = ({ inputHTML, placeholder }) => `
<link rel="stylesheet" href="${STYLESHEET}">
<div class="widget" hidden>
  <div class="input">${inputHTML}</div>
  ${resultHTML(placeholder)}
</div>`;

const templates = new Map();

// The rule for "not sure": the best guess gets less than `below` (a subclass's static unsureBelow).
const unsure = (probability, below) =>
  probability < below
    ? `Not sure: the best guess gets only ${probability < 0.01 ? "under 1" : (probability * 100).toFixed(0)}%.` +
      " The bars show what else it could be."
    : "";

export class PycoreWidget extends HTMLElement {
  static observedAttributes = ["model", "backend", "top-k"];
  static unsureBelow = 0.5;

  #connected = false; // attributes set before the first connection are read by its load
  #model = null;
  #url = null; // the loaded model's folder
  #loading = null; // the promise of the model being loaded, or null
  #generation = 0; // bumped by every (re)load, so a superseded load drops its result
  #queue = Promise.resolve();
  #busy = 0; // inputs waiting or running
  #epoch = 0; // bumped by clearResult(), so no run asked for before it shows a result
  #last = null; // the last result and labels, re-rendered when top-k changes

  constructor() {
    super();
    if (!templates.has(this.constructor)) {
      const t = document.createElement("template");
      t.innerHTML = frame(this.constructor);
      templates.set(this.constructor, t);
    }
    // open, so the page (and its tests) can reach the data-testid hooks
    this.root = this.attachShadow({ mode: "open" });
    this.root.append(templates.get(this.constructor).content.cloneNode(true));
    this.view = new ResultView(this.root);
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
    this.#connected = true;
    if (!this.#model && !this.#loading) this.#load();
  }

  disconnectedCallback() {
    this.#connected = false;
    this.#generation++;
    this.#loading = null;
    this.#unload();
  }

  attributeChangedCallback(name, old, value) {
    if (!this.#connected || old === value) return;
    if (name === "model") this.#load();
    else if (name === "backend" && this.#model) this.#switchBackend();
    else if (name === "backend" && !this.#loading) this.#load(); // after a failed load: try again
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
    this.view.status("loading");
    this.view.backend("–");
    this.view.progress({ stage: "boot", label: "starting" });
    const rt = runtime();
    const onProgress = ({ detail }) => generation === this.#generation && this.view.progress(detail);
    rt.addEventListener("progress", onProgress);
    const asked = this.backend;
    const loading = rt
      .load(url.href, { backend: asked })
      .then(async (model) => {
        if (generation === this.#generation) await this.modelLoaded(model, url);
        return model; // runs wait for this: none is answered before the model is in place
      });
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
        this.view.progress(null);
      }
    }
  }

  // Queued like a run, so no prediction is in flight while the worker swaps the model's path.
  #switchBackend() {
    const model = this.#model;
    this.view.status("switching");
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
    this.view.backend(model.backend, model.note, { quiet: this.backend === "auto" });
    this.view.status("ready");
    this.fire("ready", { model: this.#url.href, backend: model.backend, note: model.note, labels: model.labels });
    this.rerun();
  }

  async #ready() {
    if (this.#model) return this.#model;
    if (this.#loading) return this.#loading;
    throw new Error(this.part("status").textContent.replace(/^error: /, "") || "no model is loaded");
  }

  /** Called once a model has loaded, before the widget says ready (a teachable widget puts the
   *  visitor's own model in place there); subclasses fill it in. It must not throw. */
  async modelLoaded() {}

  /** Why the input just prepared is unlike what the model knows (a speck of ink, a tiny image), in
   *  words for people, or "" when nothing is odd about it; subclasses fill it in. */
  inputCaveat() {
    return "";
  }

  /** Runs the model again on what the widget shows, after a swap; subclasses fill it in. */
  rerun() {}

  /**
   * Queues one model run: `makeInput(model)` gives the input tensor (a Float32Array) when its turn
   * comes, or null for "nothing to classify" (the result clears). Resolves to the prediction's
   * detail, or null; runs never overlap, so a live drawing reads the canvas at its newest. From
   * the call until the run is over, the result shown is marked stale.
   */
  schedule(makeInput) {
    this.#busy++;
    this.view.busy(true);
    const epoch = this.#epoch;
    const task = this.#queue.then(async () => {
      let model = null;
      try {
        model = await this.#ready();
        const current = () => model === this.#model && epoch === this.#epoch;
        if (!current()) return null; // cleared since it was asked for
        const input = await makeInput(model);
        const looks = this.inputCaveat(); // read now: a drawing may change while the model runs
        if (!current()) return null; // swapped or cleared while the input was prepared
        if (!input) {
          this.#clearShown();
          return null;
        }
        const result = await model.predict(input);
        if (!current()) return null; // swapped or cleared while it ran
        this.view.message("");
        if (result.note) this.view.note(result.note);
        this.#last = [result, model.labels];
        const detail = this.#render(result, model.labels, true);
        this.view.caveat(looks || unsure(detail.probability, this.constructor.unsureBelow));
        return detail;
      } catch (error) {
        if (model && model !== this.#model) return null; // its model was swapped out: nothing to say
        this.#clearShown();
        this.view.message(error.message);
        this.fire("error", { message: error.message });
        throw error;
      } finally {
        if (--this.#busy === 0) this.view.busy(false);
      }
    });
    this.#queue = task.catch(() => {});
    return task;
  }

  // Bars best first; when every label is listed they keep the labels' order, so they stay put.
  #render(result, labels, announce = false) {
    const p = result.probabilities;
    const best = [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, this.topK);
    const topK = best.map((i) => ({ label: labels[i], probability: p[i] }));
    const order = best.length < p.length ? topK : labels.map((label, i) => ({ label, probability: p[i] }));
    this.view.show(topK, order, result.latencyMs, result.backend);
    const detail = { ...topK[0], topK, latencyMs: result.latencyMs, backend: result.backend };
    if (announce) this.fire("prediction", detail);
    return detail;
  }

  /** Empties the result (prediction, bars, latency); no run asked for before shows its result. */
  clearResult() {
    this.#epoch++;
    this.#clearShown();
  }

  #clearShown() {
    this.#last = null;
    this.view.clear();
  }

  #fail(message) {
    this.#clearShown();
    this.view.status(`error: ${message}`);
    this.fire("error", { message });
  }

  /** Dispatches one of the widget's events: bubbling, and crossing the shadow root. */
  fire(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}
