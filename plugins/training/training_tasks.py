"""Tasks ``muon_training`` and ``shampoo_training``: the case's method as the kernel of an
optimizer, judged by the training run it drives (docs/training.md).

``muon_training`` takes the methods of ``orthogonalize`` (every orthogonalizer) and runs Muon
with the case's orthogonalizer; ``shampoo_training`` takes those of ``inverse_root`` and runs
Shampoo (or preconditioned Polyak SGD) with the case's inverse root. Everything else is fixed
by the sizes (``width``, ``steps``) and the problem parameters:

- ``workload``: ``digits`` (the digits MLP) or ``charlm`` (a character-level transformer on
  the stdlib's source), see ``harness_builtins.training.workloads``;
- ``optimizer``: the kernel's optimizer (``muon``; ``shampoo`` or ``polyak``) or a baseline
  that does not call the kernel (``torch_muon`` = ``torch.optim.Muon``, ``adamw``, ``sgd``):
  a suite pairs a baseline with one method, whose name then only labels the case;
- ``lr`` (``0``: the optimizer's default, ``loop.DEFAULT_LR``), ``eval_every``,
  ``target_loss`` (``0``: the workload's ``TARGET_LOSS``), and for Shampoo ``root`` (p) and
  ``root_every``.

The case's seed seeds the model's initialisation and the mini-batches (the data split is
fixed); seeds are the repetitions whose spread the report shows. The problem's inputs are
those the loop hands the kernel (a Gaussian matrix of fc1's shape; a damped SPD factor and
p), so a method's ``supports`` refuses here what it would refuse inside the optimizer.

Metrics (``training_metrics``): ``val_loss`` and ``train_loss`` at the last step,
``seconds_to_target`` and ``steps_to_target`` (first evaluation at or below the target; absent
if never), ``step_seconds`` (training seconds per step), ``kernel_share`` (the share of them
inside the method), ``kernel_calls``, the kernel's accuracy on what it saw
(``orthogonality_error`` / ``root_residual``: median, and ``..._max``), and, for a run whose
loss stopped being finite, ``diverged_at_step`` instead of the final losses
(``kernel_failed_at_step`` for one whose method raised on an input it was given). The main
metric is ``val_loss``; only the two ``..._at_step`` are higher-is-better.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from harness_builtins.training import loop
from harness_builtins.training.workloads import WorkloadName

from harness import Loop, Problem, Task, hookimpl, task

TARGET_LOSS: dict[str, float] = {"digits": 0.1, "charlm": 2.35}
"""Validation loss a run must reach for ``seconds_to_target`` (below what the baselines
reach in the full tier's steps, above chance: ln 10 ≈ 2.30 and ln 97 ≈ 4.57)."""


def training_metrics(problem: Problem, output: tuple[np.ndarray, ...]) -> dict[str, float]:
    curve, summary, accuracy = output
    diverged, failed, steps, seconds, kernel_seconds, calls = (float(v) for v in summary)
    metrics = {
        "step_seconds": seconds / max(steps, 1.0),
        "kernel_share": kernel_seconds / seconds if seconds > 0 else 0.0,
        "kernel_calls": calls,
    }
    if diverged or failed:
        metrics["diverged_at_step" if diverged else "kernel_failed_at_step"] = diverged or failed
    elif len(curve):
        metrics["train_loss"], metrics["val_loss"] = float(curve[-1, 2]), float(curve[-1, 3])
    reached = np.nonzero(curve[:, 3] <= problem.reference["target_loss"])[0]
    if len(reached):
        metrics["steps_to_target"] = float(curve[reached[0], 0])
        metrics["seconds_to_target"] = float(curve[reached[0], 1])
    if len(accuracy):
        name = problem.reference["accuracy"]
        metrics[name], metrics[f"{name}_max"] = float(np.median(accuracy)), float(accuracy.max())
    return metrics


def _setup(sizes: dict[str, int], rng: np.random.Generator, **params: Any) -> loop.Setup:
    if sizes["steps"] < 1:
        raise ValueError(f"steps must be at least 1, got {sizes['steps']}")
    lr = params.pop("lr") or loop.DEFAULT_LR[params["optimizer"]]
    seed = int(rng.integers(2**31))
    return loop.Setup(width=sizes["width"], steps=sizes["steps"], seed=seed, lr=lr, **params)


def _reference(setup: loop.Setup, target_loss: float, accuracy: str) -> dict[str, Any]:
    target = target_loss or TARGET_LOSS[setup.workload]
    return {"setup": setup, "target_loss": target, "accuracy": accuracy}


STOPPED_AT = ("diverged_at_step", "kernel_failed_at_step")
"""Higher is better: a run that stopped later got further. Every other metric is lower-is-better
(``kernel_calls`` and ``step_seconds`` too: they describe the run's cost)."""

LOOP = {
    name: Loop(takes=name, run=loop.run, curve=loop.curve)
    for name in ("orthogonalize", "inverse_root")
}


@task(
    name="muon_training",
    family="orthogonalizer",
    size_names=("width", "steps"),
    metrics=training_metrics,
    example_sizes=(8, 2),
    loop=LOOP["orthogonalize"],
    main_metric="val_loss",
    higher_is_better=STOPPED_AT,
)
def generate_muon_training(
    sizes: dict[str, int],
    rng: np.random.Generator,
    *,
    workload: WorkloadName = "digits",
    optimizer: Literal["muon", "torch_muon", "adamw", "sgd"] = "muon",
    lr: float = 0.0,
    eval_every: int = 10,
    target_loss: float = 0.0,
) -> Problem:
    """Muon with the case's orthogonalizer on each hidden weight's momentum (Nesterov, shape
    scaling √max(1, m/n), AdamW for the rest), or a baseline; see the module docstring."""
    setup = _setup(sizes, rng, workload=workload, optimizer=optimizer, lr=lr, eval_every=eval_every)
    G = rng.standard_normal((4 * sizes["width"], sizes["width"]))
    return Problem(inputs=(G,), reference=_reference(setup, target_loss, "orthogonality_error"))


@task(
    name="shampoo_training",
    family="preconditioner",
    size_names=("width", "steps"),
    metrics=training_metrics,
    example_sizes=(8, 2),
    loop=LOOP["inverse_root"],
    main_metric="val_loss",
    higher_is_better=STOPPED_AT,
)
def generate_shampoo_training(
    sizes: dict[str, int],
    rng: np.random.Generator,
    *,
    workload: WorkloadName = "digits",
    optimizer: Literal["shampoo", "polyak", "adamw", "sgd"] = "shampoo",
    lr: float = 0.0,
    eval_every: int = 10,
    target_loss: float = 0.0,
    root: Literal[2, 4] = 4,
    root_every: int = 10,
) -> Problem:
    """Shampoo (Adam-grafted) or preconditioned Polyak SGD with the case's inverse root of
    each hidden weight's Kronecker factors, every ``root_every`` steps, AdamW for the rest;
    or a baseline; see the module docstring."""
    setup = _setup(
        sizes,
        rng,
        workload=workload,
        optimizer=optimizer,
        lr=lr,
        eval_every=eval_every,
        root=root,
        root_every=root_every,
    )
    G = rng.standard_normal((sizes["width"], 2 * sizes["width"]))
    factor = G @ G.T / np.linalg.norm(G @ G.T) + 1e-4 * np.eye(sizes["width"])
    return Problem(inputs=(factor, root), reference=_reference(setup, target_loss, "root_residual"))


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_muon_training, generate_shampoo_training]
