"""Shampoo with a pluggable inverse root (Gupta, Koren, Singer 2018, "Shampoo: Preconditioned
Stochastic Tensor Optimization"; Adam grafting as in Anil et al. 2020, "Scalable Second Order
Optimization for Deep Learning"), and SGD with a preconditioned Polyak step size on the same
preconditioner (Abdukhakimov, Xiang, Kamzolov, Takáč 2023, "Stochastic Gradient Descent with
Preconditioned Polyak Step-size").

For each hidden 2-D weight W (m×n) with gradient G, Kronecker factors

    L ← β L + (1 − β) G Gᵀ   (m×m),     R ← β R + (1 − β) Gᵀ G   (n×n),     β = 0.95

and, at step 1 and every ``root_every`` steps, their inverse p-th roots from the case's method
(``Kernel``), each factor first scaled to unit Frobenius norm and damped (A = L/‖L‖_F + εI,
ε = 1e-4, then L^(−1/p) ≈ ‖L‖_F^(−1/p) root(A, p)). The direction is D = L^(−1/p) M R^(−1/p):

- ``shampoo``: M = Adam's first moment of G (β₁ = 0.9), and D is grafted onto Adam's step:
  rescaled to the Frobenius norm of Adam's update m̂/(√v̂ + 1e-8) for that weight, so the
  learning rate is Adam's; W ← W − η D;
- ``polyak``: M = G, and the step is Polyak's with the preconditioner as metric, capped at η
  (SPS_max): W ← W − min(η, (f − f*) / Σ_W ⟨G, D⟩) D, f the mini-batch loss, f* = 0 (a lower
  bound of cross-entropy).

``root_residual`` keeps ‖X^p A − I‖_F/√n (float64, outside the kernel's time) of every root
computed: the kernel's accuracy on the factors it actually saw.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from harness_builtins.training.kernels import Kernel

FACTOR_DECAY, DAMPING, BETAS, ADAM_EPS = 0.95, 1e-4, (0.9, 0.999), 1e-8


def root_residual(X: torch.Tensor, A: torch.Tensor, p: int) -> float:
    """‖X^p A − I‖_F / √n."""
    X, A = X.double(), A.double()
    eye = torch.eye(A.shape[0], dtype=A.dtype, device=A.device)
    residual = torch.linalg.matrix_power(X, p) @ A - eye
    return float(torch.linalg.matrix_norm(residual) / math.sqrt(A.shape[0]))


class Shampoo:
    """Shampoo (``rule="shampoo"``) or preconditioned Polyak SGD (``rule="polyak"``) on
    ``params`` (2-D tensors) with ``inverse_root`` (see the module docstring)."""

    def __init__(
        self,
        params: list[torch.Tensor],
        inverse_root: Kernel,
        *,
        lr: float,
        root: int = 4,
        root_every: int = 10,
        rule: Literal["shampoo", "polyak"] = "shampoo",
    ) -> None:
        self.params, self.inverse_root, self.lr = params, inverse_root, lr
        self.root, self.root_every, self.rule = root, root_every, rule
        self.factors = [
            [p.new_zeros(p.shape[0], p.shape[0]), p.new_zeros(p.shape[1], p.shape[1])]
            for p in params
        ]
        self.roots: list[list[torch.Tensor]] = [[] for _ in params]
        self.moments = [[torch.zeros_like(p), torch.zeros_like(p)] for p in params]
        self.steps = 0
        self.checked: list[tuple[torch.Tensor, torch.Tensor]] = []
        """(root, damped factor) pairs to judge (``accuracy``), outside the step's time."""

    def _inverse_root(self, factor: torch.Tensor) -> torch.Tensor:
        scale = float(torch.linalg.matrix_norm(factor))
        if not scale > 0:  # a zero gradient so far: no curvature, the identity
            return torch.eye(factor.shape[0], dtype=factor.dtype, device=factor.device)
        damped = factor / scale + DAMPING * torch.eye(
            factor.shape[0], dtype=factor.dtype, device=factor.device
        )
        X = self.inverse_root(damped, self.root)
        self.checked.append((X, damped))
        return X * scale ** (-1.0 / self.root)

    def _direction(self, index: int, grad: torch.Tensor) -> torch.Tensor:
        left, right = self.factors[index]
        left.lerp_(grad @ grad.T, 1 - FACTOR_DECAY)
        right.lerp_(grad.T @ grad, 1 - FACTOR_DECAY)
        if self.steps % self.root_every == 1 or self.root_every == 1:
            self.roots[index] = [self._inverse_root(left), self._inverse_root(right)]
        left_root, right_root = self.roots[index]
        if self.rule == "polyak":
            return left_root @ grad @ right_root
        first, second = self.moments[index]
        first.lerp_(grad, 1 - BETAS[0])
        second.lerp_(grad * grad, 1 - BETAS[1])
        corrected = [1 - beta**self.steps for beta in BETAS]
        adam = (first / corrected[0]) / ((second / corrected[1]).sqrt() + ADAM_EPS)
        direction = left_root @ (first / corrected[0]) @ right_root
        norm = torch.linalg.matrix_norm(direction)
        return direction * (torch.linalg.matrix_norm(adam) / norm) if norm > 0 else adam

    @torch.no_grad()
    def step(self, loss: float) -> None:
        """One step; ``loss`` is the mini-batch loss (the Polyak rule's f)."""
        self.steps += 1
        directions = [self._direction(i, p.grad) for i, p in enumerate(self.params)]
        lr = self.lr
        if self.rule == "polyak":
            metric = sum(
                float((p.grad * d).sum()) for p, d in zip(self.params, directions, strict=True)
            )
            lr = min(self.lr, loss / metric) if metric > 0 else 0.0
        for param, direction in zip(self.params, directions, strict=True):
            param.add_(direction, alpha=-lr)

    def accuracy(self) -> list[float]:
        """``root_residual`` of the roots computed so far."""
        errors = [root_residual(X, A, self.root) for X, A in self.checked]
        self.checked.clear()
        return errors
