// The MNIST demo: a <pycore-digits> widget (drawing, the model, the result) on the path the URL
// asks for, with a switch for it.
import { startWidgets } from "../../web/ui.js";
import { showModelFacts } from "../../web/facts.js";
import { runtime } from "../../web/pycore.js";

const widget = document.querySelector("pycore-digits");
// a handle for the browser console (and the tests): the model the widget has loaded, or null
globalThis.pycore = { runtime: runtime(), widget, get model() { return widget.model; } };
showModelFacts(document.querySelector("[data-model]")).catch((e) => console.warn(`no model facts: ${e.message}`));
await startWidgets([widget], document.getElementById("backend-select"));
