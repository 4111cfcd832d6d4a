// Image files to model input, in the page: the browser decodes (EXIF orientation applied), shrinks
// the shorter side to `resize` with its high-quality (antialiased) filter, we centre-crop `crop`,
// composite alpha on white, and scale (pixel - mean) / scale into an NCHW RGB Float32Array.
// Only that small tensor goes on to the worker; a huge photo is never drawn at full size.
//
//   import { imageToTensor, ImageInputError } from "./web/image.js";
//   const { tensor, preview, crop, width, height, ms } = await imageToTensor(file, model.input.preprocess);

/** A file the browser cannot read as an image; its message is meant for people. */
export class ImageInputError extends Error {
  name = "ImageInputError";
}

const DEFAULTS = { resize: 256, crop: 224, mean: 127, scale: 128 };
// A resized image never needs to be longer than this: only its centre `crop` is used (and previewed).
const MAX_ASPECT = 4;

const SIGNATURES = [
  ["JPEG", [0xff, 0xd8, 0xff]],
  ["PNG", [0x89, 0x50, 0x4e, 0x47]],
  ["GIF", [0x47, 0x49, 0x46, 0x38]],
  ["BMP", [0x42, 0x4d]],
  ["WebP", [0x52, 0x49, 0x46, 0x46, -1, -1, -1, -1, 0x57, 0x45, 0x42, 0x50]],
  ["AVIF", [-1, -1, -1, -1, 0x66, 0x74, 0x79, 0x70, 0x61, 0x76, 0x69, 0x66]],
];

/** The image format named by a file's first bytes, or "" when it is none the browser decodes. */
export function sniffFormat(head) {
  const match = ([, sig]) => sig.every((b, i) => b < 0 || head[i] === b);
  return (SIGNATURES.find(match) || [""])[0];
}

/**
 * Decodes an image and prepares the model's input.
 *
 * source: a Blob or File (JPEG, PNG, ...), or anything createImageBitmap takes (ImageBitmap, canvas,
 * <img>, ImageData, VideoFrame), which is used as it is.
 * preprocess: the model's `input.preprocess`, {resize, crop, mean, scale}; mean and scale are numbers
 * or per-channel [r, g, b] lists in 0..255 pixel units.
 * Resolves to {
 *   tensor   Float32Array [1, 3, crop, crop], RGB planes, (pixel - mean) / scale, alpha on white
 *   preview  ImageBitmap of the image as resized (shorter side `resize`); the caller close()s it
 *   crop     {x, y, size}: the square of `preview` that became the tensor
 *   width, height   the image's own size, after EXIF orientation
 *   decodeMs, resizeMs, ms   time to decode, to downscale, and from file to tensor in total
 * }
 * Rejects with ImageInputError for an empty file, one that is not an image, or a corrupt one.
 */
export async function imageToTensor(source, preprocess = {}) {
  const p = { ...DEFAULTS, ...preprocess };
  if (p.kind && p.kind !== "imagenet") throw new TypeError(`unsupported preprocessing ${JSON.stringify(p.kind)}`);
  const start = performance.now();
  const bitmap = source instanceof Blob ? await decodeFile(source) : await createImageBitmap(source);
  const decoded = performance.now();
  const { width, height } = bitmap;

  const { preview, crop } = await resizeAndCrop(bitmap, p.resize, p.crop);
  bitmap.close();
  const resized = performance.now();
  const tensor = toTensor(pixels(preview, crop), perChannel(p.mean), perChannel(p.scale));
  return {
    tensor,
    preview,
    crop,
    width,
    height,
    decodeMs: decoded - start,
    resizeMs: resized - decoded,
    ms: performance.now() - start,
  };
}

async function decodeFile(blob) {
  const name = blob.name || "the image";
  if (blob.size === 0) throw new ImageInputError(`${name} is empty (0 bytes).`);
  const format = sniffFormat(new Uint8Array(await blob.slice(0, 16).arrayBuffer()));
  try {
    return await decode(blob);
  } catch {
    throw new ImageInputError(
      format
        ? `${name} looks like a ${format} file but could not be decoded: it is corrupt or cut short.`
        : `${name} is not an image this browser can read (JPEG, PNG, GIF, WebP, BMP or AVIF).`,
    );
  }
}

async function decode(blob) {
  try {
    return await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch (error) {
    // browsers from before "from-image" (it was "none"/"flipY") reject the option itself
    if (error instanceof TypeError) return createImageBitmap(blob);
    throw error;
  }
}

// Shorter side to `resize`, by the browser (resizeQuality "high": filtered, so no aliasing on large
// shrinks); an extreme panorama is first cut to its central part, since only the centre is used.
async function resizeAndCrop(bitmap, resize, size) {
  const { width: w, height: h } = bitmap;
  const short = Math.min(w, h);
  const s = resize / short;
  const keep = Math.min(Math.max(w, h), Math.round(short * MAX_ASPECT)); // source pixels kept, long side
  const sw = w >= h ? keep : w, sh = w >= h ? h : keep;
  const sx = (w - sw) >> 1, sy = (h - sh) >> 1;
  const tw = Math.max(resize, Math.round(sw * s)), th = Math.max(resize, Math.round(sh * s));
  const preview = await createImageBitmap(bitmap, sx, sy, sw, sh, {
    resizeWidth: tw,
    resizeHeight: th,
    resizeQuality: "high",
  });
  return { preview, crop: { x: (tw - size) >> 1, y: (th - size) >> 1, size } };
}

// The crop's RGBA pixels, drawn over white so transparent parts read as a white background.
function pixels(image, { x, y, size }) {
  const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(size, size) : document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, size);
  ctx.drawImage(image, -x, -y);
  return ctx.getImageData(0, 0, size, size);
}

const perChannel = (v) => (Array.isArray(v) ? v.map(Number) : [v, v, v].map(Number));

/** RGBA ImageData-like {data, width, height} -> NCHW Float32Array of (pixel - mean[c]) / scale[c]. */
export function toTensor({ data, width, height }, mean = [127, 127, 127], scale = [128, 128, 128]) {
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const m = mean[c], k = scale[c];
    for (let i = 0; i < n; i++) out[c * n + i] = (data[i * 4 + c] - m) / k;
  }
  return out;
}
