"""Optimisers with PyTorch's update rules and defaults: SGD (momentum, dampening, nesterov, weight
decay), Adam and AdamW. State (momentum buffers, moments) lives beside each parameter and is
updated in place, so a training loop allocates nothing per step but the gradients."""

import math

import numpy as np

from .errors import PycoreError


class Optimizer:
    def __init__(self, params, defaults):
        self.params = list(params)
        if not self.params:
            raise PycoreError(f"{type(self).__name__}: got an empty parameter list")
        for p in self.params:
            if not getattr(p, "requires_grad", False):
                raise PycoreError(
                    f"{type(self).__name__}: a parameter of shape {list(p.shape)} does not require grad"
                )
        self.defaults = defaults
        for k, v in defaults.items():
            setattr(self, k, v)
        self.state = [{} for _ in self.params]
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def _grads(self):
        """(parameter, gradient array, state) for every parameter; one without a gradient is an error."""
        missing = [i for i, p in enumerate(self.params) if p.grad is None]
        if missing:
            shapes = ", ".join(f"#{i} {list(self.params[i].shape)}" for i in missing[:5])
            raise PycoreError(
                f"{type(self).__name__}.step(): {len(missing)} parameter(s) have no gradient ({shapes}); "
                "call loss.backward() first, or leave parameters the loss does not use out of the optimiser"
            )
        for p, s in zip(self.params, self.state):
            if p.data.flags.writeable is False:
                p.data = p.data.copy()
            yield p, p.grad.data.astype(p.data.dtype, copy=False), s

    def step(self):
        self.steps += 1
        for p, g, s in self._grads():
            self.update(p.data, g, s)

    def update(self, w, g, state):
        raise NotImplementedError

    def state_dict(self):
        return {"steps": self.steps, "state": [{k: v.copy() for k, v in s.items()} for s in self.state]}

    def load_state_dict(self, state):
        self.steps = state["steps"]
        self.state = [{k: np.array(v) for k, v in s.items()} for s in state["state"]]


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise PycoreError("SGD: nesterov momentum needs momentum > 0 and dampening 0")
        super().__init__(
            params,
            dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov),
        )

    def update(self, w, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * w
        if self.momentum:
            if "momentum_buffer" not in s:
                s["momentum_buffer"] = g.copy()
            else:
                buf = s["momentum_buffer"]
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            g = g + self.momentum * s["momentum_buffer"] if self.nesterov else s["momentum_buffer"]
        w -= self.lr * g


class Adam(Optimizer):
    decoupled = False  # AdamW decays the weights themselves, not through the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def update(self, w, g, s):
        b1, b2 = self.betas
        if self.weight_decay and self.decoupled:
            w *= 1 - self.lr * self.weight_decay
        elif self.weight_decay:
            g = g + self.weight_decay * w
        if not s:
            s["exp_avg"], s["exp_avg_sq"] = np.zeros_like(w), np.zeros_like(w)
        m, v = s["exp_avg"], s["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        t = self.steps
        denom = np.sqrt(v) / math.sqrt(1 - b2**t) + self.eps
        w -= (self.lr / (1 - b1**t)) * m / denom


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)
