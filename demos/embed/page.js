// The embed example page: a copy button for the snippet, and a log of the widgets' events, to show
// what they carry.
const snippet = document.getElementById("snippet");

document.getElementById("copy").addEventListener("click", async ({ target }) => {
  try {
    await navigator.clipboard.writeText(snippet.textContent);
    target.textContent = "Copied";
  } catch {
    getSelection().selectAllChildren(snippet); // no clipboard access: select it for Ctrl+C
    target.textContent = "Press Ctrl+C";
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
