"""Muon with a pluggable orthogonalizer (Jordan et al. 2024, "Muon: An optimizer for hidden
layers in neural networks"; the update of ``torch.optim.Muon``).

For each hidden 2-D weight W (m×n, torch's (out, in) layout) with gradient G:

    B ← μ B + (1 − μ) G                        momentum (``lerp``), μ = 0.95
    U = (1 − μ) G + μ B  if Nesterov, else B
    O = orthogonalize(U)                       the case's method, in the case's dtype
    W ← (1 − η λ) W − η √max(1, m/n) O         shape scaling of the public implementation

``orthogonalize`` is the case's method (``Kernel``); with Keller Jordan's Newton–Schulz it is
``torch.optim.Muon`` step for step. ``orthogonality_error`` keeps ‖OᵀO − I‖_F/√k (k = min(m,
n), OOᵀ for a wide O) of the outputs of every ``check_every``-th step, in float64, outside the
kernel's time: the kernel's accuracy on the gradients it actually saw.
"""

from __future__ import annotations

import math

import torch
from harness_builtins.training.kernels import Kernel


def orthogonality_error(output: torch.Tensor) -> float:
    """‖OᵀO − I‖_F / √k for O m×n, k = min(m, n) (the Gram matrix of the short side)."""
    Q = output.double()
    gram = Q.T @ Q if Q.shape[0] >= Q.shape[1] else Q @ Q.T
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    return float(torch.linalg.matrix_norm(gram - eye) / math.sqrt(gram.shape[0]))


class Muon:
    """Muon on ``params`` (2-D tensors) with ``orthogonalize`` (see the module docstring)."""

    def __init__(
        self,
        params: list[torch.Tensor],
        orthogonalize: Kernel,
        *,
        lr: float = 0.02,
        momentum: float = 0.95,
        nesterov: bool = True,
        weight_decay: float = 0.0,
        check_every: int = 10,
    ) -> None:
        self.params, self.orthogonalize = params, orthogonalize
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.weight_decay, self.check_every = weight_decay, check_every
        self.buffers = [torch.zeros_like(p) for p in params]
        self.steps = 0
        self.checked: list[torch.Tensor] = []
        """Outputs to judge (``accuracy``), kept until then: judged outside the step's time."""

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        for param, buffer in zip(self.params, self.buffers, strict=True):
            grad = param.grad
            buffer.lerp_(grad, 1 - self.momentum)
            update = grad.lerp(buffer, self.momentum) if self.nesterov else buffer
            output = self.orthogonalize(update)
            if self.steps % self.check_every == 1 or self.check_every == 1:
                self.checked.append(output)
            rows, cols = param.shape
            param.mul_(1 - self.lr * self.weight_decay)
            param.add_(output, alpha=-self.lr * math.sqrt(max(1.0, rows / cols)))

    def accuracy(self) -> list[float]:
        """``orthogonality_error`` of the outputs checked so far."""
        errors = [orthogonality_error(output) for output in self.checked]
        self.checked.clear()
        return errors
