"""One training run: the loop the training tasks' ``Loop`` runs, and what it returns.

The run (``train``) builds the workload from the case's seed on the backend's torch device
(CUDA for ``torch-cuda``, the CPU otherwise), the optimizers of ``Setup.optimizer`` around the
case's method, and takes ``steps`` steps: a mini-batch from a generator seeded by the case's
seed, forward (under bfloat16 autocast on CUDA, as the public Muon trains), backward, the
optimizers' step. Every ``eval_every`` steps, and at the last, it records a row of the curve:

    step, seconds, train_loss, val_loss, kernel_seconds, accuracy

``seconds`` and ``kernel_seconds`` are the training time so far (device synchronised around
each step; evaluation and the accuracy checks excluded) and the part of it inside the case's
method; ``accuracy`` the kernel's accuracy (below) on the inputs of the steps checked since
the previous row (Muon checks every 10th step). A loss that is not finite ends the run there:
``diverged_at_step`` is that step, and the curve keeps the rows before it (a diverged run is
a result, never an error); so does the method raising on an input it was given
(``KernelFailure``): ``kernel_failed_at_step``.

It returns three float64 arrays of the backend: the curve (rows × 6), the summary
``SUMMARY`` (``diverged_at_step`` and ``kernel_failed_at_step`` 0 when it did not) and the
kernel's accuracy on what it saw (``orthogonality_error`` of Muon's outputs, ``root_residual``
of Shampoo's roots; finite values only).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from harness_builtins.training.kernels import Kernel, KernelFailure, device_of
from harness_builtins.training.muon import Muon
from harness_builtins.training.shampoo import Shampoo
from harness_builtins.training.workloads import Workload, WorkloadName, make_workload

Optimizer = Literal["muon", "torch_muon", "shampoo", "polyak", "adamw", "sgd"]
USES_KERNEL = ("muon", "shampoo", "polyak")
DEFAULT_LR: dict[str, float] = {
    "muon": 0.02,
    "torch_muon": 0.02,
    "shampoo": 3e-3,
    "polyak": 0.5,
    "adamw": 3e-3,
    "sgd": 0.05,
}
"""The learning rate of the hidden weights' optimizer (Muon's of the public implementation,
Adam's for grafted Shampoo, the Polyak step's cap); untuned defaults, a suite may sweep ``lr``."""
ADAM_LR, ADAM_BETAS = 3e-3, (0.9, 0.95)
"""AdamW for everything else (embeddings, head, biases, gains), no weight decay."""
CURVE_COLUMNS = ("step", "seconds", "train_loss", "val_loss", "kernel_seconds", "accuracy")
"""A curve row; ``accuracy``: the median kernel accuracy judged since the previous row, −1
where none was (a baseline, or no check in between); ``curve`` names it after the task's."""
SUMMARY = (
    "diverged_at_step",
    "kernel_failed_at_step",
    "steps",
    "seconds",
    "kernel_seconds",
    "calls",
)


@dataclass(frozen=True)
class Setup:
    """Everything of a training run but the kernel: the task's sizes and parameters."""

    workload: WorkloadName
    width: int
    steps: int
    seed: int
    optimizer: Optimizer
    lr: float
    eval_every: int
    root: int = 4
    root_every: int = 10


class Optimizers:
    """The optimizers of one run: ``step(loss)`` steps them all; ``accuracy()`` the kernel's."""

    def __init__(self, setup: Setup, work: Workload, kernel: Kernel) -> None:
        hidden, other, lr = work.hidden, work.other, setup.lr
        self.kernel_user: Muon | Shampoo | None = None
        self.torch: list[torch.optim.Optimizer] = []
        if setup.optimizer == "muon":
            self.kernel_user = Muon(hidden, kernel, lr=lr)
        elif setup.optimizer in ("shampoo", "polyak"):
            rule = "polyak" if setup.optimizer == "polyak" else "shampoo"
            root, every = setup.root, setup.root_every
            self.kernel_user = Shampoo(
                hidden, kernel, lr=lr, root=root, root_every=every, rule=rule
            )
        elif setup.optimizer == "torch_muon":
            self.torch.append(torch.optim.Muon(hidden, lr=lr, weight_decay=0.0))
        elif setup.optimizer == "sgd":
            other = hidden + other
            self.torch.append(torch.optim.SGD(other, lr=lr, momentum=0.9, nesterov=True))
            other = []
        else:
            other = hidden + other
        if other:
            self.torch.append(
                torch.optim.AdamW(other, lr=ADAM_LR, betas=ADAM_BETAS, weight_decay=0)
            )
        self.params = hidden + work.other

    def step(self, loss: float) -> None:
        if isinstance(self.kernel_user, Shampoo):
            self.kernel_user.step(loss)
        elif self.kernel_user is not None:
            self.kernel_user.step()
        for optimizer in self.torch:
            optimizer.step()
        for param in self.params:
            param.grad = None

    def accuracy(self) -> list[float]:
        return [] if self.kernel_user is None else self.kernel_user.accuracy()


def _autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    if device.type == "cuda":  # bfloat16 forward/backward as the public Muon trains on GPUs
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else -1.0


def train(
    kernel: Callable[..., Any], setup: Setup, backend: Any, dtype: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``setup`` with ``kernel``: (curve, summary, accuracy) as numpy float64 arrays."""
    device = device_of(backend)
    work = make_workload(setup.workload, setup.width, setup.seed, device)
    timed = Kernel(kernel, backend, dtype)
    optimizers = Optimizers(setup, work, timed)
    generator = torch.Generator().manual_seed(setup.seed)
    rows: list[list[float]] = []
    accuracy: list[float] = []
    seconds, diverged, failed, step = 0.0, 0, 0, 0
    for step in range(1, setup.steps + 1):
        backend.synchronize()
        start = time.perf_counter()
        with _autocast(device):
            loss = work.loss(*work.batch(generator))
        loss.backward()
        value = float(loss.detach())
        try:
            if math.isfinite(value):
                optimizers.step(value)
        except KernelFailure:
            failed = step
            break
        backend.synchronize()
        seconds += time.perf_counter() - start
        if not math.isfinite(value):
            diverged = step
            break
        if step % setup.eval_every == 0 or step == setup.steps:
            val = work.validation_loss()
            if not math.isfinite(val):
                diverged = step
                break
            judged = [e for e in optimizers.accuracy() if math.isfinite(e)]  # untimed
            accuracy += judged
            rows.append([step, seconds, value, val, timed.seconds, _median(judged)])
    accuracy += [e for e in optimizers.accuracy() if math.isfinite(e)]
    summary = [diverged, failed, step, seconds, timed.seconds, timed.calls]
    curve = np.array(rows, dtype=np.float64).reshape(-1, len(CURVE_COLUMNS))
    return curve, np.array(summary, dtype=np.float64), np.array(accuracy, dtype=np.float64)


def run(
    kernel: Callable[..., Any], problem: Any, *, backend: Any, dtype: str
) -> tuple[Any, Any, Any]:
    """The training tasks' ``Loop.run``: ``train`` on the problem's setup, its arrays moved to
    ``backend`` (float64) as the harness expects a method's output."""
    arrays = train(kernel, problem.reference["setup"], backend, dtype)
    return tuple(backend.from_numpy(a, "float64") for a in arrays)  # type: ignore[return-value]


def curve(problem: Any, output: tuple[np.ndarray, ...]) -> list[dict[str, float]]:
    """The training tasks' ``Loop.curve``: the curve's rows as the harness stores them."""
    name = problem.reference["accuracy"]
    rows = []
    for values in output[0]:
        row = dict(zip(CURVE_COLUMNS, map(float, values), strict=True))
        accuracy = row.pop("accuracy")
        rows.append({**row, "step": int(row["step"])} | ({name: accuracy} if accuracy >= 0 else {}))
    return rows
