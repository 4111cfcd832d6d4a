"""The browser half of ONNX conformance: pycore's CPU path in Pyodide and its WebGPU path, in
Chromium, for `tools/conformance/run.py --browser` and tests/browser/test_onnx_browser.py.

Exports the converted cases into dist/conformance/cases/, serves dist/ on 127.0.0.1, opens
dist/conformance/index.html (this folder's page) in Debian Chromium (tools/browser.py FLAGS:
SwiftShader WebGPU) and runs every case through the real worker on both paths. Outputs come back
byte for byte and are compared here with the same `compare` and tolerances as the native paths.

Light models run each in a fresh page (their weights are up to 550 MB; a worker that ran out of
memory is not reused). A case that does not convert is a failure on both browser paths too.
"""

import base64
import json
import time
from pathlib import Path

import numpy as np

import build
from pycore import safetensors
from tools import onnx_conformance as conf
from tools.browser import launch, local_context, served

ROOT = Path(__file__).resolve().parents[2]
PAGE = build.DIST / "conformance"
PATHS = {"cpu": "cpu-pyodide", "webgpu": "webgpu-chromium"}
# Errors after which the worker cannot be trusted again: reload the page before the next case.
FATAL = ("fatally failed", "Aborted(", "out of memory", "worker failed", "timed out", "Target crashed")


def install():
    for name in ("index.html", "conformance.js"):
        build.copy_if_changed(ROOT / "tools" / "conformance" / name, PAGE / name)


def export(selected):
    """Converted cases in dist/conformance/cases/; per-op cases first, light models by size."""
    index = conf.export(selected, PAGE / "cases")
    size = lambda e: (PAGE / "cases" / e["name"] / "weights.safetensors").stat().st_size  # noqa: E731
    return sorted(index, key=lambda e: (e["kind"] == "light", size(e) if e["kind"] == "light" else 0))


class Runner:
    """One Chromium page with the conformance page loaded; reopened after a fatal error."""

    def __init__(self, context, url, log=print):
        self.context, self.url, self.log = context, url, log
        self.page, self.console = None, []
        self.errors = []  # console errors and uncaught exceptions of every page, for tests
        self.environment = None

    def open(self):
        if self.page is not None:
            self.page.close()
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("crash", lambda _: self.console.append("Target crashed"))
        self.page.goto(f"{self.url}/conformance/index.html")
        self.page.wait_for_function("window.conformance !== undefined")
        self.environment = self.page.evaluate("conformance.boot()")
        return self

    def _console(self, message):
        if message.type in ("warning", "error"):
            self.console.append(message.text)
        if message.type == "error":
            self.errors.append(message.text)

    def run(self, entry, timeout_s=600):
        """{conf path: {"status", "max_error", "error", "ms"}} for one exported case."""
        if self.page is None:
            self.open()
        self.console = []
        start = time.perf_counter()
        try:
            raw = self.page.evaluate(
                "([name, paths, ms]) => Promise.race([conformance.run(name, paths), new Promise((ok) => "
                "setTimeout(() => ok({timeout: `timed out after ${ms / 1000} s`}), ms))])",
                [entry["name"], list(PATHS), timeout_s * 1000],
            )
        except Exception as e:  # the page itself died (crash, out of memory in the renderer)
            raw = {"timeout": f"the page failed: {str(e).splitlines()[0]}"}
        wall = time.perf_counter() - start
        if "timeout" in raw:
            raw = {p: {"error": raw["timeout"]} for p in PATHS}
        expected = safetensors.read((PAGE / "cases" / entry["name"] / "data.safetensors").read_bytes())
        expected = [expected[f"expected/{k}"] for k in range(len(entry["outputs"]))]
        out = {}
        for path, column in PATHS.items():
            r = raw[path]
            if "error" in r:
                why = r["error"]
                gpu = [m for m in self.console if "WebGPU" in m or "GPU" in m]
                if path == "webgpu" and gpu:
                    why += f" (console: {gpu[0][:300]})"
                out[column] = {"status": "fail", "max_error": None, "error": why, "ms": None}
                continue
            got = [_array(r["outputs"][t]) for t in entry["outputs"]]
            ok, err, why = conf.compare(got, expected, entry["rtol"], entry["atol"])
            gpu = [m for m in self.console if "GPU" in m]
            if not ok and path == "webgpu" and gpu:  # an uncaptured validation error explains zeros
                why = f"{why} (console: {gpu[0][:300]})"
            out[column] = {
                "status": "pass" if ok else "fail",
                "max_error": err,
                "error": why,
                "ms": r["latencyMs"],
            }
        errors = " ".join(str(r.get("error")) for r in out.values())
        if any(f in errors for f in FATAL) or any(f in m for m in self.console for f in FATAL):
            self.log(f"  {entry['name']}: the worker cannot be reused; reopening the page")
            self.page.close()
            self.page = None
        out["wall_s"] = wall
        return out


def _array(o):
    """An output as the worker sent it: its dtype's bytes, bool as 0/1 bytes, float16 widened."""
    dtype = {"bool": np.uint8, "float16": np.float32}.get(o["dtype"], o["dtype"])
    data = np.frombuffer(base64.b64decode(o["base64"]), dtype).reshape(o["shape"])
    return data.astype(bool) if o["dtype"] == "bool" else data


def sweep(runner, entries, fresh=lambda e: False, log=print):
    """{conf path: {case: result}} over exported cases; `fresh(entry)` opens a new page first."""
    results = {column: {} for column in PATHS.values()}
    for entry in entries:
        if fresh(entry) and runner.page is not None:
            runner.page.close()
            runner.page = None
        r = runner.run(entry)
        for column in PATHS.values():
            results[column][entry["name"]] = r[column]
        cells = ", ".join(f"{c} {r[c]['status']}" for c in PATHS.values())
        log(f"{entry['kind']}/{entry['name']}: {cells} ({r['wall_s']:.1f} s)")
        for c in PATHS.values():
            if r[c]["status"] == "fail":
                log(f"    {c}: {r[c]['error']}")
    return results


def quietly(browser, site, selected):
    """(exported entries, {conf path: {case: result}}, the page's Runner, requests that left
    127.0.0.1) for the selected cases in a fresh context of `browser` on the site being served,
    logging nothing: the browser tests' sweep. The caller checks the requests and `runner.errors`."""
    install()
    entries = export(selected)
    context, external = local_context(browser)
    session = Runner(context, site, log=lambda line: None).open()
    results = sweep(session, entries, log=lambda line: None)
    context.close()
    return entries, results, session, external


def run(selected, log=print):
    """({conf path: {case: result}}, the environment) of the browser paths over the selected cases."""
    from playwright.sync_api import sync_playwright

    build.build()
    install()
    t = time.perf_counter()
    entries = export(selected)
    log(f"{len(entries)} of {len(selected)} cases converted and exported in {time.perf_counter() - t:.0f} s")
    with served(build.DIST) as url, sync_playwright() as pw:
        browser = launch(pw.chromium)
        context, external = local_context(browser)
        runner = Runner(context, url, log).open()
        adapter = runner.environment["adapter"]
        log(f"WebGPU adapter: {adapter}")
        t = time.perf_counter()
        results = sweep(runner, entries, fresh=lambda e: e["kind"] == "light", log=log)
        log(f"browser sweep: {time.perf_counter() - t:.0f} s")
        version = browser.version
        browser.close()
    if external:
        raise SystemExit(f"requests left 127.0.0.1: {external}")
    exported = {e["name"] for e in entries}
    for res in results.values():
        for case in selected:  # conversion happens at build time; its failure fails every path
            if case.name not in exported:
                res[case.name] = {"status": "fail", "max_error": None, "error": "conversion failed"}
    pyodide = json.loads((build.NODE / "pyodide" / "package.json").read_text())["version"]
    return results, f"Chromium {version}, Pyodide {pyodide}, WebGPU adapter: {adapter}"
