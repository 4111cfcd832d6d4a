// One probability bar as a list item: the demos and the widgets render the same hooks
// (data-label, data-prob) and the same structure, styled by their own stylesheets.
export function barItem({ label, probability }) {
  const item = document.createElement("li");
  item.dataset.label = label;
  item.dataset.prob = probability.toFixed(6);
  const name = document.createElement("span");
  name.className = "label";
  name.textContent = label;
  name.title = label;
  const track = document.createElement("span");
  track.className = "track";
  const bar = document.createElement("span");
  bar.className = "bar";
  // CSSOM, not a style attribute in markup: allowed under style-src 'self'
  bar.style.width = `${(probability * 100).toFixed(1)}%`;
  track.append(bar);
  const pct = document.createElement("span");
  pct.className = "pct";
  pct.textContent = `${(probability * 100).toFixed(1)}%`;
  item.append(name, track, pct);
  return item;
}
