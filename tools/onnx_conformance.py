"""ONNX conformance: the models the onnx wheel ships for backend tests, each converted, run on the
native execution paths and compared with the shipped reference outputs, and the report
docs/onnx-conformance.md. The command is `python3 tools/conformance/run.py [--browser]`.

Cases: onnx/backend/test/data/light (nine classic CNNs, with their ConstantOfShape weight fills
replaced by seeded random weights, run on a seeded random input and compared with onnxruntime on the
same graph: tools/seeded_light.py says why) and
pytorch-converted/ and pytorch-operator/ (model.onnx + test_data_set_0/{input,output}_k.pb, compared
with the shipped outputs). Tolerances: rtol 1e-3 and atol 1e-7 (the onnx runner's) for the per-op
cases; for the light models rtol 1e-3 and atol 1e-4 of the output's largest magnitude, since two
float32 runtimes (or one with its graph optimisations on and off) differ by about 1e-5 of it
after a hundred layers.

Paths: cpu-native and webgpu-native run here; webgpu-native only when pycore.webgpu imports and an
adapter opens, otherwise it is reported "not run", never "pass". The browser paths (cpu-pyodide,
webgpu-chromium) are run in Chromium by tools/conformance/chromium.py on the cases `export` writes,
and `merge` adds their results.
"""

import glob
import json
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import pycore  # noqa: E402
from pycore import quantize, safetensors  # noqa: E402
from pycore.onnx import convert  # noqa: E402
from tools import seeded_light  # noqa: E402

DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
KINDS = ("light", "pytorch-converted", "pytorch-operator")
PATHS = {
    "cpu-native": "CPU path, CPython + numpy",
    "webgpu-native": "WebGPU path, CPython + wgpu-py",
    "cpu-pyodide": "CPU path, Pyodide in Chromium (tools/conformance/run.py --browser)",
    "webgpu-chromium": "WebGPU path in Chromium, SwiftShader adapter (tools/conformance/run.py --browser)",
}
NATIVE = ("cpu-native", "webgpu-native")
DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "onnx-conformance.md")


@dataclass
class Case:
    kind: str
    name: str
    model: str
    data: str = None  # test_data_set_0 folder; None for light models
    rtol: float = 1e-3
    atol: float = 1e-7  # None: 1e-4 of the largest |expected value|, per output

    def ops(self):
        return sorted({n.op_type for n in onnx.load(self.model, load_external_data=False).graph.node})

    def feeds(self, graph):
        """Input arrays by name, in the order of the graph's (non-initializer) inputs."""
        if self.kind == "light":
            return seeded_light.inputs({i.name: tuple(i.shape) for i in graph.inputs})
        files = sorted(glob.glob(os.path.join(self.data, "input_*.pb")), key=_index)
        return {i.name: _read(f) for i, f in zip(graph.inputs, files)}

    def source(self):
        """What every path converts: the case's file, or a light model with seeded weights."""
        return seeded_light.seeded(self.model) if self.kind == "light" else self.model

    def reference(self, source):
        """(expected outputs, largest |activation| on the way or None) for `source`."""
        if self.kind == "light":
            feeds = seeded_light.inputs(seeded_light.input_shapes(source.graph))
            return seeded_light.reference(source, feeds)
        files = sorted(glob.glob(os.path.join(self.data, "output_*.pb")), key=_index)
        return [_read(f) for f in files], None


def _index(path):
    return int(os.path.basename(path).split("_")[1].split(".")[0])


def _read(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


def cases(kinds=KINDS, only=None):
    out = []
    for kind in kinds:
        if kind == "light":
            for m in sorted(glob.glob(os.path.join(DATA, "light", "light_*.onnx"))):
                name = os.path.basename(m)[len("light_") : -len(".onnx")]
                out.append(Case(kind, name, m, atol=None))
        else:
            for d in sorted(glob.glob(os.path.join(DATA, kind, "test_*"))):
                out.append(
                    Case(kind, os.path.basename(d), os.path.join(d, "model.onnx"), d + "/test_data_set_0")
                )
    return [c for c in out if not only or only in c.name]


# two units in the last place of float16's 11-bit significand: a reference that rounds after every
# op and a path that rounds once per kernel (onnxruntime's, pycore's WebGPU) part by up to that much
HALF_RTOL = 2.0**-9


def compare(got, expected, rtol, atol):
    """(passed, max abs error, why) over all outputs; NaN where the reference has NaN is a match."""
    worst = 0.0
    for k, (y, r) in enumerate(zip(got, expected)):
        y = np.asarray(y)
        if y.shape != r.shape:
            return False, None, f"output {k}: shape {list(y.shape)}, expected {list(r.shape)}"
        rel = max(rtol, HALF_RTOL) if r.dtype == np.float16 else rtol
        r = r.astype(np.float64 if y.dtype == np.float64 else np.float32)  # what pycore computed in
        tol = 1e-4 * float(np.abs(r).max(initial=0.0)) if atol is None else atol
        same = (np.isnan(y) & np.isnan(r)) | (y == r)  # NaN for NaN, and equal infinities, match
        with np.errstate(invalid="ignore"):  # inf - inf
            err = np.where(same, 0.0, np.abs(y - r))
        worst = max(worst, float(np.nan_to_num(err, nan=np.inf).max(initial=0.0)))
        if not np.allclose(y, r, rtol=rel, atol=tol, equal_nan=True):
            return False, worst, f"output {k} differs beyond rtol {rel}, atol {tol:.3g}"
    return len(got) == len(expected), worst, None if len(got) == len(expected) else "output count"


def serialise(graph):
    """The two files a browser would download, as bytes: what every path loads from."""
    doc = graph.to_json()
    return json.dumps(doc), safetensors.write(quantize.quantize(doc, graph.weights, "fp32"))


async def open_webgpu():
    """(device, None) or (None, why the native WebGPU path cannot run here)."""
    try:
        from pycore.webgpu.auto import open_device
    except ImportError as e:
        return None, f"pycore.webgpu is not available ({e})"
    try:
        return await open_device(), None
    except Exception as e:  # GPUUnavailable, or wgpu itself missing a native library
        return None, f"no WebGPU adapter ({e})"


async def run_path(path, files, feeds, outputs, device):
    model = pycore.Model.from_bytes(*files, source="conformance")
    if path == "webgpu-native":
        await model.use("webgpu", device=device)
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # some cases feed sqrt/pow negatives on purpose (NaN references)
        got = await model.backend.run(feeds)
    return [got[t] for t in outputs], (time.perf_counter() - start) * 1e3


async def run(selected, paths=NATIVE, log=print):
    """{case: {"kind", "ops", "conversion": error|None, path: {"status", "max_error", "error", "ms"}}}"""
    device, why_not = (await open_webgpu()) if "webgpu-native" in paths else (None, None)
    results = {}
    for case in selected:
        res = results[case.name] = {"kind": case.kind, "ops": case.ops(), "conversion": None}
        source = case.source()
        try:
            graph = convert(source)
        except pycore.PycoreError as e:
            res["conversion"] = str(e)
        files = serialise(graph) if res["conversion"] is None else None
        if files is not None:
            expected, res["largest_activation"] = case.reference(source)
        del source
        for path in PATHS:
            if path not in paths or (path == "webgpu-native" and device is None):
                res[path] = {"status": "not run", "error": why_not if path == "webgpu-native" else None}
            elif files is None:
                res[path] = {"status": "fail", "error": "conversion failed", "max_error": None}
            else:
                try:
                    got, ms = await run_path(path, files, case.feeds(graph), graph.outputs, device)
                    ok, err, why = compare(got, expected, case.rtol, case.atol)
                    res[path] = {"status": "pass" if ok else "fail", "max_error": err, "error": why, "ms": ms}
                except Exception as e:  # a crash on one path is that path's failure, not the sweep's
                    res[path] = {"status": "fail", "max_error": None, "error": f"{type(e).__name__}: {e}"}
        log(f"{case.kind}/{case.name}: " + ", ".join(f"{p} {res[p]['status']}" for p in paths))
    return results


def totals(results):
    out = {p: {"pass": 0, "fail": 0, "not run": 0} for p in PATHS}
    for res in results.values():
        for p in PATHS:
            out[p][res[p]["status"]] += 1
    return out


def merge(results, path, browser_results):
    """Adds one browser path's results, {case: {"status", "max_error", "error", "ms"}}."""
    if path not in PATHS or path in NATIVE:
        raise ValueError(f"{path!r} is not a browser path ({[p for p in PATHS if p not in NATIVE]})")
    for name, r in browser_results.items():
        if name in results:
            results[name][path] = {
                "status": r["status"],
                "max_error": r.get("max_error"),
                "error": r.get("error"),
                "ms": r.get("ms"),
            }


def export(selected, folder):
    """Converted cases for a browser runner: <case>/model.json, weights.safetensors, data.safetensors
    (input/<name>, expected/<k>), and index.json with tolerances and names."""
    index = []
    for case in selected:
        source = case.source()
        try:
            graph = convert(source)
        except pycore.PycoreError:
            continue
        doc, weights = serialise(graph)
        expected, _ = case.reference(source)
        del source
        os.makedirs(os.path.join(folder, case.name), exist_ok=True)
        data = {f"input/{k}": v for k, v in case.feeds(graph).items()}
        data.update({f"expected/{k}": np.asarray(v) for k, v in enumerate(expected)})
        for fname, blob in [
            ("model.json", doc.encode()),
            ("weights.safetensors", weights),
            ("data.safetensors", safetensors.write(data)),
        ]:
            with open(os.path.join(folder, case.name, fname), "wb") as f:
                f.write(blob)
        index.append(
            {
                "name": case.name,
                "kind": case.kind,
                "rtol": case.rtol,
                "atol": case.atol,
                "inputs": [i.name for i in graph.inputs],
                "outputs": graph.outputs,
            }
        )
    with open(os.path.join(folder, "index.json"), "w") as f:
        json.dump({"cases": index}, f, indent=1)
    return index


def _cell(r):
    if r["status"] == "not run":
        return "not run"
    err = "" if r.get("max_error") is None else f" ({r['max_error']:.1e})"
    why = " ".join(str(r.get("error") or "").split())  # one line: it goes into a table cell
    return f"{r['status']}{err}" + (f": {why}" if r["status"] == "fail" and why else "")


def reason(message):
    """A conversion error without its node prefix, to group failures by cause."""
    return message.split("): ", 1)[-1].split("\n")[0] if "): " in message else message


NODE_SUITE = "## Node suite"  # the section tools/conformance/node_suite.py --doc writes; write_doc keeps it


def node_suite_section(path=DOC):
    """The doc's node-suite section as it stands ("" if it has none), from its heading to the end."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return ""
    at = text.find("\n" + NODE_SUITE + "\n")
    return text[at + 1 :] if at >= 0 else ""


def write_node_suite(section, path=DOC):
    """Replaces the doc's node-suite section (the last one) with `section`."""
    with open(path) as f:
        text = f.read()
    old = node_suite_section(path)
    body = text[: len(text) - len(old)] if old else text
    with open(path, "w") as f:
        f.write(body.rstrip("\n") + "\n\n" + section)


def light_note(results):
    largest = ", ".join(
        f"{name} {r['largest_activation']:.0f}"
        for name, r in results.items()
        if r["kind"] == "light" and r.get("largest_activation") is not None
    )
    return (
        "The light models ship with every weight a ConstantOfShape fill of 0.02: their activations "
        "reach about 1e10 and every class gets the same logit, so the shipped reference output is a "
        "softmax of 1000 equal numbers, and whether a runtime matches it depends on the summation order "
        "of the machine's BLAS (a relative difference of 1e-7 is a logit difference of 1e3). That "
        "reference is not used. Each fill is replaced by seeded random weights of the same shape "
        "(He-normal convolution and dense weights, biases and affine shifts near 0, scales near 1, "
        "and each batch norm's statistics those of its input on the test input), and every path is "
        "compared with onnxruntime on that same graph (`tools/seeded_light.py`). Largest |activation| "
        f"anywhere in each graph: {largest or 'not measured'}. The per-op cases below keep their "
        "shipped references, which are well conditioned."
    )


def write_doc(results, out=DOC, environments=None):
    t = totals(results)
    lines = [
        "# ONNX conformance",
        "",
        "Generated by `python3 tools/conformance/run.py --browser` (do not edit by hand); "
        f"onnx {onnx.__version__}, numpy {np.__version__}. Cases are the models the onnx wheel ships "
        "in `onnx/backend/test/data/{light,pytorch-converted,pytorch-operator}`, compared with their "
        "reference outputs (the light models: onnxruntime on the same seeded graph, see below). "
        "Max abs error in brackets. The native columns run in CPython; the browser columns (its "
        "`--browser` switch) run every case through pycore's Web Worker in headless Debian Chromium, "
        "their outputs compared here with the same code and tolerances.",
        "",
        "| path | pass | fail | not run |",
        "|---|---|---|---|",
    ]
    lines += [f"| {p}: {PATHS[p]} | {c['pass']} | {c['fail']} | {c['not run']} |" for p, c in t.items()]
    lines += [""] + [f"- {p} ran in {env}" for p, env in (environments or {}).items() if env]
    lines += ["", f"<!-- totals: {json.dumps(t)} -->", "", "## Why conversions fail", ""]
    reasons = {}
    for name, r in results.items():
        if r["conversion"]:
            reasons.setdefault(reason(r["conversion"]), []).append(name)
    lines += [
        f"- {why} ({len(n)}): {', '.join(n)}" for why, n in sorted(reasons.items(), key=lambda x: -len(x[1]))
    ]
    for kind in KINDS:
        lines += ["", f"## {kind}", ""] + ([light_note(results), ""] if kind == "light" else [])
        lines += [
            "| case | ONNX ops | conversion | " + " | ".join(PATHS) + " |",
            "|---" * (3 + len(PATHS)) + "|",
        ]
        for name, r in results.items():
            if r["kind"] == kind:
                conv = (
                    "ok" if r["conversion"] is None else r["conversion"].replace("\n", " ").replace("|", "/")
                )
                cells = " | ".join(_cell(r[p]).replace("|", "/") for p in PATHS)
                lines.append(f"| {name} | {' '.join(r['ops'])} | {conv} | {cells} |")
    kept = node_suite_section(out)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n" + ("\n" + kept if kept else ""))


def recorded_totals(path=DOC):
    """The totals committed in the doc, which tests hold as minimum pass counts."""
    with open(path) as f:
        for line in f:
            if line.startswith("<!-- totals: "):
                return json.loads(line[len("<!-- totals: ") : -len(" -->\n")])
    raise ValueError(f"{path}: no totals line")


def recorded_statuses(column, path=DOC):
    """{case: "pass"|"fail"|"not run"} of one path's column in the committed doc."""
    with open(path) as f:
        lines = f.read().splitlines()
    statuses, at = {}, None
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| case |"):
            at = cells.index(column)
        elif at is not None and line.startswith("| ") and not line.startswith("|---"):
            statuses[cells[0]] = next(s for s in ("pass", "fail", "not run") if cells[at].startswith(s))
        elif not line.startswith("|"):
            at = None
    return statuses
