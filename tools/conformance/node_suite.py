"""The ONNX backend node suite on the native paths: every per-op case that
`onnx.backend.test.loader.load_node_model_tests()` generates (the installed onnx wheel ships them
as generators, not files), converted by pycore, run, and compared with the case's own outputs at
the case's own rtol/atol (the onnx runner's comparison, `tools/onnx_conformance.compare`).

    python3 tools/conformance/node_suite.py                      # every case, CPU path
    python3 tools/conformance/node_suite.py --paths cpu-native,webgpu-native --only reduce

Each case ends as one of: pass; wrong (it ran and gave another answer); refused (a PycoreError,
at conversion or at run time: the clear "not supported" answer); crash (any other exception, or
past the time limit). Cases run one after another in this process, each under its own alarm.
"""

import argparse
import asyncio
import json
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pycore  # noqa: E402
from pycore.onnx import ValueNeeded, convert  # noqa: E402
from tools import onnx_conformance as conf  # noqa: E402

STATUSES = ("pass", "wrong", "refused", "crash")
# cpu-native passes that tests/unit/test_node_suite.py holds the sweep to (and the doc cites):
# raise it when more cases pass, never lower it
FLOOR = 1302
GROUPS = 15  # refusal groups the doc lists


class TimeLimit(Exception):
    pass


def _alarm(signum, frame):
    raise TimeLimit()


def node_cases(only=None):
    import warnings

    from onnx.backend.test.loader import load_node_model_tests

    with warnings.catch_warnings(), np.errstate(all="ignore"):  # the generators divide by zero on purpose
        warnings.simplefilter("ignore")
        return [c for c in load_node_model_tests() if not only or only in c.name]


def node_cases_of(*ops):
    """The cases of some ops only ("Resize", ...): importing an op's module of
    onnx.backend.test.case.node registers its cases, a second or two, where load_node_model_tests
    takes ten."""
    import importlib
    import warnings

    from onnx.backend.test.case import node as registry

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for op in ops:
            importlib.import_module(f"onnx.backend.test.case.node.{op.lower()}")
    return [c for c in registry._NodeTestCases if c.model.graph.node[0].op_type in ops]


# where the suite's own outputs depart from the spec, the spec's answer (which onnxruntime and
# PyTorch give too): align_corners where scale * input is not whole (4 * 0.6 = 2.4 into 2
# outputs), whose reference divides by 2.4 - 1 where the spec divides by the output length - 1
SPEC_OVER_SUITE = {"test_resize_downsample_scales_linear_align_corners": [[[[1.0, 4.0]]]]}


def expected(case):
    """The case's expected outputs, as numpy: the spec's answer where the suite departs from it."""
    if case.name in SPEC_OVER_SUITE:
        return [np.array(SPEC_OVER_SUITE[case.name], np.float32)]
    return list(map(_array, case.data_sets[0][1]))


def folded(case):
    """(model, feeds, expected) with every graph input after the first made an initializer holding
    the case's value: what a model exported with constant scales, sizes or bounds looks like."""
    import copy

    from onnx import numpy_helper

    model = copy.deepcopy(case.model)
    inputs = case.data_sets[0][0]
    graph = model.graph
    real = _real_inputs(graph)
    for given, value in list(zip(real, inputs))[1:]:
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), given.name))
        graph.input.remove(given)
    return model, {real[0].name: inputs[0]}, expected(case)


def _first_problem(error):
    """The first line of a refusal; of a list of unsupported constructs, the first one listed."""
    lines = str(error).split("\n")
    return lines[1].strip() if len(lines) > 1 and lines[0].endswith("construct(s):") else lines[0]


def _cause(detail):
    """A refusal without the node or graph input it names (its op kept), so that cases refused for
    one cause group."""
    detail = re.sub(r"^node '.*?' \((\w+), opset \d+\): ", r"\1: ", detail.removeprefix("run: "))
    detail = re.sub(r"tensor '[^']*'( \(read by .*?\))?", "a tensor", detail)
    return re.sub(r"^graph input '[^']*'", "graph input", detail)


def _array(value):
    """A case's input or output as numpy: the cases of float16 and other narrow types give TensorProtos."""
    from onnx import TensorProto, numpy_helper

    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else np.asarray(value)


def data(case, graph):
    """(feeds by name of the converted graph's inputs, expected outputs) of a case."""
    inputs = list(map(_array, case.data_sets[0][0]))
    names = [i.name for i in _real_inputs(case.model.graph)]
    return {n: v for n, v in zip(names, inputs) if n in {i.name for i in graph.inputs}}, expected(case)


# the dtypes a page hands the worker as typed arrays (web/pycore.js run): not float16, which
# Pyodide does not convert
IN_A_PAGE = pycore.ops.DTYPES - {"float16"}


class InAPage:
    """A node-suite case as onnx_conformance.export takes it, for tools/conformance/chromium.py:
    one whose inputs a page can give (`fits`)."""

    kind = "node"

    def __init__(self, case):
        self.case, self.name, self.rtol, self.atol = case, case.name, case.rtol, case.atol

    def fits(self):
        return all(_array(v).dtype.name in IN_A_PAGE for v in self.case.data_sets[0][0])

    def source(self):
        return self.case.model

    def feeds(self, graph):
        return data(self.case, graph)[0]

    def reference(self, source):
        return data(self.case, convert(source))[1], None


# an input that decides a shape is given at conversion (convert's `values`) when it holds at most
# this many numbers: axes, pads, sizes, a window length; never an image
MAX_VALUE = 16


def convert_case(case):
    """(graph, detail) for a case: converted as it is, or with the inputs that decide a shape given
    their values from the case's data (convert's `values`, as a user gives them with --value), when
    pycore names them (ValueNeeded) and they are small. The detail names those inputs, else None."""
    inputs = {i.name: v for i, v in zip(_real_inputs(case.model.graph), case.data_sets[0][0])}
    values = {}
    while True:
        try:
            graph = convert(case.model, values=values)
            break
        except ValueNeeded as e:
            wanted = {i: _array(inputs[i]) for i in e.inputs if i not in values and i in inputs}
            if len(wanted) != len(e.inputs) or any(v.size > MAX_VALUE for v in wanted.values()):
                raise
            values.update(wanted)
    return graph, ("values given at conversion: " + ", ".join(values)) if values else None


def _real_inputs(graph):
    return [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]


async def run_case(case, paths, device):
    """{path: (status, detail)} for one case."""
    try:
        graph, given = convert_case(case)
    except pycore.PycoreError as e:
        return {p: ("refused", _first_problem(e)) for p in paths}
    except Exception as e:
        return {p: ("crash", f"conversion: {type(e).__name__}: {e}") for p in paths}
    feeds, expected = data(case, graph)
    files = conf.serialise(graph)
    out = {}
    for path in paths:
        try:
            got, _ = await conf.run_path(path, files, feeds, graph.outputs, device)
            ok, err, why = conf.compare(got, expected, case.rtol, case.atol)
            out[path] = ("pass", given) if ok else ("wrong", f"{why} (max error {err})")
        except pycore.PycoreError as e:
            out[path] = ("refused", f"run: {str(e).splitlines()[0]}")
        except TimeLimit:
            raise
        except Exception as e:
            out[path] = ("crash", f"run: {type(e).__name__}: {e}")
    return out


async def sweep(cases, paths, limit_s=30, log=print):
    device = None
    if "webgpu-native" in paths:
        device, why = await conf.open_webgpu()
        if device is None:
            raise SystemExit(f"webgpu-native cannot run here: {why}")
    before = signal.signal(signal.SIGALRM, _alarm)
    results = {}
    try:
        for case in cases:
            signal.alarm(limit_s)
            try:
                with np.errstate(all="ignore"):
                    results[case.name] = await run_case(case, paths, device)
            except TimeLimit:
                results[case.name] = {p: ("crash", f"over the {limit_s} s time limit") for p in paths}
            finally:
                signal.alarm(0)
            log(f"{case.name}: " + ", ".join(f"{p} {results[case.name][p][0]}" for p in paths))
    finally:
        signal.signal(signal.SIGALRM, before)  # a test session's own handler, say
    return results


def counts(results, path):
    c = Counter(r[path][0] for r in results.values())
    return {s: c[s] for s in STATUSES}


def given(results, path):
    """How many passes had inputs given their values at conversion."""
    return sum(1 for r in results.values() if r[path][0] == "pass" and r[path][1])


def refusal_groups(results, path):
    """[(first line of the refusal without its node, case count)], largest first: the same cause
    named by many cases ("op Attention is not supported by pycore") is one group."""
    groups = Counter(_cause(r[path][1]) for r in results.values() if r[path][0] == "refused")
    return groups.most_common()


def doc_section(results, paths, command):
    """The doc's "Node suite" section (onnx_conformance.NODE_SUITE) for this sweep."""
    lines = [
        conf.NODE_SUITE,
        "",
        f"Generated by `{command}` (onnx {onnx_version()}): every case of the ONNX backend node suite "
        "(`onnx.backend.test.loader.load_node_model_tests()`), converted and run as it is, its graph "
        "inputs fed at run time, and compared with the case's own outputs at its own rtol/atol. A "
        "graph input that decides a shape (axes, pads, sizes, a window length; at most "
        f"{MAX_VALUE} numbers) is given its case's value at conversion, as a user gives it with "
        f"`--value` (`convert_case`): {given(results, paths[0])} of {paths[0]}'s passes. Where the "
        "suite's outputs depart from the spec, the spec's answer is expected (`SPEC_OVER_SUITE`). "
        "A float16 output may differ by two units in its last place (`HALF_RTOL` in "
        "tools/onnx_conformance.py): the suite's references round after every op, onnxruntime and "
        "pycore's WebGPU kernels once per kernel. "
        "Refused: pycore said clearly, with a PycoreError, that it does not support the case. The "
        "WebGPU path holds float32 as f32, int64 and int32 as i32 (refusing values beyond int32), "
        "bool as u32 and float16 as f16 (lavapipe has shader-f16); it refuses other dtypes, and an "
        "op without a kernel for a dtype (such a model stays on the CPU path). Ops that ONNX "
        "defines as functions of other ops are converted through that function body "
        "(pycore/onnx/functions.py). "
        f"`tests/unit/test_node_suite.py` sweeps cpu-native in CI and holds it to at least {FLOOR} "
        "passes, 0 wrong and 0 crash (`FLOOR` in `tools/conformance/node_suite.py`).",
        "",
        "| path | cases | pass | wrong | refused | crash |",
        "|---|---|---|---|---|---|",
    ]
    for path in paths:
        c = counts(results, path)
        lines.append(f"| {path} | {len(results)} | " + " | ".join(str(c[s]) for s in STATUSES) + " |")
    for path in paths:
        lines += ["", f"Why {path} refuses (the {GROUPS} largest groups, by the refusal's first line):", ""]
        lines += [f"- {n}: {why}" for why, n in refusal_groups(results, path)[:GROUPS]]
    return "\n".join(lines) + "\n"


def onnx_version():
    import onnx

    return onnx.__version__


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", help="run only cases whose name contains this")
    p.add_argument("--paths", default="cpu-native", help=f"comma-separated, of {list(conf.NATIVE)}")
    p.add_argument("--limit", type=int, default=30, help="seconds per case before it counts as a crash")
    p.add_argument("--quiet", action="store_true", help="print only the totals and the non-passes")
    p.add_argument("--json", help="also write {case: {path: [status, detail]}} here")
    p.add_argument("--doc", action="store_true", help=f"write the Node suite section of {conf.DOC}")
    args = p.parse_args(argv)
    paths = [s for s in args.paths.split(",") if s]
    start = time.perf_counter()
    log = (lambda line: None) if args.quiet else print
    results = asyncio.run(sweep(node_cases(args.only), paths, args.limit, log))
    for path in paths:
        c = counts(results, path)
        print(f"{path}: {len(results)} cases: " + ", ".join(f"{c[s]} {s}" for s in STATUSES))
        for name, r in results.items():
            if r[path][0] in ("wrong", "crash"):
                print(f"  {r[path][0]}: {name}: {r[path][1]}")
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.doc:
        command = "python3 tools/conformance/node_suite.py " + " ".join(argv or sys.argv[1:])
        conf.write_node_suite(doc_section(results, paths, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
