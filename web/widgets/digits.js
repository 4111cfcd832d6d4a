// <pycore-digits>: draw a digit, see what an MNIST model reads, live while drawing.
import { inkBox, toMnist } from "../digits.js";
import { DrawingPad } from "../pad.js";
import { PycoreWidget } from "./base.js";

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

  constructor() {
    super();
    const predictPad = () => this.#predictPad();
    this.#pad = new DrawingPad(this.part("canvas"), { onDraw: predictPad, onStrokeEnd: predictPad });
    this.part("clear").addEventListener("click", () => this.clear());
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
    if (shown) {
      const ctx = seen.querySelector("canvas").getContext("2d");
      const pixels = ctx.createImageData(SIZE, SIZE);
      image.forEach((v, i) => {
        const g = Math.round(v * 255);
        pixels.data.set([g, g, g, 255], i * 4);
      });
      ctx.putImageData(pixels, 0, 0);
    }
    return image;
  }
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
