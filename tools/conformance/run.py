"""ONNX conformance, the one command: every case on the native paths (CPython: numpy, wgpu-py)
and, with --browser, in Chromium too (Pyodide, SwiftShader WebGPU), then docs/onnx-conformance.md.

    python3 tools/conformance/run.py --browser       # every case on all four paths, then the doc
    python3 tools/conformance/run.py                 # the native paths only, to the terminal
    python3 tools/conformance/run.py --only Conv     # a subset, to the terminal

The doc describes one tree on every path and lists every case, so only a full run writes it:
--browser, and no --only, --kinds, --paths or --print. Cases, tolerances and paths:
tools/onnx_conformance.py; the browser half: tools/conformance/chromium.py.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools import onnx_conformance as conf  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--browser", action="store_true", help="also the browser paths, in Chromium")
    p.add_argument("--only", help="run only cases whose name contains this")
    p.add_argument("--kinds", default=",".join(conf.KINDS), help=f"comma-separated, of {list(conf.KINDS)}")
    p.add_argument("--paths", default=",".join(conf.NATIVE), help=f"native paths, of {list(conf.NATIVE)}")
    p.add_argument("--print", action="store_true", help="print the totals, do not write the doc")
    p.add_argument("--out", default=conf.DOC, help="where the doc goes")
    p.add_argument("--json", help="also write the raw results here")
    args = p.parse_args(argv)
    selected = conf.cases(kinds=args.kinds.split(","), only=args.only)
    environments = {}
    if args.browser:  # first: a browser sweep that fails (a request leaving 127.0.0.1) writes nothing
        from tools.conformance import chromium

        browser, environment = chromium.run(selected)
    results = asyncio.run(conf.run(selected, [s for s in args.paths.split(",") if s]))
    if args.browser:
        for path, res in browser.items():
            conf.merge(results, path, res)
            environments[path] = environment
    for path, c in conf.totals(results).items():
        print(f"{path}: {c['pass']} pass, {c['fail']} fail, {c['not run']} not run")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    full = args.browser and len(selected) == len(conf.cases()) and args.paths == ",".join(conf.NATIVE)
    if full and not args.print:
        conf.write_doc(results, args.out, environments)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
