"""The CPU path: numpy kernels, one table from op type to kernel, a straight-line executor."""

import numpy as np

from . import elementwise, gradients, nn, tensor

KERNELS = {**elementwise.KERNELS, **nn.KERNELS, **tensor.KERNELS, **gradients.KERNELS}


class CPUBackend:
    name = "cpu"

    def __init__(self, graph):
        self.graph = graph
        self.consts = {k: np.asarray(v, order="C") for k, v in graph.weights.items()}  # keeps 0-d 0-d
        missing = sorted({n.op for n in graph.nodes} - KERNELS.keys())
        if missing:
            raise NotImplementedError(f"the CPU path has no kernel for {missing}")
        last_use = {}
        for i, n in enumerate(graph.nodes):
            for t in n.inputs:
                last_use[t] = i
        keep = set(graph.outputs) | set(self.consts)
        self.plan = [
            (
                KERNELS[n.op],
                n.attrs,
                n.inputs,
                n.outputs,
                [t for t in set(n.inputs) if t and last_use[t] == i and t not in keep],
            )
            for i, n in enumerate(graph.nodes)
        ]

    @classmethod
    async def create(cls, graph, **options):
        return cls(graph)

    async def run(self, feeds):
        return self.run_sync(feeds)

    def run_sync(self, feeds):
        env = dict(self.consts)
        env.update(feeds)
        for kernel, attrs, ins, outs, dead in self.plan:
            result = kernel(attrs, *[env[t] if t else None for t in ins])
            if len(outs) == 1:
                env[outs[0]] = result
            else:
                env.update(zip(outs, result))
            for t in dead:
                del env[t]
        return {t: env[t] for t in self.graph.outputs}
