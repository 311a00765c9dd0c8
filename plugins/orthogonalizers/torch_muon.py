"""Reference baseline plugin: the orthogonalization inside ``torch.optim.Muon`` (PyTorch ≥ 2.9),
run through the optimizer's public API, so the harness's own ``newton_schulz`` can be
compared with it in the same task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness_builtins.orthogonalizers.orthogonalizers import newton_schulz_flops

from harness import Method, hookimpl, method


def torch_muon_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    return newton_schulz_flops(sizes, params)


@method(
    family="orthogonalizer",
    backends={"torch", "torch-cuda"},
    dtypes={"bfloat16", "float32", "float64"},
    flops=torch_muon_flops,
)
def torch_muon(G: Any, *, xp: Any, steps: int = 5) -> Any:
    """``torch.optim.Muon``'s update for gradient G: one optimizer step with learning rate
    1/√max(1, m/n) (undoing Muon's shape factor), no momentum, no weight decay, on a zero
    parameter, which leaves the parameter at −NS(G); the output is NS(G).

    Muon runs ``steps`` Newton–Schulz steps with Keller Jordan's coefficients (3.4445,
    −4.7750, 2.0315), ε = 1e-7, **always in bfloat16** whatever the input dtype: compare it
    with ``newton_schulz`` in bfloat16. Only 2-D inputs (Muon refuses stacks). The timed call
    includes the optimizer's bookkeeping (creating it, one momentum buffer, the step).
    Errors clearly when the installed torch has no ``torch.optim.Muon``.
    """
    import torch

    muon = getattr(torch.optim, "Muon", None)
    if muon is None:
        raise NotImplementedError(
            f"torch {torch.__version__} has no torch.optim.Muon (added in PyTorch 2.9)"
        )
    if G.ndim != 2:
        raise ValueError(f"torch.optim.Muon takes 2-D parameters only, got shape {tuple(G.shape)}")
    m, n = G.shape
    parameter = torch.zeros_like(G, requires_grad=True)
    parameter.grad = G.detach().clone()
    optimizer = muon(
        [parameter],
        lr=1 / math.sqrt(max(1.0, m / n)),
        weight_decay=0.0,
        momentum=0.0,
        nesterov=False,
        ns_steps=steps,
    )
    optimizer.step()
    return -parameter.detach()


@hookimpl
def harness_methods() -> list[Method]:
    return [torch_muon]
