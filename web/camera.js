// Photos from the device's camera, for any widget: whether the browser has one, and a small live
// preview with "Take photo" and "Cancel" that gives the photo as a JPEG File. The camera runs only
// while the preview is open. A widget puts `cameraHTML` in its shadow root (widget.css styles it):
//
//   const camera = new CameraPreview(root.querySelector(".camera"));
//   const file = await camera.take(); // null when cancelled; rejects with a message for people
//
// getUserMedia exists only in secure contexts (https, localhost, 127.0.0.1); elsewhere there is no
// camera to offer.

export const cameraHTML = `
  <div class="camera" hidden>
    <video data-testid="camera-preview" playsinline muted aria-label="What the camera sees"></video>
    <p class="camera-status" role="status">Starting the camera…</p>
    <div class="row">
      <button type="button" class="take" data-testid="take-photo" disabled>Take photo</button>
      <button type="button" class="cancel" data-testid="cancel-photo">Cancel</button>
    </div>
  </div>`;

/** Whether a camera can be asked for: getUserMedia exists and a video input is listed (before
 *  permission the list names no devices, but it has their kinds). */
export async function hasCamera() {
  const devices = navigator.mediaDevices;
  if (!devices?.getUserMedia || !devices.enumerateDevices) return false;
  try {
    return (await devices.enumerateDevices()).some((d) => d.kind === "videoinput");
  } catch {
    return false;
  }
}

/** Calls `update(available)` now and whenever a camera is plugged in or out. */
export function watchCamera(update) {
  const check = () => hasCamera().then(update);
  navigator.mediaDevices?.addEventListener?.("devicechange", check);
  check();
}

// getUserMedia's errors (DOMException names), in words for the person who asked for the camera
const NOT_ALLOWED = "The camera was not allowed. To take a photo, allow the camera in the browser's site settings.";
const NOT_FOUND = "No camera was found. Connect one, or choose a photo instead.";
const IN_USE = "The camera could not be started: another app may be using it.";
const REFUSALS = {
  NotAllowedError: NOT_ALLOWED,
  SecurityError: NOT_ALLOWED,
  NotFoundError: NOT_FOUND,
  OverconstrainedError: NOT_FOUND,
  NotReadableError: IN_USE,
  AbortError: IN_USE,
};

export class CameraPreview {
  #panel;
  #video;
  #status;
  #take;
  #cancel;
  #stop = null; // ends the open preview: resolves take() with a photo or null, stops the camera

  constructor(panel) {
    this.#panel = panel;
    this.#video = panel.querySelector("video");
    this.#status = panel.querySelector(".camera-status");
    this.#take = panel.querySelector(".take");
    this.#cancel = panel.querySelector(".cancel");
    this.#take.addEventListener("click", () => {
      this.#take.disabled = true; // one photo per preview
      this.#stop?.(this.#photo());
    });
    this.#cancel.addEventListener("click", () => this.cancel());
    panel.addEventListener("keydown", (e) => e.key === "Escape" && this.cancel());
  }

  get open() {
    return this.#stop !== null;
  }

  /** Shows the live preview; resolves to the photo taken (a JPEG File) or null for Cancel, and
   *  rejects with an Error whose message says why there is no camera. The camera stops either way. */
  async take() {
    if (this.open) throw new Error("The camera is already open.");
    let stream = null;
    const closed = new Promise((resolve) => (this.#stop = resolve));
    this.#panel.hidden = false;
    this.#take.disabled = true;
    this.#status.hidden = false;
    this.#status.textContent = "Starting the camera…";
    this.#cancel.focus();
    try {
      const starting = navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 960 } },
        audio: false,
      });
      stream = await Promise.race([starting, closed.then(() => null)]);
      if (!stream) {
        starting.then((s) => s.getTracks().forEach((t) => t.stop())).catch(() => {}); // cancelled while asking
        return null;
      }
      const [track] = stream.getVideoTracks();
      track.addEventListener("ended", () => this.#stop?.(Promise.reject(new Error("The camera stopped."))));
      this.#video.srcObject = stream;
      await this.#video.play();
      this.#status.hidden = true;
      this.#take.disabled = false;
      this.#take.focus();
      return await closed;
    } catch (error) {
      throw new Error(REFUSALS[error.name] || error.message || `The camera could not be started (${error.name}).`);
    } finally {
      stream?.getTracks().forEach((t) => t.stop());
      this.#video.srcObject = null;
      this.#panel.hidden = true;
      this.#stop = null;
    }
  }

  /** Closes the preview without a photo (take() resolves to null); nothing happens when closed. */
  cancel() {
    this.#stop?.(null);
  }

  // The frame on screen, full size, as a JPEG (a photo: a fraction of a PNG's bytes, decoded alike).
  async #photo() {
    const { videoWidth: width, videoHeight: height } = this.#video;
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext("2d").drawImage(this.#video, 0, 0, width, height);
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.92 });
    return new File([blob], "camera photo.jpg", { type: "image/jpeg" });
  }
}
