// pycore's embeddable widgets. One script tag and one element put a live model into any page:
//
//   <script type="module" src="/vendor/pycore/web/embed.js"></script>
//   <pycore-digits></pycore-digits>
//   <pycore-classifier top-k="3"></pycore-classifier>
//
// Attributes: model (a converted model folder; default: the one shipped next to this file),
// backend (auto | cpu | webgpu), top-k. Events: ready, prediction ({label, probability, topK,
// latencyMs, backend}), error ({message}). Method: predict(input). <pycore-digits teachable> also
// learns the visitor's handwriting (teach(input, label), train(), a trained event: README "Teach
// it"). Every widget on a page shares one Web Worker and one Pyodide, and every URL resolves from
// this file's own URL.
import { PycoreClassifier } from "./widgets/classifier.js";
import { PycoreDigits } from "./widgets/digits.js";

for (const [name, element] of [
  ["pycore-digits", PycoreDigits],
  ["pycore-classifier", PycoreClassifier],
]) {
  if (!customElements.get(name)) customElements.define(name, element);
}

export { PycoreClassifier, PycoreDigits };
