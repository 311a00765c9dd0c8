"""Tasks: a problem generator and the metrics that judge a method's output.

A task plugin returns ``Task`` objects from its ``harness_tasks`` hook. A task owns the
problem (generated once per case in numpy float64 from a seed, then cast and moved to each
backend, so every backend sees the same matrix) and the judgement (metrics computed in
float64 on the host from the method's output). Which methods it accepts is given by its
family; how fast a method is, is the runner's business, not the task's. A task may instead
run another task's methods inside a loop of its own (``Loop``: a training run whose optimizer
calls the case's orthogonalizer), and is then judged on what that loop returns.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.model.method import FAMILIES
from harness.model.params import Param, params_from_signature


@dataclass(frozen=True)
class Problem:
    """One generated problem instance, on the host in float64."""

    inputs: tuple[Any, ...]
    """Positional inputs of the family's methods, in order: numpy arrays and scipy.sparse
    matrices (cast to the case's dtype and moved to the device, see ``Backend.to_device``) or
    Python scalars such as a root's order (passed as they are)."""
    reference: dict[str, Any] = field(default_factory=dict)
    """What the metrics need beyond the inputs (an exact answer, its spectrum, ...)."""


Generator = Callable[..., Problem]
"""``generate(sizes, rng, **structure) -> Problem``; ``structure`` are keyword-only params."""
Metrics = Callable[[Problem, Any], dict[str, float]]
"""``metrics(problem, output) -> {name: value}``; ``output`` is numpy float64 (or a tuple)."""


@dataclass(frozen=True)
class Loop:
    """How a task runs the methods of another task inside a loop of its own: a training task
    runs an orthogonalizer inside the Muon optimizer, an inverse root inside Shampoo.

    The case's method, with its parameters bound (``kernel(*inputs)``), is then not what the
    harness calls: it times ``run(kernel, problem, backend=, dtype=)``, which calls the kernel
    with the inputs of task ``takes`` (in ``dtype``, on ``backend``) wherever the loop needs
    it, and returns arrays of ``backend``; the task's metrics judge that output, and ``curve``
    reads the case's convergence curve from it (``{"step", "seconds", metric: value}`` rows).
    ``Problem.inputs`` are then inputs of task ``takes`` like those the loop passes, so a
    method's ``supports`` judges them as it would there.
    """

    takes: str
    """The task whose methods it runs: every method that fits that task fits this one."""
    run: Callable[..., Any]
    curve: Callable[[Problem, Any], list[dict[str, float]]]

    def call(
        self, method: Any, params: dict[str, Any], problem: Problem, backend: Any, dtype: str
    ) -> Callable[[], Any]:
        """The call the harness times: this loop running ``method`` with ``params``."""
        kernel = functools.partial(method, xp=backend.xp, **params)
        return functools.partial(self.run, kernel, problem, backend=backend, dtype=dtype)


@dataclass(frozen=True)
class Task:
    """A named benchmark task for the methods of one family."""

    name: str
    family: str
    size_names: tuple[str, ...]
    """Names of the dimensions a suite's ``sizes`` entry gives, in order (e.g. ``("m", "n")``)."""
    generate: Generator
    metrics: Metrics
    params: tuple[Param, ...] = ()
    doc: str = ""
    example_sizes: tuple[int, ...] | None = None
    """Sizes of a small instance, in ``size_names`` order, for quick checks (``harness
    check-plugin``, the conformance tests); ``None``: 64, 16, 4, 4, ... (``small_sizes``)."""
    exact: str | None = None
    """The ``Problem.reference`` entry that is an exact output of a method, if there is one:
    ``harness check-plugin`` checks the metrics are finite on it and on a perturbed copy."""
    step_metrics: Metrics | None = None
    """Cheaper metrics for each step of a convergence curve (e.g. an orthogonality error from
    XᵀX where ``metrics`` takes an SVD); ``None``: ``metrics`` judges every step. The last
    step has ``metrics`` too (``harness.run.execute``)."""
    loop: Loop | None = None
    """For a task that runs another task's methods inside a loop of its own (a training run):
    that loop (see ``Loop``); ``None``: the harness calls the method on ``Problem.inputs``."""
    main_metric: str | None = None
    """The metric that says how good an output is, the one the report's headline and plots
    start on (accuracy against time, the Pareto front, the fastest method at each accuracy
    level): e.g. ``orthogonality_error``, ``relative_residual``, ``val_loss``. ``None``: the
    first metric the task reports."""
    higher_is_better: tuple[str, ...] = ()
    """The metrics for which a larger value is better (an accuracy, a captured share); every
    other metric is lower-is-better. The report's fronts and levels and ``harness compare``'s
    verdicts follow it. A metric that only describes the run (a count of rows or of calls)
    still gets a direction, the one to sort it by."""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"task {self.name!r}: family {self.family!r} is not one of {FAMILIES}")
        if isinstance(self.higher_is_better, str) or not all(
            isinstance(name, str) and name for name in self.higher_is_better
        ):
            raise ValueError(
                f"task {self.name!r}: higher_is_better must be a collection of metric names, "
                f"not {self.higher_is_better!r}"
            )
        if self.main_metric is not None and not (
            isinstance(self.main_metric, str) and self.main_metric
        ):
            raise ValueError(
                f"task {self.name!r}: main_metric must be a metric's name, not {self.main_metric!r}"
            )
        if self.example_sizes is not None and len(self.example_sizes) != len(self.size_names):
            raise ValueError(
                f"task {self.name!r}: example_sizes {self.example_sizes} do not match "
                f"size_names {self.size_names}"
            )

    def small_sizes(self) -> dict[str, int]:
        """The sizes of a small instance: ``example_sizes``, or 64, 16, 4, 4, ... by position."""
        sizes = self.example_sizes or (64, 16, *[4] * len(self.size_names))
        return dict(zip(self.size_names, sizes, strict=False))

    def metric_declaration(self) -> dict[str, Any]:
        """What the task says of its metrics, JSON-ready, as a run stores it (``metadata
        ["tasks"][name]``, read by the report and ``harness compare``): ``{"main":
        main_metric or None, "higher_is_better": [names, sorted]}``."""
        return {"main": self.main_metric, "higher_is_better": sorted(self.higher_is_better)}


def task(
    *,
    name: str,
    family: str,
    size_names: tuple[str, ...],
    metrics: Metrics,
    example_sizes: tuple[int, ...] | None = None,
    exact: str | None = None,
    step_metrics: Metrics | None = None,
    loop: Loop | None = None,
    main_metric: str | None = None,
    higher_is_better: Iterable[str] = (),
) -> Callable[[Generator], Task]:
    """Decorator: make a ``Task`` from its generator; its parameters come from the signature.

    ``example_sizes`` are those of a small instance (in ``size_names`` order) for quick checks;
    ``exact`` names the ``Problem.reference`` entry that is an exact output, if any;
    ``step_metrics``, cheaper metrics for the steps of a convergence curve, if any; ``loop``,
    for a task that runs another task's methods inside a loop of its own (``Loop``);
    ``main_metric``, the metric that judges an output (``None``: the first the task reports);
    ``higher_is_better``, the metrics for which larger is better (all others: lower).
    """
    if isinstance(higher_is_better, str):
        raise ValueError(
            f"task {name!r}: higher_is_better must be a collection of metric names, not the "
            f"string {higher_is_better!r} (write ({higher_is_better!r},))"
        )
    higher = tuple(dict.fromkeys(higher_is_better))

    def wrap(generate: Generator) -> Task:
        return Task(
            name=name,
            family=family,
            size_names=size_names,
            generate=generate,
            metrics=metrics,
            params=params_from_signature(generate),
            doc=inspect.cleandoc(generate.__doc__ or ""),
            example_sizes=tuple(example_sizes) if example_sizes is not None else None,
            exact=exact,
            step_metrics=step_metrics,
            loop=loop,
            main_metric=main_metric,
            higher_is_better=higher,
        )

    return wrap
