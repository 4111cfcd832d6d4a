// A drawing pad on a canvas: white ink on black, pointer events (mouse, pen, touch), a callback
// while drawing (throttled) and one when a stroke ends. <pycore-digits> draws on it.
const INK_WIDTH = 20; // in canvas pixels of the 280x280 pad; MNIST strokes are about this thick
const LIVE_INTERVAL_MS = 100;

export class DrawingPad {
  #last = null; // the pointer's previous point while a stroke is drawn
  #lastLive = 0;

  constructor(canvas, { onDraw = () => {}, onStrokeEnd = () => {} } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.#last = this.#point(e);
      this.#stroke(this.#last, this.#last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!this.#last) return;
      const next = this.#point(e);
      this.#stroke(this.#last, next);
      this.#last = next;
      if (performance.now() - this.#lastLive > LIVE_INTERVAL_MS) {
        this.#lastLive = performance.now();
        onDraw();
      }
    });
    const end = () => {
      if (!this.#last) return;
      this.#last = null;
      onStrokeEnd();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    this.clear();
  }

  clear() {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  imageData() {
    return this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
  }

  // The pad may be drawn smaller than its pixels (a narrow page): map CSS px to canvas pixels.
  #point(e) {
    const scale = this.canvas.width / (this.canvas.clientWidth || this.canvas.width);
    return [e.offsetX * scale, e.offsetY * scale];
  }

  #stroke([x0, y0], [x1, y1]) {
    const ctx = this.ctx;
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
