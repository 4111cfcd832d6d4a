"""Optimisers with PyTorch's update rules and defaults: SGD (momentum, dampening, nesterov, weight
decay), Adam and AdamW. Updates are Tensor ops, so they run on the parameters' device; state
(momentum buffers, moments) is a tensor per parameter."""

from .autograd import no_grad
from .errors import PycoreError
from .tensors import tensor, zeros, zeros_like


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
        """(parameter, gradient, state) for every parameter; one without a gradient is an error."""
        missing = [i for i, p in enumerate(self.params) if p.grad is None]
        if missing:
            shapes = ", ".join(f"#{i} {list(self.params[i].shape)}" for i in missing[:5])
            raise PycoreError(
                f"{type(self).__name__}.step(): {len(missing)} parameter(s) have no gradient ({shapes}); "
                "call loss.backward() first, or leave parameters the loss does not use out of the optimiser"
            )
        return [(p, p.grad.to(dtype=p.dtype), s) for p, s in zip(self.params, self.state)]

    def step(self):
        """Updates every parameter in Tensor ops, on its own device (lazily on webgpu)."""
        self.steps += 1
        with no_grad():
            for p, g, s in self._grads():
                p.assign_(self.update(p.detach(), g, s))

    def update(self, w, g, state):
        """The new value of parameter w (a Tensor) from its gradient g; may update state."""
        raise NotImplementedError

    def state_dict(self):
        return {
            "steps": self.steps,
            "state": [{k: v.numpy().copy() for k, v in s.items()} for s in self.state],
        }

    def load_state_dict(self, state):
        self.steps = state["steps"]
        self.state = [
            {k: tensor(v, device=p.device) for k, v in s.items()} for p, s in zip(self.params, state["state"])
        ]


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
                s["momentum_buffer"] = g * 1  # a tensor of its own, updated in place from now on
            else:
                s["momentum_buffer"].assign_(s["momentum_buffer"] * self.momentum + (1 - self.dampening) * g)
            buf = s["momentum_buffer"]
            g = g + self.momentum * buf if self.nesterov else buf
        return w - self.lr * g


class Adam(Optimizer):
    decoupled = False  # AdamW decays the weights themselves, not through the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def update(self, w, g, s):
        b1, b2 = self.betas
        if self.weight_decay and self.decoupled:
            w = w * (1 - self.lr * self.weight_decay)
        elif self.weight_decay:
            g = g + self.weight_decay * w
        if not s:  # moments start at zero, and so do the bias corrections 1 - beta ** t
            s["exp_avg"], s["exp_avg_sq"] = zeros_like(w), zeros_like(w)
            s["correction1"], s["correction2"] = zeros((), device=w.device), zeros((), device=w.device)
        # the corrections are tensors, so a captured step counts too; c = beta * c + (1 - beta) sums
        # positive terms, where 1 - beta ** t in float32 would cancel (1 - 0.999 keeps 4 digits)
        c1 = s["correction1"].assign_(s["correction1"] * b1 + (1 - b1))
        c2 = s["correction2"].assign_(s["correction2"] * b2 + (1 - b2))
        m = s["exp_avg"].assign_(s["exp_avg"] * b1 + (1 - b1) * g)
        v = s["exp_avg_sq"].assign_(s["exp_avg_sq"] * b2 + (1 - b2) * g * g)
        denom = v.sqrt() / c2.sqrt() + self.eps
        return w - (self.lr / c1) * m / denom


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)
