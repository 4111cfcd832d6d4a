// The embed example page: a copy button for the snippet, a log of the widgets' events to show what
// they carry, and the path the URL asks for (?backend=), given to the widgets before embed.js
// defines them (a page of yours would write the backend attribute instead).
import { startWidgets } from "../web/ui.js";

const snippet = document.getElementById("snippet");

document.getElementById("copy").addEventListener("click", async ({ target }) => {
  try {
    await navigator.clipboard.writeText(snippet.textContent);
    target.textContent = "Copied";
  } catch {
    getSelection().selectAllChildren(snippet); // no clipboard access: select it for the visitor
    const key = /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘C" : "Ctrl+C";
    target.textContent = matchMedia("(pointer: coarse)").matches ? "Selected: copy it" : `Selected: press ${key}`;
  }
  setTimeout(() => (target.textContent = "Copy"), 2000);
});

const log = document.getElementById("log");
const lines = [];
const short = (detail) =>
  JSON.stringify(detail, (key, value) => {
    if (key === "labels") return `[${value.length} labels]`;
    return typeof value === "number" ? Number(value.toFixed(3)) : value;
  });
for (const type of ["ready", "prediction", "error"]) {
  document.addEventListener(type, (e) => {
    if (!e.target.localName?.startsWith("pycore-")) return;
    lines.unshift(`<${e.target.localName}> ${type} ${short(e.detail)}`);
    lines.splice(4);
    log.textContent = lines.join("\n\n");
  });
}

await startWidgets([...document.querySelectorAll("pycore-digits, pycore-classifier")]);
