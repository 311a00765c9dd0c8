"""The case's method as the optimizer sees it: a function of torch tensors, timed.

The optimizers keep their state in torch float32 on the training device. ``Kernel`` hands the
case's method (its parameters bound by the harness) its inputs in the case's dtype on the
case's backend and brings the output back as a float32 tensor:

- on ``torch`` and ``torch-cuda`` the tensors are cast (``Tensor.to``), never copied through
  the host, so a bfloat16 case runs the kernel in bfloat16 as the public Muon does;
- on any other backend (numpy, array-api-strict, cupy) through the host in float64
  (``Backend.from_numpy`` / ``to_numpy``): a copy each way, counted in the kernel's time —
  these cases measure the kernel's effect on training, not its speed.

The time of every call (device synchronised before and after, so it is the kernel's own) is
summed in ``seconds``; the optimizers compare it with the time of their whole step. A method
that raises on an input it was given raises ``KernelFailure``: the loop ends the run there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

TORCH_BACKENDS = ("torch", "torch-cuda")


def device_of(backend: Any) -> torch.device:
    """The torch device a training run on ``backend`` uses: CUDA for ``torch-cuda``, else CPU."""
    return torch.device("cuda" if backend.name == "torch-cuda" else "cpu")


class KernelFailure(Exception):
    """The case's method raised on an input the optimizer gave it (Cholesky QR on a
    rank-deficient float32 update): the run stops there, a result like a divergence."""


class Kernel:
    """``kernel(*inputs)`` on torch tensors (and Python scalars), timed; see the module."""

    def __init__(self, kernel: Callable[..., Any], backend: Any, dtype: str) -> None:
        self.kernel, self.backend, self.dtype = kernel, backend, dtype
        self.native = backend.name in TORCH_BACKENDS
        self.seconds = 0.0
        self.calls = 0

    def _to_backend(self, value: Any) -> Any:
        if not isinstance(value, torch.Tensor):
            return value
        if self.native:
            return value.to(getattr(torch, self.dtype))
        return self.backend.from_numpy(value.detach().double().cpu().numpy(), self.dtype)

    def _from_backend(self, output: Any, like: torch.Tensor) -> torch.Tensor:
        if self.native:
            return output.to(like.dtype)
        host = np.asarray(self.backend.to_numpy(output), dtype=np.float32)
        return torch.from_numpy(host).to(like.device)

    def __call__(self, *inputs: Any) -> torch.Tensor:
        like = next(value for value in inputs if isinstance(value, torch.Tensor))
        self.backend.synchronize()
        start = time.perf_counter()
        try:
            output = self._from_backend(self.kernel(*map(self._to_backend, inputs)), like)
        except Exception as exc:  # the method's failure on a real input: the run's result
            raise KernelFailure(str(exc)) from exc
        self.backend.synchronize()
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return output
