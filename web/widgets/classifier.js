// <pycore-classifier>: drop, paste, pick or take a photo; an ImageNet model names what is in it.
// With the `teachable` attribute (read when it connects), the visitor names classes of their own
// and gives each a few photos: each photo's features are computed in the worker when it is added
// and kept (with a thumbnail), and the teaching panel (teach.js) trains a head on them, keeps it
// and goes back to ImageNet on request.
import { CameraPreview, cameraHTML, watchCamera } from "../camera.js";
import { imageToTensor } from "../image.js";
import { PycoreWidget } from "./base.js";
import { formatMs } from "./result.js";
import { teachHTML, Teacher } from "./teach.js";

const THUMB = 64; // px, the side of a photo's kept thumbnail
const classesHTML = `
<div class="classes">
  <form class="new-class-row">
    <input type="text" data-testid="new-class" maxlength="40" placeholder="Name a class, e.g. my mug"
           aria-label="The name of a new class" autocomplete="off">
    <button type="submit" data-testid="add-class">Add class</button>
  </form>
  <ul class="class-list" aria-label="Your classes"></ul>
</div>`;

// Under this many pixels on its shorter side an image is blown up to the model's 224 x 224 square
// from too little to show anything: a 1 x 1 image is one colour, and the model still names a thing.
const SMALLEST_SIDE = 32;

export class PycoreClassifier extends PycoreWidget {
  static defaultModel = new URL("../../models/efficientnet-lite0/", import.meta.url);
  static placeholder = "Choose a photo: the model names what is in it.";
  // of 1000 labels, the sample photos it knows get 33% and more (a cat's share is split among cat
  // breeds); noise gets 3%, and under 25% its best guess is one of many
  static unsureBelow = 0.25;
  static inputHTML = `
    <div class="drop" tabindex="0" role="button"
         aria-label="Image to classify: drop or paste an image here, or press Enter to choose a file">
      <span class="empty"><span class="fine-pointer">Drop or paste an image here, or click to choose one</span>
        <span class="coarse-pointer">Tap to choose a photo, or take one</span>
        <small>It stays in your browser: nothing is uploaded.</small></span>
      <canvas class="photo" hidden role="img" aria-label="The photo; the square marks what the model sees"></canvas>
    </div>${cameraHTML}
    <input type="file" accept="image/*" data-testid="file-input" hidden>
    <p class="info" hidden><span data-testid="image-name"></span> ·
      <span data-testid="image-size"></span> px ·
      prepared in <span data-testid="preprocess-ms"></span> ms</p>
    <div class="row">
      <button type="button" class="choose">Choose image…</button>
      <button type="button" class="use-camera" data-testid="camera" hidden>Camera</button>
    </div>`;

  #drop;
  #file;
  #camera;
  #shown = null; // the image on display, classified again when the model changes
  #waiting = null; // the newest image picked, dropped or pasted whose turn has not come yet
  #caveat = ""; // what is odd about the image just prepared
  #teacher = null;

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
    this.#camera = new CameraPreview(this.root.querySelector(".camera"));
    const cameraButton = this.part("camera");
    cameraButton.addEventListener("click", () => this.#takePhoto());
    watchCamera((available) => (cameraButton.hidden = !available));
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
      else this.view.message("Nothing to classify was dropped: drop an image file.");
    });
    // paste reaches the widget while focus is inside it (click the drop zone, then Ctrl+V); a file
    // that is no image gets the same clear message as one chosen or dropped
    this.addEventListener("paste", (e) => {
      const [file] = e.clipboardData.files;
      if (!file) return;
      e.preventDefault();
      this.#classify(file);
    });
  }

  connectedCallback() {
    if (this.hasAttribute("teachable") && !this.#teacher) this.#becomeTeachable();
    super.connectedCallback();
  }

  async modelLoaded(model, url) {
    if (!this.#teacher) return;
    await this.#teacher.attach(model, url);
    this.#renderClasses();
  }

  /**
   * Keeps a photo (as predict() takes it) as an example of the class `label`, created if new:
   * its features are computed now and kept with a thumbnail. Resolves to how many examples there
   * are; rejects, keeping nothing, for what is no image. Needs the `teachable` attribute.
   */
  async teach(input, label) {
    if (!this.#teacher) throw new Error("teach() needs a <pycore-classifier teachable>");
    const name = String(label ?? "").trim();
    if (!name) throw new TypeError("teach() needs the name of a class");
    if (!this.#teacher.attached) throw new Error("wait until the model has loaded, then teach it");
    const model = this.model;
    const blob = input instanceof ImageBitmap ? await toBlob(input) : input;
    const image = await imageToTensor(blob, model.input.preprocess);
    const thumb = await thumbnail(image);
    const { features, note } = await model.features(image.tensor);
    this.#addClass(name);
    if (note) this.#teacher.say(note); // before the count shows, so the two arrive together
    return this.#teacher.add(features, name, { thumb });
  }

  /** Trains a head on the classes' photos ({steps}: fewer, for a quick try); resolves to the
   *  `trained` event's detail, {examples, loss, ms, backend}. */
  train(options) {
    if (!this.#teacher) return Promise.reject(new Error("train() needs a <pycore-classifier teachable>"));
    return this.#teacher.train(options);
  }

  #becomeTeachable() {
    this.root.querySelector(".widget").insertAdjacentHTML("beforeend", teachHTML("Teach it your own classes"));
    this.root.querySelector(".teach-title").insertAdjacentHTML("afterend", classesHTML);
    this.#teacher = new Teacher(this, {
      kind: "photos",
      thumbnail: ({ thumb, label }) => {
        const img = document.createElement("img");
        img.src = URL.createObjectURL(thumb);
        img.onload = () => URL.revokeObjectURL(img.src);
        img.alt = `a photo of ${label}`;
        return img;
      },
      hints: {
        none: "Name two or more classes, then give each a few photos.",
        some: "A few photos of each class, from different sides, then Train.",
      },
      check: () => {
        const classes = this.#teacher.labels;
        if (classes.length < 2) {
          return classes.length
            ? "Add a second class: it learns to tell your classes apart."
            : "Name two or more classes first (Add class), then give each a few photos.";
        }
        const empty = classes.filter((c) => !this.#count(c));
        return empty.length ? `Give ${quoteAll(empty)} a few photos, or remove ${empty.length > 1 ? "them" : "it"}.` : "";
      },
      changed: () => this.#renderClasses(),
    });
    this.root.querySelector(".new-class-row").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = this.part("new-class");
      const name = input.value.trim();
      if (!name) return;
      const same = this.#teacher.labels.find((c) => c.toLowerCase() === name.toLowerCase());
      if (same) {
        this.#teacher.say(`There is a class called "${same}" already: give each class its own name.`);
        return;
      }
      input.value = "";
      this.#teacher.say("");
      this.#addClass(name);
    });
  }

  #count(name) {
    return this.#teacher.examples.filter((e) => e.label === name).length;
  }

  #addClass(name) {
    this.#teacher.addLabel(name); // kept with the photos; a refusal to keep it is said by the teacher
    this.#renderClasses();
  }

  // Photos added to a class one at a time, in turn: each is said if it is no image, and kept otherwise.
  async #addPhotos(files, name) {
    for (const file of files) {
      try {
        await this.teach(file, name);
      } catch (error) {
        this.#teacher.say(`${error.message} Nothing was kept for it.`);
      }
    }
  }

  // One row per class: its name, its number of photos, and the ways to give it more or remove it.
  #renderClasses() {
    const teacher = this.#teacher;
    const rows = teacher.labels.map((name) => {
      const row = document.createElement("li");
      row.dataset.class = name;
      const n = this.#count(name);
      row.innerHTML = `<strong class="name"></strong>
        <span class="count"><span data-testid="class-count">${n}</span> photo${n === 1 ? "" : "s"}</span>
        <label class="add-photos" role="button">Add photos…<input type="file" accept="image/*" multiple
          data-testid="class-files" hidden></label>
        <button type="button" data-testid="class-photo">Add the photo above</button>
        <button type="button" class="remove" data-testid="remove-class">×</button>`;
      row.querySelector(".name").textContent = name;
      const files = row.querySelector("input");
      files.addEventListener("change", () => {
        const picked = [...files.files];
        files.value = "";
        this.#addPhotos(picked, name);
      });
      const shown = row.querySelector("[data-testid=class-photo]");
      shown.disabled = !this.#shown || !teacher.attached;
      shown.addEventListener("click", () => this.#shown && this.#addPhotos([this.#shown], name));
      const remove = row.querySelector(".remove");
      remove.title = remove.ariaLabel = `Remove the class ${name} and its photos`;
      remove.addEventListener("click", () => {
        teacher.removeLabel(name);
        this.#renderClasses();
      });
      row.addEventListener("dragover", (e) => e.preventDefault());
      row.addEventListener("drop", (e) => {
        e.preventDefault();
        this.#addPhotos([...e.dataTransfer.files], name);
      });
      return row;
    });
    this.root.querySelector(".class-list").replaceChildren(...rows);
  }

  /**
   * Classifies a Blob or File holding an image (JPEG, PNG, ...), or an ImageBitmap, and shows it.
   * Resolves to the prediction's detail ({label, probability, topK, ...}). A file that cannot be
   * read clears the photo and the result, and rejects with a message meant for people.
   */
  predict(input) {
    return this.schedule((model) => this.#prepare(input, model));
  }

  inputCaveat() {
    return this.#caveat;
  }

  disconnectedCallback() {
    this.#camera.cancel(); // the camera runs only while the preview is on screen
    super.disconnectedCallback();
  }

  rerun() {
    if (this.#shown) this.#classify(this.#shown);
  }

  // Images given in the widget wait in one place: one given before the last one's turn came
  // replaces it, so a run of drops costs one model run, not one each.
  #classify(file) {
    const queued = this.#waiting !== null;
    this.#waiting = file;
    if (queued) return;
    this.schedule((model) => {
      const next = this.#waiting;
      this.#waiting = null;
      return this.#prepare(next, model);
    }).catch(() => {}); // shown in the widget and sent as an error event
  }

  // The live preview takes the place of the drop zone, its caption and buttons until a photo is taken
  // (classified like a dropped file) or it is cancelled; no camera, or none allowed, is said where
  // errors are.
  async #takePhoto() {
    if (this.#camera.open) return;
    this.view.message("");
    const around = [this.#drop, this.root.querySelector(".info"), this.root.querySelector(".input > .row")];
    const swapped = around.filter((e) => !e.hidden);
    swapped.forEach((e) => (e.hidden = true));
    try {
      const photo = await this.#camera.take();
      if (photo) this.#classify(photo);
    } catch (error) {
      this.view.message(error.message);
    } finally {
      swapped.forEach((e) => (e.hidden = false));
    }
  }

  async #prepare(input, model) {
    const blob = input instanceof ImageBitmap ? await toBlob(input) : input;
    let image;
    try {
      image = await imageToTensor(blob, model.input.preprocess);
    } catch (error) {
      this.#showPhoto(null);
      throw error;
    }
    this.#shown = blob;
    if (this.#teacher) this.#renderClasses(); // "Add the photo above" can take it now
    const side = Math.min(image.width, image.height);
    this.#caveat =
      side < SMALLEST_SIDE
        ? `This image is very small (${image.width} × ${image.height} px): the model is shown it blown up to` +
          " 224 × 224 px, so its answer is a guess."
        : "";
    this.#showPhoto(image, blob.name || "image");
    return image.tensor;
  }

  // The whole photo as resized, with the square the model sees outlined and the rest dimmed; or,
  // for null, the empty drop zone again.
  #showPhoto(image, name) {
    const canvas = this.root.querySelector(".photo");
    const info = this.root.querySelector(".info");
    canvas.hidden = info.hidden = !image;
    this.root.querySelector(".empty").hidden = Boolean(image);
    if (!image) {
      this.#shown = null;
      return;
    }
    const { preview, crop, width, height, ms } = image;
    canvas.width = preview.width;
    canvas.height = preview.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(preview, 0, 0);
    preview.close();
    const { x, y, size } = crop;
    ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
    ctx.fillRect(0, 0, canvas.width, y);
    ctx.fillRect(0, y + size, canvas.width, canvas.height - y - size);
    ctx.fillRect(0, y, x, size);
    ctx.fillRect(x + size, y, canvas.width - x - size, size);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(x + 0.75, y + 0.75, size - 1.5, size - 1.5);
    this.part("image-name").textContent = name;
    this.part("image-size").textContent = `${width} × ${height}`;
    this.part("preprocess-ms").textContent = formatMs(ms);
  }
}

// A small JPEG of the square the model sees, kept with a photo's features to show it by.
async function thumbnail({ preview, crop }) {
  const canvas = new OffscreenCanvas(THUMB, THUMB);
  canvas.getContext("2d").drawImage(preview, crop.x, crop.y, crop.size, crop.size, 0, 0, THUMB, THUMB);
  preview.close();
  return canvas.convertToBlob({ type: "image/jpeg", quality: 0.8 });
}

const quoteAll = (names) => names.map((n) => `"${n}"`).join(", ");

async function toBlob(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  return canvas.convertToBlob({ type: "image/png" });
}
