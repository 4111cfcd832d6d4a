"""The CPU path: numpy kernels, one table from op type to kernel, a straight-line executor.

In Pyodide, Conv, Gemm and MatMul run on the wasm SIMD GEMM kernels where they load (fused.py,
wasm.py); natively numpy's matmul is OpenBLAS already, and stays.
"""

import ctypes
import functools
import os
import sys

import numpy as np

from . import elementwise, fused, gradients, movement, nn, reduce, wasm

KERNELS = {**elementwise.KERNELS, **nn.KERNELS, **movement.KERNELS, **reduce.KERNELS, **gradients.KERNELS}


def keep_freed_memory():
    """Asks glibc's malloc to keep freed memory for reuse instead of returning it to the system.

    Every numpy kernel allocates its result. With glibc's defaults, arrays of a few MB come from
    fresh mmap pages or a heap that is trimmed on free, so each op pays the kernel for zeroed pages
    again: a third of a CPU training step went there. Keeping up to 1 GiB of freed heap makes the
    next array of the same size reuse warm pages, as PyTorch's CPU allocator does. Linux with glibc
    only (Pyodide's memory never shrinks anyway); PYCORE_MALLOC=default leaves malloc alone.
    """
    if sys.platform != "linux" or os.environ.get("PYCORE_MALLOC") == "default":
        return False
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version"):
        return False  # musl and others: their own policies
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30) and libc.mallopt(m_trim_threshold, 1 << 30))


keep_freed_memory()


def _read_until(graph):
    """For each node, the index of the last node that may read its outputs, directly or through a
    view that another kernel handed back (any op but the fused ones may return a view of an input);
    len(nodes) where a graph output may be one. A planned buffer is free for reuse after that."""
    ends, reach = list(range(len(graph.nodes))), {}  # reach: tensor -> nodes whose outputs it may view
    for i, n in enumerate(graph.nodes):
        for t in n.inputs:
            for j in reach.get(t, ()):
                ends[j] = max(ends[j], i)
        views = {i} if n.op in fused.FRESH else set().union(*(reach.get(t, set()) for t in n.inputs))
        reach.update((t, views) for t in n.outputs)
    for t in graph.outputs:
        for j in reach.get(t, ()):
            ends[j] = len(graph.nodes)
    return ends


class CPUBackend:
    name = "cpu"

    def __init__(self, graph, kernels="auto", planned=True):
        """kernels: which fused kernels run Conv, Gemm and MatMul, one of wasm.CHOICES (auto: the
        fastest wasm kernels that load, numpy where none does; `note` says which ran and why), or
        runners as wasm.fused_kernels gives them (the unit tests' wasmtime-run kernels). planned:
        whether their nodes are prepared once (fused.Planner); False resolves all at each call, as
        the kernel table does (what tools/bench/wasm_models.py compares the plan with)."""
        self.graph = graph
        runners, self.note = wasm.fused_kernels(kernels) if isinstance(kernels, str) else (kernels, "")
        table = {**KERNELS, **fused.kernels(runners)} if runners else KERNELS
        self.consts = {k: np.asarray(v, order="C") for k, v in graph.weights.items()}  # keeps 0-d 0-d
        missing = sorted({n.op for n in graph.nodes} - KERNELS.keys())
        if missing:
            raise NotImplementedError(f"the CPU path has no kernel for {missing}")
        last_use = {}
        for i, n in enumerate(graph.nodes):
            for t in n.inputs:
                last_use[t] = i
        keep = set(graph.outputs) | set(self.consts)
        # the fused nodes prepared once, their buffers reused by every run (fused.Planner)
        self.planner = fused.Planner(runners) if runners and planned else None
        ends = _read_until(graph)
        self.plan = [
            (
                self.planner
                and self.planner.prepare(n, self.consts, graph.shapes, (i, ends[i]))
                or functools.partial(table[n.op], n.attrs),
                n.inputs,
                n.outputs,
                [t for t in set(n.inputs) if t and last_use[t] == i and t not in keep],
            )
            for i, n in enumerate(graph.nodes)
        ]

    @classmethod
    async def create(cls, graph, kernels="auto"):
        return cls(graph, kernels)

    async def run(self, feeds):
        return self.run_sync(feeds)

    def run_sync(self, feeds):
        env = dict(self.consts)
        env.update(feeds)
        for run, ins, outs, dead in self.plan:
            result = run(*[env[t] if t else None for t in ins])
            if len(outs) == 1:
                env[outs[0]] = result
            else:
                env.update(zip(outs, result))
            for t in dead:
                del env[t]
        return {t: self._handed_out(env[t]) for t in self.graph.outputs}

    def _handed_out(self, x):
        """x, or a copy of it where it lies in a planned buffer that the next run overwrites."""
        return x.copy() if self.planner and isinstance(x, np.ndarray) and self.planner.owns(x) else x
