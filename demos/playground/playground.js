// The playground: Python typed in the editor runs in the pycore worker (web/worker.js, the demos'
// own) with pycore importable; what it prints streams into the output pane and plot() draws in the
// chart. Stop interrupts Python where the page is cross-origin isolated, and otherwise ends the
// worker and starts a fresh one. The code is kept in localStorage, one draft per example.
import { LineChart } from "../../web/chart.js";
import { describeProgress, runtime } from "../../web/pycore.js";

const $ = (id) => document.getElementById(id);
const [editor, gutter, output, status] = [$("editor"), document.querySelector(".gutter"), $("output"), $("status")];
const [runButton, stopButton, examples, restore] = [$("run"), $("stop"), $("examples"), $("restore")];
const chart = new LineChart($("plot"));
const STORE = "pycore-playground";
const OUTPUT_LIMIT = 50_000; // characters kept in the output pane: more makes each frame's layout slow
const GRACE_MS = 2000; // how long an interrupt may take before Stop ends the worker instead
// Pyodide polls this buffer while Python runs: 2 (SIGINT) raises KeyboardInterrupt
const interrupt = globalThis.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;

// ---- code kept across reloads ------------------------------------------------------------------

let kept = { example: examples.value, drafts: {} };
try {
  kept = { ...kept, ...JSON.parse(localStorage.getItem(STORE) || "{}") };
} catch (e) {
  console.warn(`ignoring the stored playground code: ${e.message}`);
}
const originals = {}; // example -> its code, once fetched
const fetching = {}; // example -> the promise of its code
const load = (name) =>
  (fetching[name] ??= fetch(`examples/${name}.py`).then(async (response) => {
    if (!response.ok) throw new Error(`could not load the example ${name}.py: HTTP ${response.status}`);
    return (originals[name] = await response.text());
  }));

// The example whose code the editor holds: the select changes before the new code has arrived.
const shown = () => editor.dataset.example;

let saveWarned = false;
function save() {
  const name = shown();
  if (!name) return; // nothing shown yet
  if (originals[name] === editor.value) delete kept.drafts[name];
  else kept.drafts[name] = editor.value;
  kept.example = name;
  restore.hidden = !(name in kept.drafts);
  try {
    localStorage.setItem(STORE, JSON.stringify(kept));
  } catch (e) {
    if (!saveWarned) note(`Your code could not be kept in this browser (${e.message}); copy it before leaving.`);
    saveWarned = true;
  }
}

async function show(name) {
  try {
    await load(name);
  } catch (e) {
    delete fetching[name]; // picking it again tries again
    examples.value = shown() ?? name;
    return note(e.message);
  }
  examples.value = name;
  editor.value = kept.drafts[name] ?? originals[name];
  editor.dataset.example = name;
  restore.hidden = !(name in kept.drafts);
  editor.scrollTop = 0;
  numberLines();
}

let saving = 0;
editor.addEventListener("input", () => {
  numberLines();
  clearTimeout(saving);
  saving = setTimeout(save, 300);
});
addEventListener("pagehide", save);
examples.addEventListener("change", async () => {
  clearTimeout(saving);
  save(); // the edits to the example being left
  await show(examples.value);
  save();
});
restore.addEventListener("click", async () => {
  delete kept.drafts[shown()];
  await show(shown());
  save();
  editor.focus();
});

// ---- the editor: line numbers, Tab indentation, Enter keeps the indent, Ctrl/Cmd+Enter runs -----

let numbered = 0;
function numberLines() {
  const lines = editor.value.split("\n").length;
  if (numbered !== lines) gutter.textContent = Array.from({ length: (numbered = lines) }, (_, i) => i + 1).join("\n");
  gutter.scrollTop = editor.scrollTop;
}
editor.addEventListener("scroll", () => (gutter.scrollTop = editor.scrollTop));

// Typing through insertText keeps the browser's undo history (Ctrl+Z), which setting .value clears.
function type(text) {
  if (!document.execCommand("insertText", false, text)) editor.setRangeText(text, editor.selectionStart, editor.selectionEnd, "end");
}

function indent(outwards) {
  const { value, selectionStart: a, selectionEnd: b } = editor;
  const from = value.lastIndexOf("\n", a - 1) + 1;
  if (!outwards && !value.slice(a, b).includes("\n")) return type(" ".repeat(4 - ((a - from) % 4)));
  const to = b > a && value[b - 1] === "\n" ? b - 1 : b; // a selection ending at a line start leaves that line
  const end = value.indexOf("\n", to) === -1 ? value.length : value.indexOf("\n", to);
  const lines = value.slice(from, end).split("\n");
  const changed = lines.map((l) => (outwards ? l.replace(/^ {1,4}/, "") : `    ${l}`)).join("\n");
  editor.setSelectionRange(from, end);
  type(changed);
  editor.setSelectionRange(from, from + changed.length);
}

let escaped = false; // Esc, then Tab, leaves the editor: a keyboard must not be trapped in it
editor.addEventListener("keydown", (e) => {
  const after = escaped;
  escaped = e.key === "Escape";
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    start();
  } else if (e.key === "Tab" && !after && !e.altKey && !e.ctrlKey && !e.metaKey) {
    e.preventDefault();
    indent(e.shiftKey);
  } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    const { value, selectionStart: a } = editor;
    const line = value.slice(value.lastIndexOf("\n", a - 1) + 1, a);
    const lead = line.match(/^ */)[0] + (/:\s*$/.test(line) ? "    " : "");
    e.preventDefault();
    type(`\n${lead}`);
  }
});

// ---- output: streamed text, batched into one DOM change a frame --------------------------------

let queued = [], frame = 0, written = 0;
function write(text, kind) {
  queued.push([text, kind]);
  frame ||= requestAnimationFrame(flush);
}
const note = (text) => write(`${text}\n`, "note");

function flush() {
  frame = 0;
  const atEnd = output.scrollTop + output.clientHeight >= output.scrollHeight - 8;
  for (const [text, kind] of queued) {
    const last = output.lastElementChild;
    if (last?.className === kind) last.append(text);
    else output.appendChild(Object.assign(document.createElement("span"), { className: kind, textContent: text }));
    written += text.length;
  }
  queued = [];
  if (written > OUTPUT_LIMIT) dropOldest(written - OUTPUT_LIMIT);
  if (atEnd) output.scrollTop = output.scrollHeight;
}

// Removes the first `excess` characters of output, text node by text node, behind a note saying so.
function dropOldest(excess) {
  written -= excess;
  let dropped = output.querySelector(".dropped");
  let span = dropped ? dropped.nextElementSibling : output.firstElementChild;
  while (excess > 0) {
    const text = span.firstChild;
    if (text.length > excess) {
      text.deleteData(0, excess);
      break;
    }
    excess -= text.length;
    text.remove();
    if (!span.firstChild) {
      const next = span.nextElementSibling;
      span.remove();
      span = next;
    }
  }
  if (!dropped) {
    dropped = Object.assign(document.createElement("span"), { className: "note dropped", textContent: "(earlier output dropped)\n" });
    output.prepend(dropped);
  }
}

function clearOutput() {
  cancelAnimationFrame(frame);
  [queued, frame, written] = [[], 0, 0];
  output.replaceChildren();
  chart.clear();
}

// ---- the worker: boot, run, stop ----------------------------------------------------------------

let rt = null, running = null, stopping = false;

function setStatus(text) {
  status.textContent = text;
}

function connect() {
  rt = runtime();
  rt.addEventListener("progress", ({ detail }) => {
    // while code runs, only its downloads (fetch() of a large file) are news
    const download = detail.stage === "download";
    if (!running) setStatus(describeProgress(detail));
    else if (!stopping) setStatus(download ? `running · ${describeProgress(detail)}` : "running");
  });
  rt.addEventListener("stdout", ({ detail }) => write(detail.text, "stdout"));
  rt.addEventListener("stderr", ({ detail }) => write(detail.text, "stderr"));
  rt.addEventListener("plot", ({ detail }) => {
    const { label, values } = JSON.parse(detail.text);
    chart.set(label, values);
  });
  runButton.disabled = true;
  setStatus("starting…");
  rt.boot().then(
    () => {
      setStatus("ready");
      runButton.disabled = false;
    },
    (e) => setStatus(`error: ${e.message}`),
  );
}

async function start() {
  if (running || runButton.disabled) return;
  clearOutput();
  save();
  runButton.disabled = true;
  stopButton.disabled = false;
  setStatus("running");
  if (interrupt) Atomics.store(interrupt, 0, 0);
  const began = performance.now();
  const seconds = () => `${((performance.now() - began) / 1000).toFixed(1)} s`;
  running = rt.exec(editor.value, { interrupt });
  try {
    const { error } = await running;
    if (error && error.trimEnd().split("\n").at(-1) === "KeyboardInterrupt") {
      write(error, "stderr"); // where it stopped: not an error of the code's
      note(`Stopped after ${seconds()}.`);
    } else if (error) {
      write(error, "error");
      note(`Failed after ${seconds()}.`);
    } else {
      note(`Finished in ${seconds()}.`);
    }
  } catch (e) {
    if (!stopping) write(`${e.message}\n`, "error"); // the worker itself failed
  } finally {
    running = null;
    stopButton.disabled = true;
  }
  if (stopping) return; // halt() takes it from here
  if (rt.failure) {
    note("A fresh worker is starting.");
    connect();
  } else {
    setStatus("ready");
    runButton.disabled = false;
  }
}

async function halt() {
  if (!running || stopping) return;
  stopping = true;
  stopButton.disabled = true;
  setStatus("stopping…");
  const run = running;
  if (interrupt) {
    Atomics.store(interrupt, 0, 2);
    const settled = await Promise.race([run.then(() => true, () => true), new Promise((r) => setTimeout(r, GRACE_MS))]);
    if (settled) {
      stopping = false;
      setStatus("ready");
      runButton.disabled = false;
      return;
    }
  }
  // not isolated, or Python did not get to notice (a long numpy call, a promise that never settles)
  rt.terminate();
  await run.catch(() => {});
  note(
    "Stopped: Python could not be interrupted here, so its worker was ended and a fresh one is starting " +
      "(what the code had imported or opened, the WebGPU device included, starts over).",
  );
  stopping = false;
  connect();
}

runButton.addEventListener("click", start);
stopButton.addEventListener("click", halt);

const offered = [...examples.options].map((o) => o.value);
for (const name of offered) load(name).catch(() => {}); // all at once, so that a switch is instant; show() reports a failure
await show(offered.includes(kept.example) ? kept.example : offered[0]);
connect();
