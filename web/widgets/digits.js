// <pycore-digits>: draw a digit, see what an MNIST model reads, live while drawing.
import { toMnist } from "../digits.js";
import { PycoreWidget } from "./base.js";

const LIVE_INTERVAL_MS = 100;
const INK_WIDTH = 20; // in canvas pixels of the 280x280 pad, as the MNIST demo draws

export class PycoreDigits extends PycoreWidget {
  static defaultModel = new URL("../../models/mnist/", import.meta.url);
  static inputHTML = `
    <canvas class="pad" data-testid="canvas" width="280" height="280" role="img"
            aria-label="Drawing area: draw one digit, 0 to 9, with the mouse, a pen or a finger"></canvas>
    <div class="row">
      <span class="hint">Draw a digit</span>
      <button type="button" data-testid="clear">Clear</button>
    </div>`;

  #pad;
  #ctx;
  #last = null; // the pointer's previous point while a stroke is drawn
  #lastLive = 0;
  #queued = false;

  constructor() {
    super();
    this.#pad = this.part("canvas");
    this.#ctx = this.#pad.getContext("2d", { willReadFrequently: true });
    this.#pad.addEventListener("pointerdown", (e) => {
      this.#pad.setPointerCapture(e.pointerId);
      this.#last = this.#point(e);
      this.#stroke(this.#last, this.#last);
    });
    this.#pad.addEventListener("pointermove", (e) => {
      if (!this.#last) return;
      const next = this.#point(e);
      this.#stroke(this.#last, next);
      this.#last = next;
      if (performance.now() - this.#lastLive > LIVE_INTERVAL_MS) {
        this.#lastLive = performance.now();
        this.#predictPad();
      }
    });
    const end = () => {
      if (!this.#last) return;
      this.#last = null;
      this.#predictPad();
    };
    this.#pad.addEventListener("pointerup", end);
    this.#pad.addEventListener("pointercancel", end);
    this.part("clear").addEventListener("click", () => this.clear());
    this.clear();
  }

  /** Empties the pad and the result. */
  clear() {
    this.#ctx.fillStyle = "#000";
    this.#ctx.fillRect(0, 0, this.#pad.width, this.#pad.height);
    this.clearResult();
  }

  /**
   * Classifies a 28x28 Float32Array in MNIST form (ink 1 on background 0), or an ImageData or a
   * canvas holding a drawing (white ink on black), preprocessed as the pad is.
   * Resolves to the prediction's detail ({label, probability, topK, ...}), or null for no ink.
   */
  predict(input) {
    return this.schedule(() => {
      if (input instanceof Float32Array) return input;
      if (input instanceof ImageData) return toMnist(input);
      if (input && typeof input.getContext === "function") {
        return toMnist(input.getContext("2d").getImageData(0, 0, input.width, input.height));
      }
      throw new TypeError("predict() takes a 28x28 Float32Array, an ImageData or a canvas");
    });
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
      return toMnist(this.#ctx.getImageData(0, 0, this.#pad.width, this.#pad.height));
    }).catch(() => {}); // the error event has told the page
  }

  // The pad may be drawn smaller than its 280x280 pixels (a narrow page): map CSS px to pixels.
  #point(e) {
    const scale = this.#pad.width / (this.#pad.clientWidth || this.#pad.width);
    return [e.offsetX * scale, e.offsetY * scale];
  }

  #stroke([x0, y0], [x1, y1]) {
    const ctx = this.#ctx;
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = INK_WIDTH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }
}
