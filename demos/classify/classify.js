// The classify demo: a <pycore-classifier> widget (the photo, the model, the result) on the path
// the URL asks for, plus what only this page has: sample photos, pasting anywhere on the page and
// a backend switch.
import { startWidgets } from "../../web/ui.js";
import { showModelFacts } from "../../web/facts.js";
import { runtime } from "../../web/pycore.js";

const widget = document.querySelector("pycore-classifier");
const sampleError = document.getElementById("sample-error");
globalThis.pycore = { runtime: runtime(), widget, get model() { return widget.model; } };

// the widget says what went wrong; a sample clicked in the page's first moments waits for it
const classify = async (file) => {
  await customElements.whenDefined("pycore-classifier");
  widget.predict(file).catch(() => {});
};

for (const button of document.querySelectorAll("[data-sample]")) {
  button.addEventListener("click", async () => {
    const name = button.dataset.sample;
    const response = await fetch(new URL(`samples/${name}`, location.href));
    sampleError.hidden = response.ok;
    if (!response.ok) {
      sampleError.textContent = `could not load the sample ${name}: HTTP ${response.status}`;
      return;
    }
    classify(new File([await response.blob()], name));
  });
}
document.addEventListener("paste", (e) => {
  if (e.defaultPrevented) return; // pasted into the widget, which took it
  const [file] = e.clipboardData?.files || [];
  if (file) {
    e.preventDefault();
    classify(file);
  }
});

showModelFacts(document.querySelector("[data-model]")).catch((e) => console.warn(`no model facts: ${e.message}`));
await startWidgets([widget], document.getElementById("backend-select"));
