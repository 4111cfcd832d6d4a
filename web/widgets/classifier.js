// <pycore-classifier>: drop, paste or pick a photo; an ImageNet model names what is in it.
import { imageToTensor } from "../image.js";
import { PycoreWidget } from "./base.js";

export class PycoreClassifier extends PycoreWidget {
  static defaultModel = new URL("../../models/efficientnet-lite0/", import.meta.url);
  static inputHTML = `
    <div class="drop" tabindex="0" role="button"
         aria-label="Image to classify: drop or paste an image here, or press Enter to choose a file">
      <span class="empty">Drop or paste an image here, or click to choose one</span>
      <canvas class="photo" hidden aria-hidden="true"></canvas>
    </div>
    <input type="file" accept="image/*" data-testid="file-input" hidden>
    <div class="row">
      <span class="hint">Never uploaded</span>
      <button type="button" class="choose">Choose image…</button>
    </div>`;

  #drop;
  #file;
  #shown = null; // the image on display, classified again when the model changes

  constructor() {
    super();
    this.#drop = this.root.querySelector(".drop");
    this.#file = this.part("file-input");
    const choose = () => this.#file.click();
    this.root.querySelector(".choose").addEventListener("click", choose);
    this.#drop.addEventListener("click", choose);
    this.#drop.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        choose();
      }
    });
    this.#file.addEventListener("change", () => {
      const [file] = this.#file.files;
      this.#file.value = ""; // choosing the same file again is a change too
      if (file) this.#classify(file);
    });
    this.#drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      this.#drop.classList.add("over");
    });
    this.#drop.addEventListener("dragleave", () => this.#drop.classList.remove("over"));
    this.#drop.addEventListener("drop", (e) => {
      e.preventDefault();
      this.#drop.classList.remove("over");
      const [file] = e.dataTransfer.files;
      if (file) this.#classify(file);
    });
    // paste reaches the widget while focus is inside it (click the drop zone, then Ctrl+V)
    this.addEventListener("paste", (e) => {
      const file = [...e.clipboardData.files].find((f) => f.type.startsWith("image/"));
      if (!file) return;
      e.preventDefault();
      this.#classify(file);
    });
  }

  /**
   * Classifies a Blob or File holding an image (JPEG, PNG, ...), or an ImageBitmap, and shows it.
   * Resolves to the prediction's detail ({label, probability, topK, ...}).
   */
  predict(input) {
    return this.schedule(async (model) => {
      const blob = input instanceof ImageBitmap ? await toBlob(input) : input;
      const { tensor, preview } = await imageToTensor(blob, model.input.preprocess);
      this.#shown = blob;
      this.#show(preview);
      return tensor;
    });
  }

  rerun() {
    if (this.#shown) this.#classify(this.#shown);
  }

  #classify(file) {
    this.predict(file).catch(() => {}); // shown in the widget and sent as an error event
  }

  #show(bitmap) {
    const canvas = this.root.querySelector(".photo");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    canvas.hidden = false;
    this.root.querySelector(".empty").hidden = true;
  }
}

async function toBlob(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  return canvas.convertToBlob({ type: "image/png" });
}
