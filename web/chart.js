// A small line chart in SVG: named series of numbers at x = 0, 1, 2, ... over shared axes, with a
// legend; a series set again is redrawn (a loss curve as it falls), at most once a frame however
// often it is set. null values leave a gap. Colours come from the page's CSS custom properties,
// set through the CSSOM (a strict CSP allows that).
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["var(--accent)", "#e8710a", "#1e8e3e", "#a142f4", "#d01884", "#5f6368"];
const HEIGHT = 200;
const PAD = { left: 52, right: 10, top: 10, bottom: 24 };

const svg = (name, attrs = {}) => {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
};
const label = (value) => (Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(1) : +value.toPrecision(3));

export class LineChart {
  /** Draws into `figure` (hidden until a series is set), redrawing when the figure's width changes. */
  constructor(figure) {
    this.figure = figure;
    this.series = new Map();
    this.frame = 0;
    new ResizeObserver(() => this.series.size && this.draw()).observe(figure);
  }

  set(name, values) {
    this.series.set(name, values);
    this.figure.hidden = false;
    this.frame ||= requestAnimationFrame(() => this.draw());
  }

  clear() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.series.clear();
    this.figure.hidden = true;
    this.figure.replaceChildren();
  }

  draw() {
    this.frame = 0;
    const width = Math.max(240, this.figure.clientWidth - 32);
    const all = [...this.series.values()];
    const count = all.reduce((n, v) => Math.max(n, v.length), 2);
    let lo = Infinity, hi = -Infinity; // no Math.min(...values): a long series overflows the stack
    for (const v of all.flat()) if (v !== null) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    if (lo === Infinity) [lo, hi] = [0, 1];
    if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
    const x = (i) => PAD.left + (i / (count - 1)) * (width - PAD.left - PAD.right);
    const y = (v) => PAD.top + ((hi - v) / (hi - lo)) * (HEIGHT - PAD.top - PAD.bottom);

    const chart = svg("svg", { viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT, role: "img" });
    chart.setAttribute("aria-label", `line chart of ${[...this.series.keys()].join(", ")}`);
    chart.append(svg("path", { class: "axis", d: `M${PAD.left} ${PAD.top}V${HEIGHT - PAD.bottom}H${width - PAD.right}` }));
    const tick = (text, attrs) => Object.assign(chart.appendChild(svg("text", attrs)), { textContent: text });
    tick(label(hi), { x: PAD.left - 6, y: PAD.top + 4, "text-anchor": "end" });
    tick(label(lo), { x: PAD.left - 6, y: HEIGHT - PAD.bottom, "text-anchor": "end" });
    tick("0", { x: PAD.left, y: HEIGHT - 6, "text-anchor": "start" });
    tick(String(count - 1), { x: width - PAD.right, y: HEIGHT - 6, "text-anchor": "end" });

    const legend = document.createElement("ul");
    legend.className = "legend";
    [...this.series].forEach(([name, values], n) => {
      const runs = [[]]; // the stretches between gaps; a stretch of one point is drawn as a dot
      values.forEach((v, i) => (v === null ? runs.push([]) : runs.at(-1).push(`${x(i).toFixed(1)} ${y(v).toFixed(1)}`)));
      const d = runs.filter((r) => r.length).map((r) => `M${r.join("L")}${r.length === 1 ? "h0" : ""}`).join("");
      const line = chart.appendChild(svg("path", { class: "series", d, "data-label": name, "data-count": values.length }));
      line.style.stroke = COLOURS[n % COLOURS.length];
      if (n % 2) line.style.strokeDasharray = "6 4"; // so that a line drawn over another still shows
      const item = legend.appendChild(document.createElement("li"));
      const swatch = item.appendChild(document.createElement("span"));
      swatch.style.background = line.style.stroke;
      item.append(`${name} (${values.length})`);
    });
    this.figure.replaceChildren(chart, legend);
  }
}
