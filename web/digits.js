// MNIST-style preprocessing of a drawing: crop to the ink, scale the longer side to 20 px keeping
// the aspect ratio (area averaging), centre by centre of mass in 28x28. Returns null for no ink.
const INK = 0.05;
const FIT = 20;
const SIZE = 28;

export function toMnist(image) {
  const { data, width, height } = image;
  const box = inkBox(image);
  if (!box) return null;
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) ink[i] = data[i * 4] / 255;
  const { x0, y0, w, h } = box;
  const scale = FIT / Math.max(w, h);
  const nw = Math.max(1, Math.round(w * scale)), nh = Math.max(1, Math.round(h * scale));
  const small = resizeArea(ink, width, x0, y0, w, h, nw, nh);

  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < nh; y++) {
    for (let x = 0; x < nw; x++) {
      const v = small[y * nw + x];
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const ox = Math.round(SIZE / 2 - mx / mass), oy = Math.round(SIZE / 2 - my / mass);
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < nh; y++) {
    for (let x = 0; x < nw; x++) {
      const tx = x + ox, ty = y + oy;
      if (tx >= 0 && tx < SIZE && ty >= 0 && ty < SIZE) out[ty * SIZE + tx] = Math.min(1, small[y * nw + x]);
    }
  }
  return out;
}

/** The bounding box of the ink (white on black): {x0, y0, w, h, filled}, `filled` being the share
 *  of the box's pixels that have ink; null for no ink. */
export function inkBox({ data, width, height }) {
  let x0 = width, y0 = height, x1 = -1, y1 = -1, inked = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[(y * width + x) * 4] / 255 > INK) {
        inked++;
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1, h = y1 - y0 + 1;
  return { x0, y0, w, h, filled: inked / (w * h) };
}

// Separable area resampling: each output pixel averages the source pixels it covers, by overlap.
function resizeArea(src, stride, x0, y0, w, h, nw, nh) {
  const rows = new Float32Array(h * nw);
  const wx = weights(w, nw);
  for (let y = 0; y < h; y++) {
    for (const [o, i, k] of wx) rows[y * nw + o] += k * src[(y0 + y) * stride + x0 + i];
  }
  const out = new Float32Array(nw * nh);
  for (const [o, i, k] of weights(h, nh)) {
    for (let x = 0; x < nw; x++) out[o * nw + x] += k * rows[i * nw + x];
  }
  return out;
}

// [(output index, input index, weight)] for shrinking n samples to m by overlap areas.
function weights(n, m) {
  const list = [];
  const step = n / m;
  for (let o = 0; o < m; o++) {
    const a = o * step, b = (o + 1) * step;
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 0) list.push([o, i, overlap / step]);
    }
  }
  return list;
}
