// <pycore-digits>: draw a digit, see what an MNIST model reads, live while drawing. With the
// `teachable` attribute (read when it connects), the visitor teaches it their handwriting:
// ten buttons keep the drawing as an example of a digit, and the teaching panel (teach.js)
// trains, keeps and resets their own model.
import { inkBox, toMnist } from "../digits.js";
import { DrawingPad } from "../pad.js";
import { PycoreWidget } from "./base.js";
import { teachHTML, Teacher } from "./teach.js";

const SIZE = 28;
// A drawing unlike the digits MNIST holds, in explainable terms of its ink's bounding box against
// the pad: the model scales any ink up to a 20 px digit, so a speck reads as a confident "0", and
// a blot or scribble as some digit too. Each digit drawn in the tests spans over 40% of the pad
// in height and fills under 60% of its box (a "1", narrow, is left out by the second rule).
const SMALLEST = 0.2; // the box's longer side, as a share of the pad's side
const BLOT = { side: 0.2, filled: 0.6 }; // both sides at least this share, and this much of it inked

/** What is odd about a drawing (an ImageData, white ink on black), in words; "" for nothing. */
export function drawingCaveat(image) {
  const box = inkBox(image);
  if (!box) return "";
  const w = box.w / image.width, h = box.h / image.height;
  if (Math.max(w, h) < SMALLEST) {
    return "Draw bigger: the ink is a small speck on the pad, and the model reads any speck as a digit.";
  }
  if (Math.min(w, h) >= BLOT.side && box.filled > BLOT.filled) {
    return "This looks like a blot or a scribble, not a digit: the model reads every drawing as one of 0 to 9.";
  }
  return "";
}

const DIGITS = [..."0123456789"];
const teachButtons = `
<div class="teach-add" role="group" aria-label="Keep the drawing as an example of the digit it is">
  <span>This is a</span>
  ${DIGITS.map((d) => `<button type="button" data-testid="teach-${d}" aria-label="This is a ${d}" disabled>${d}</button>`).join("")}
</div>`;

export class PycoreDigits extends PycoreWidget {
  static defaultModel = new URL("../../models/mnist/", import.meta.url);
  static placeholder = "Draw a digit, 0 to 9: the model reads it as you draw.";
  static unsureBelow = 0.7; // of 10 digits: under 70% for the best, it is torn between readings
  static inputHTML = `
    <canvas class="pad" data-testid="canvas" width="280" height="280" role="img"
            aria-label="Drawing area: draw one digit, 0 to 9, with the mouse, a pen or a finger"></canvas>
    <div class="row">
      <span class="seen" hidden>
        <canvas width="${SIZE}" height="${SIZE}" role="img" aria-label="The 28 by 28 image the model sees"></canvas>
        what the model sees
      </span>
      <span class="reading" data-testid="reading" aria-hidden="true"></span>
      <button type="button" data-testid="clear">Clear</button>
    </div>`;

  #pad;
  #queued = false;
  #caveat = ""; // what is odd about the drawing just prepared
  #teacher = null;

  constructor() {
    super();
    const predictPad = () => this.#predictPad();
    this.#pad = new DrawingPad(this.part("canvas"), { onDraw: predictPad, onStrokeEnd: predictPad });
    this.part("clear").addEventListener("click", () => this.clear());
  }

  connectedCallback() {
    if (this.hasAttribute("teachable") && !this.#teacher) this.#becomeTeachable();
    super.connectedCallback();
  }

  async modelLoaded(model, url) {
    if (!this.#teacher) return;
    await this.#teacher.attach(model, url);
    for (const d of DIGITS) this.part(`teach-${d}`).disabled = false;
  }

  /**
   * Keeps an example of `label` (0 to 9) for teaching: input as predict() takes it. Resolves to
   * how many examples there are. Needs the `teachable` attribute.
   */
  async teach(input, label) {
    if (!this.#teacher) throw new Error("teach() needs a <pycore-digits teachable>");
    if (!DIGITS.includes(String(label))) throw new TypeError(`teach() takes a digit 0 to 9, not ${label}`);
    const image = toInput(input);
    if (!image) throw new Error("there is no ink to learn from: draw the digit first");
    if (image.length !== SIZE * SIZE) throw new TypeError(`teach() takes 28x28 values, not ${image.length}`);
    return this.#teacher.add(Float32Array.from(image), String(label)); // a copy: the caller may reuse theirs
  }

  /** Trains the visitor's own model on the examples ({steps}: fewer, for a quick try); resolves
   *  to the `trained` event's detail, {examples, loss, ms, backend}. */
  train(options) {
    if (!this.#teacher) return Promise.reject(new Error("train() needs a <pycore-digits teachable>"));
    return this.#teacher.train(options);
  }

  #becomeTeachable() {
    this.root.querySelector(".input").insertAdjacentHTML("beforeend", teachButtons);
    this.root.querySelector(".widget").insertAdjacentHTML("beforeend", teachHTML("Teach it your handwriting"));
    this.#teacher = new Teacher(this, {
      kind: "digits",
      data: () => new URL("replay.safetensors", this.modelURL).href, // the MNIST digits it replays
      thumbnail: ({ input, label }) => {
        const canvas = paint(document.createElement("canvas"), input);
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `a drawn ${label}`);
        return canvas;
      },
      hints: {
        none: "Draw a digit the way you write it, then press the digit it is under the pad.",
        some: "Three to five drawings of each digit you write your own way, then Train.",
      },
    });
    for (const d of DIGITS) {
      this.part(`teach-${d}`).addEventListener("click", async () => {
        const image = toMnist(this.#pad.imageData());
        if (!image) return; // nothing drawn: nothing to keep
        this.clear();
        await this.#teacher.add(image, d);
      });
    }
  }

  /** Empties the pad and the result. */
  clear() {
    this.#pad.clear();
    this.#showSeen(null);
    this.clearResult();
    this.#queued = false; // a waiting reading is dropped with the result: the next stroke asks anew
  }

  /**
   * Classifies a 28x28 Float32Array in MNIST form (ink 1 on background 0), or an ImageData or a
   * canvas holding a drawing (white ink on black), preprocessed as the pad is.
   * Resolves to the prediction's detail ({label, probability, topK, ...}), or null for no ink.
   */
  predict(input) {
    return this.schedule(() => {
      this.#caveat = input instanceof Float32Array ? "" : drawingCaveat(toImageData(input));
      return this.#showSeen(toInput(input));
    });
  }

  inputCaveat() {
    return this.#caveat;
  }

  rerun() {
    this.#predictPad();
  }

  // At most one pad reading waits in the queue; it reads the pad when its turn comes.
  #predictPad() {
    if (this.#queued) return;
    this.#queued = true;
    this.schedule(() => {
      this.#queued = false;
      const image = this.#pad.imageData();
      this.#caveat = drawingCaveat(image);
      return this.#showSeen(toMnist(image));
    }).catch(() => {}); // the error event has told the page
  }

  // The model's input, drawn small beside the Clear button (hidden when there is none; one of
  // the wrong size goes on to the worker, which says what is wrong with it).
  #showSeen(image) {
    const shown = image?.length === SIZE * SIZE;
    const seen = this.root.querySelector(".seen");
    seen.hidden = !shown;
    if (shown) paint(seen.querySelector("canvas"), image);
    return image;
  }
}

// A 28x28 model input drawn on a canvas of that size, as grey levels.
function paint(canvas, image) {
  canvas.width = canvas.height = SIZE;
  const ctx = canvas.getContext("2d");
  const pixels = ctx.createImageData(SIZE, SIZE);
  image.forEach((v, i) => {
    const g = Math.round(v * 255);
    pixels.data.set([g, g, g, 255], i * 4);
  });
  ctx.putImageData(pixels, 0, 0);
  return canvas;
}

function toImageData(input) {
  if (input instanceof ImageData) return input;
  if (input && typeof input.getContext === "function") {
    return input.getContext("2d").getImageData(0, 0, input.width, input.height);
  }
  throw new TypeError("predict() takes a 28x28 Float32Array, an ImageData or a canvas");
}

function toInput(input) {
  return input instanceof Float32Array ? input : toMnist(toImageData(input));
}
