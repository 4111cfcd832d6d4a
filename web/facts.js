// What a demo page says about its model, from the site's manifest (build.py reads the numbers from
// the built weights, so no page states a size that has gone stale): in
// <p data-model="efficientnet-lite0">, the element data-testid="model-weights" gets
// "int8 weights, 5.1 MB".
const MANIFEST = new URL("./manifest.json", import.meta.url);

export async function showModelFacts(element) {
  const facts = (await (await fetch(MANIFEST)).json()).models?.[element.dataset.model];
  const target = element.querySelector('[data-testid="model-weights"]');
  if (!facts || !target) return;
  target.textContent = `${facts.weights} weights, ${(facts.bytes / 1e6).toFixed(1)} MB`;
}
