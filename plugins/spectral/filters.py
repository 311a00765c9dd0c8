"""Spectral filter responses h(λ): what the ``graph_filter`` task asks a method to apply.

A ``Filter`` is a small picklable object that travels to the method as one of the task's
inputs (``Backend.to_device`` passes it through untouched). Methods only call it: ``g(lam)``
evaluates the response on a numpy float64 array of eigenvalues (Chebyshev–Gauss nodes, Ritz
values, eigenvalues of A). Every parameter is in the units of λ itself; the task converts
fractions of λ_max into them.

Graph filters (Shuman et al., "The emerging field of signal processing on graphs", IEEE SPM
2013; Hammond, Vandergheynst and Gribonval, ACHA 2011):

- ``heat``: exp(−tλ), the heat kernel exp(−tL);
- ``low_pass``: the ideal low-pass 1[λ ≤ high] (discontinuous: polynomials show the Gibbs
  phenomenon near the cutoff);
- ``band_pass``: the ideal band-pass 1[low ≤ λ ≤ high].

Profiles of spectral algorithms (Bauer, Pereverzev and Rosasco, "On regularization algorithms
in learning theory", J. Complexity 2007; Lin and Cevher / "Generalization error of spectral
algorithms"): the fitted values of each algorithm on a kernel (here, any symmetric PSD
operator) K with targets y are h(K) y, with

- ``kernel_ridge``: h(λ) = λ/(λ + r), fitted values K(K + rI)⁻¹y;
- ``gradient_descent``: h(λ) = 1 − (1 − ηλ)ᵗ, t steps of α ← α + η(y − Kα) from α = 0;
- ``iterated_tikhonov``: h(λ) = 1 − (r/(λ + r))^q, q steps of α ← (K + rI)⁻¹(y + rα) from
  α = 0 (q = 1 is kernel ridge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal[
    "heat", "low_pass", "band_pass", "kernel_ridge", "gradient_descent", "iterated_tikhonov"
]
KINDS: tuple[str, ...] = Kind.__args__
SMOOTH_KINDS = frozenset(KINDS) - {"low_pass", "band_pass"}
"""Responses analytic on [0, λ_max]: a polynomial of modest degree reaches float64 accuracy."""


@dataclass(frozen=True)
class Filter:
    """A spectral response h(λ) (see the module docstring for each ``kind``).

    ``t``: heat time; ``low``, ``high``: pass band (``low_pass`` uses ``high`` alone);
    ``r``: ridge; ``eta``: gradient-descent step; ``steps``: gradient-descent steps or
    Tikhonov iterations."""

    kind: Kind
    t: float = 1.0
    low: float = 0.0
    high: float = 1.0
    r: float = 1.0
    eta: float = 0.1
    steps: int = 10

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown filter {self.kind!r}; filters: {', '.join(KINDS)}")

    def __call__(self, lam: np.ndarray) -> np.ndarray:
        lam = np.asarray(lam, dtype=np.float64)
        if self.kind == "heat":
            return np.exp(-self.t * lam)
        if self.kind == "low_pass":
            return (lam <= self.high).astype(np.float64)
        if self.kind == "band_pass":
            return ((lam >= self.low) & (lam <= self.high)).astype(np.float64)
        if self.kind == "kernel_ridge":
            return lam / (lam + self.r)
        if self.kind == "gradient_descent":
            return 1.0 - (1.0 - self.eta * lam) ** self.steps
        return 1.0 - (self.r / (lam + self.r)) ** self.steps  # iterated_tikhonov

    @property
    def smooth(self) -> bool:
        return self.kind in SMOOTH_KINDS
