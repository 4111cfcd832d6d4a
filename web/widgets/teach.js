// Teaching a widget's model, for every teachable widget: the visitor's examples, reviewed as
// thumbnails and removable; training in the worker (pycore/teach/) with a progress bar and a live
// loss curve, while the widget keeps predicting with the model in use; the personal model then in
// use, kept in this browser with the examples (web/taught.js), downloadable as the two files
// pycore.load reads; going back to the original. A widget supplies what is its own: the controls
// that add an example (they call `add`), an example's thumbnail, its kind of teaching and the
// file that kind needs, and optionally what must hold before training and what follows a change
// of the examples.
//
// Hooks (DESIGN.md): examples (how many), train, training ("training", then "trained" or what went
// wrong), model-kind ("original" or "personal"), reset-model, download-model, teach-note.
import { describeProgress, runtime } from "../pycore.js";
import { Taught } from "../taught.js";

/** The teaching panel, under a title ("Teach it your handwriting"). */
export const teachHTML = (title) => `
<section class="teach" aria-label="${title}">
  <p class="teach-title"><strong>${title}</strong> <span class="hint" data-testid="teach-hint"></span></p>
  <p class="examples-line"><strong data-testid="examples">0</strong> examples</p>
  <ol class="examples" data-testid="example-list" aria-label="Your examples"></ol>
  <div class="teach-actions">
    <button type="button" data-testid="train" disabled>Train on my examples</button>
    <button type="button" data-testid="reset-model" disabled>Back to the original</button>
    <button type="button" data-testid="download-model" disabled>Download my model</button>
  </div>
  <div class="training" hidden>
    <progress data-testid="training-progress" max="1" value="0"></progress>
    <svg class="curve" data-testid="loss-curve" viewBox="0 0 200 50" preserveAspectRatio="none"
         role="img" aria-label="The loss at each step of the training"><polyline points=""></polyline></svg>
    <span class="caption" data-testid="training-caption"></span>
  </div>
  <p class="model-line">Model <strong data-testid="model-kind">original</strong>
    <span class="training-state" data-testid="training"></span></p>
  <p class="note" data-testid="teach-note" role="status" hidden></p>
</section>`;

const CURVE = { width: 200, height: 50 };

export class Teacher {
  #widget;
  #kind;
  #data;
  #thumbnail;
  #hints;
  #check;
  #changed;
  #model = null; // the page's handle on the model it teaches, once loaded
  #store = null;
  #examples = []; // [{input: Float32Array, label}]
  #labels = []; // the labels given, in order, with or without examples
  #personal = null; // the personal model's files and facts, while it is in use
  #training = null; // the promise of the training under way
  #running = false;
  #attached = 0; // bumped by every attach, so an older one drops its result
  #losses = [];

  /**
   * widget: a PycoreWidget whose shadow root holds teachHTML; kind: the pycore.teach module
   * ("digits"); data(): the URL of the file that kind needs, or ""; thumbnail(example): an
   * element showing an example's input; hints: what to do next, {none, some} (examples);
   * check(examples): what is missing before training, in words, or ""; changed(examples): after
   * every change of the examples.
   */
  constructor(widget, { kind, data = () => "", thumbnail, hints, check = () => "", changed = () => {} }) {
    this.#check = check;
    this.#changed = changed;
    this.#widget = widget;
    this.#kind = kind;
    this.#data = data;
    this.#thumbnail = thumbnail;
    this.#hints = hints;
    const steps = () => Number(widget.getAttribute("train-steps")) || 0;
    this.#part("train").addEventListener("click", () => this.train({ steps: steps() }).catch(() => {}));
    this.#part("reset-model").addEventListener("click", () => this.reset());
    this.#part("download-model").addEventListener("click", () => this.download());
    this.#hint();
  }

  /** Ready to take examples: a model is loaded and what was taught for it before is shown. */
  get attached() {
    return this.#store !== null;
  }

  /**
   * For a model just loaded from `url`, before the widget says ready: shows the examples kept for
   * it and puts the personal model trained on them in place, unless it was made from another
   * version of the shipped model or cannot be read (then the original stays, and a note says why).
   */
  async attach(model, url) {
    const attached = ++this.#attached;
    const store = new Taught(this.#kind, url.href);
    const notes = [];
    let examples = [], labels = [], personal = null;
    try {
      [examples, labels, personal] = await Promise.all([store.examples(), store.labels(), store.personal()]);
    } catch (e) {
      notes.push(`What you taught here before could not be read (${e.message}).`);
    }
    if (personal) {
      const stale = personal.fingerprint !== model.fingerprint;
      try {
        if (stale) throw new Error("it was made from another version of this model");
        await model.usePersonal(this.#kind, personal.json, personal.weights);
      } catch (e) {
        notes.push(`Your saved model is not used (${e.message}), so the original runs.`);
        personal = null;
        store.savePersonal(null).catch(() => {}); // it cannot be used again: not worth a second note
      }
    }
    if (attached !== this.#attached) return;
    this.#model = model;
    this.#store = store;
    this.#examples = examples;
    this.#labels = [...new Set([...labels, ...this.#labels, ...examples.map((e) => e.label)])];
    this.#personal = personal;
    if (notes.length && examples.length) notes.push(kept(examples.length));
    this.#renderExamples();
    this.#showKind();
    this.#status("");
    this.#note(notes.join(" "));
  }

  /** The examples kept, [{input, label, ...}]: not to be changed. */
  get examples() {
    return this.#examples;
  }

  /** Keeps an example (a model input, its label and what else the widget keeps with it, such as a
   *  thumbnail); resolves to how many there are. */
  async add(input, label, extra = {}) {
    if (!this.attached) throw new Error("wait until the model has loaded, then teach it");
    this.#examples.push({ ...extra, input, label: String(label) });
    this.#renderExamples();
    await Promise.all([this.#saveExamples(), this.addLabel(label)]);
    return this.#examples.length;
  }

  /** The labels given so far, in order, with or without examples; kept like the examples. */
  get labels() {
    return [...this.#labels];
  }

  /** Gives a label that may have no example yet (a class named before its photos). */
  addLabel(label) {
    if (this.#labels.includes(String(label))) return Promise.resolve();
    this.#labels.push(String(label));
    return this.#saveLabels();
  }

  /** Takes a label back, with its examples. */
  removeLabel(label) {
    this.#labels = this.#labels.filter((l) => l !== label);
    return Promise.all([this.removeWhere((e) => e.label === label), this.#saveLabels()]);
  }

  remove(index) {
    return this.removeWhere((_, i) => i === index);
  }

  /** Removes every example for which drop(example, index) is true. */
  removeWhere(drop) {
    this.#examples = this.#examples.filter((e, i) => !drop(e, i));
    this.#renderExamples();
    return this.#saveExamples();
  }

  /** Says something about the teaching under the panel ("" hides it). */
  say(text) {
    this.#note(text);
  }

  /**
   * Trains the personal model on the examples (steps: fewer than the kind's own, for a quick try);
   * resolves to the `trained` event's detail, {examples, loss, ms, backend}. One at a time: a call
   * while it trains gets the training under way.
   */
  train({ steps = 0 } = {}) {
    this.#training ??= this.#train(steps).finally(() => (this.#training = null));
    return this.#training;
  }

  async #train(steps) {
    const model = this.#model;
    if (!model) throw new Error("the model is still loading");
    const examples = [...this.#examples];
    const missing = this.#check(examples);
    if (missing) {
      this.#status(missing, true);
      throw new Error(missing);
    }
    const inputs = new Float32Array(examples.reduce((n, e) => n + e.input.length, 0));
    let at = 0;
    for (const { input } of examples) {
      inputs.set(input, at);
      at += input.length;
    }
    this.#busy(true);
    this.#status("training");
    this.#note("");
    this.#losses = [];
    this.#progress({ step: 0, steps: 1 }, "starting…");
    // the file the kind needs downloads on first use: its progress shows in the caption
    const downloads = ({ detail }) => detail.stage === "download" && this.#caption(describeProgress(detail));
    runtime().addEventListener("progress", downloads);
    try {
      const labels = examples.map((e) => e.label);
      const done = await model.train({ kind: this.#kind, inputs, labels, data: this.#data(), steps }, (p) =>
        this.#progress(p),
      );
      if (model !== this.#model) return null; // another model was loaded meanwhile
      const { json, weights, loss, ms, backend } = done;
      this.#personal = { fingerprint: model.fingerprint, json, weights, loss, ms, backend, examples: done.examples };
      const notes = [done.note];
      try {
        await this.#store.savePersonal(this.#personal); // kept before it says so: a reload may follow
      } catch (e) {
        notes.push(
          `Your model could not be kept in this browser (${e.message}): it lasts until you leave this page, ` +
            "and Download my model keeps a copy.",
        );
      }
      this.#busy(false);
      this.#status("trained");
      this.#caption(`learnt ${count(done.examples)} in ${(ms / 1000).toFixed(1)} s on ${backend} · loss ${loss.toFixed(3)}`);
      this.#note(notes.filter(Boolean).join(" "));
      const detail = { examples: done.examples, loss, ms, backend };
      this.#widget.fire("trained", detail);
      this.#widget.rerun();
      return detail;
    } catch (error) {
      if (model === this.#model) {
        this.#status(error.message, true);
        this.#widget.root.querySelector(".training").hidden = true;
      }
      throw error;
    } finally {
      runtime().removeEventListener("progress", downloads);
      this.#busy(false);
    }
  }

  /** Goes back to the shipped model; the examples stay. */
  async reset() {
    if (!this.#model || this.#training) return;
    try {
      await this.#model.reset();
    } catch (e) {
      this.#note(`Could not go back to the original: ${e.message}`);
      return;
    }
    const notes = ["Back to the original model.", kept(this.#examples.length)];
    try {
      await this.#store.savePersonal(null);
    } catch (e) {
      notes.push(`(The old model could not be removed from this browser: ${e.message}.)`);
    }
    // the kind shown and the note change together, after the last await: one is never seen alone
    this.#personal = null;
    this.#showKind();
    this.#status("");
    this.#note(notes.filter(Boolean).join(" "));
    this.#widget.rerun();
  }

  /** Saves the personal model's model.json and weights.safetensors (a folder pycore.load reads). */
  async download() {
    if (!this.#personal) return;
    let files;
    try {
      files = await this.#model.files();
    } catch (e) {
      this.#note(`Your model could not be saved: ${e.message}`);
      return;
    }
    for (const [name, type] of [
      ["model.json", "application/json"],
      ["weights.safetensors", "application/octet-stream"],
    ]) {
      const data = files[name];
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([data], { type }));
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    }
  }

  #part(id) {
    return this.#widget.part(id);
  }

  #saveLabels() {
    // before the model loads there is no store yet: attach merges the labels given meanwhile
    return this.attached ? this.#keep("labels", this.#store.saveLabels(this.#labels)) : Promise.resolve();
  }

  #saveExamples() {
    return this.#keep("examples", this.#store.saveExamples(this.#examples));
  }

  async #keep(what, saving) {
    try {
      await saving;
    } catch (e) {
      this.#note(`Your ${what} could not be kept in this browser (${e.message}): they last until you leave this page.`);
    }
  }

  #renderExamples() {
    this.#part("examples").textContent = String(this.#examples.length);
    const items = this.#examples.map((example, i) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = example.label;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.dataset.testid = "remove-example";
      remove.textContent = "×";
      remove.title = `Remove this ${example.label}`;
      remove.setAttribute("aria-label", remove.title);
      remove.addEventListener("click", () => this.remove(i));
      item.append(this.#thumbnail(example), label, remove);
      return item;
    });
    this.#part("example-list").replaceChildren(...items);
    this.#hint();
    this.#changed(this.#examples);
  }

  #hint() {
    this.#part("teach-hint").textContent = this.#examples.length ? this.#hints.some : this.#hints.none;
  }

  // the model in use, and what can be done with it now
  #showKind() {
    this.#part("model-kind").textContent = this.#model?.kind || "original";
    this.#part("train").disabled = this.#running || !this.#model;
    this.#part("reset-model").disabled = this.#running || !this.#personal;
    this.#part("download-model").disabled = !this.#personal;
  }

  #status(text, error = false) {
    const hook = this.#part("training");
    hook.textContent = text;
    hook.classList.toggle("error", error);
  }

  #busy(on) {
    this.#running = on;
    this.#showKind();
  }

  #progress({ step, steps, loss }, caption = null) {
    this.#widget.root.querySelector(".training").hidden = false;
    const bar = this.#part("training-progress");
    bar.max = steps;
    bar.value = step;
    if (loss !== undefined) this.#losses.push(loss);
    const top = Math.max(...this.#losses, 1e-6);
    const x = (i) => (steps > 1 ? (i / (steps - 1)) * CURVE.width : 0);
    const points = this.#losses.map((l, i) => `${x(i).toFixed(1)},${(CURVE.height * (1 - (0.9 * l) / top)).toFixed(1)}`);
    this.#widget.root.querySelector(".curve polyline").setAttribute("points", points.join(" "));
    this.#caption(caption ?? `step ${step} of ${steps} · loss ${loss.toFixed(3)}`);
  }

  #caption(text) {
    this.#part("training-caption").textContent = text;
  }

  #note(text) {
    const note = this.#part("teach-note");
    note.textContent = text;
    note.hidden = !text;
  }
}

const count = (n) => `${n} example${n === 1 ? "" : "s"}`;
const kept = (n) => (n ? `Your ${count(n)} ${n === 1 ? "is" : "are"} kept: Train to teach it again.` : "");
