"""Tasks: a problem generator and the metrics that judge a method's output.

A task plugin returns ``Task`` objects from its ``harness_tasks`` hook. A task owns the
problem (generated once per case in numpy float64 from a seed, then cast and moved to each
backend, so every backend sees the same matrix) and the judgement (metrics computed in
float64 on the host from the method's output). Which methods it accepts is given by its
family; how fast a method is, is the runner's business, not the task's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.method import FAMILIES
from harness.params import Param, params_from_signature


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

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"task {self.name!r}: family {self.family!r} is not one of {FAMILIES}")


def task(
    *, name: str, family: str, size_names: tuple[str, ...], metrics: Metrics
) -> Callable[[Generator], Task]:
    """Decorator: make a ``Task`` from its generator; its parameters come from the signature."""

    def wrap(generate: Generator) -> Task:
        return Task(
            name=name,
            family=family,
            size_names=size_names,
            generate=generate,
            metrics=metrics,
            params=params_from_signature(generate),
            doc=(generate.__doc__ or "").strip(),
        )

    return wrap
