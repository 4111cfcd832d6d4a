// <pycore-digits>: draw a digit, see what an MNIST model reads, live while drawing.
import { toMnist } from "../digits.js";
import { DrawingPad } from "../pad.js";
import { PycoreWidget } from "./base.js";

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
  #queued = false;

  constructor() {
    super();
    const predictPad = () => this.#predictPad();
    this.#pad = new DrawingPad(this.part("canvas"), { onDraw: predictPad, onStrokeEnd: predictPad });
    this.part("clear").addEventListener("click", () => this.clear());
  }

  /** Empties the pad and the result. */
  clear() {
    this.#pad.clear();
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
      return toMnist(this.#pad.imageData());
    }).catch(() => {}); // the error event has told the page
  }
}
