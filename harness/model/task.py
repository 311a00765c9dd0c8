"""Tasks: a problem generator and the metrics that judge a method's output.

A task plugin returns ``Task`` objects from its ``harness_tasks`` hook. A task owns the
problem (generated once per case in numpy float64 from a seed, then cast and moved to each
backend, so every backend sees the same matrix) and the judgement (metrics computed in
float64 on the host from the method's output). Which methods it accepts is given by its
family; how fast a method is, is the runner's business, not the task's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
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

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"task {self.name!r}: family {self.family!r} is not one of {FAMILIES}")
        if self.example_sizes is not None and len(self.example_sizes) != len(self.size_names):
            raise ValueError(
                f"task {self.name!r}: example_sizes {self.example_sizes} do not match "
                f"size_names {self.size_names}"
            )

    def small_sizes(self) -> dict[str, int]:
        """The sizes of a small instance: ``example_sizes``, or 64, 16, 4, 4, ... by position."""
        sizes = self.example_sizes or (64, 16, *[4] * len(self.size_names))
        return dict(zip(self.size_names, sizes, strict=False))


def task(
    *,
    name: str,
    family: str,
    size_names: tuple[str, ...],
    metrics: Metrics,
    example_sizes: tuple[int, ...] | None = None,
    exact: str | None = None,
) -> Callable[[Generator], Task]:
    """Decorator: make a ``Task`` from its generator; its parameters come from the signature.

    ``example_sizes`` are those of a small instance (in ``size_names`` order) for quick checks;
    ``exact`` names the ``Problem.reference`` entry that is an exact output, if any.
    """

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
        )

    return wrap
