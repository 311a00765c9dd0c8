"""Running a suite: each case from problem to stored result.

For one case: check the backend can run here and the method supports it in that dtype
(otherwise record why, as ``unavailable`` or ``unsupported``); generate the problem once in
numpy float64 from the seed (shared by consecutive cases that use the same problem); cast and
move the inputs to the device; time the method alone (``harness.timing``); bring the output
back as float64 and let the task compute its metrics. Every case ends as a row in the results
database, whatever happened to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

import numpy as np

from harness import metadata
from harness.db import ResultsDB
from harness.discovery import describe_exception
from harness.params import bind
from harness.registry import Registry
from harness.suite import Case, Suite
from harness.task import Problem
from harness.timing import measure


@dataclass
class CaseResult:
    """What became of one case."""

    case: Case
    status: str  # ok | error | unavailable | unsupported
    message: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    """For iterative methods: the metrics after every step (``step`` 1, 2, ...)."""
    flops: float | None = None
    peak_memory_bytes: int | None = None

    @property
    def median_s(self) -> float | None:
        return median(self.samples) if self.samples else None

    @property
    def gflops(self) -> float | None:
        return self.flops / self.median_s / 1e9 if self.flops and self.median_s else None

    def record(self) -> dict[str, Any]:
        """The row stored in the results database."""
        c = self.case
        return {
            "task": c.task,
            "method": c.method,
            "backend": c.backend,
            "dtype": c.dtype,
            "sizes": c.sizes,
            "problem": c.problem,
            "params": self.params or c.params,
            "seed": c.seed,
            "status": self.status,
            "message": self.message,
            "samples": self.samples,
            "median_s": self.median_s,
            "flops": self.flops,
            "peak_memory_bytes": self.peak_memory_bytes,
            "metrics": self.metrics,
            "curve": self.curve,
        }


def to_host(output: Any, backend: Any) -> Any:
    """The method's output (an array, or a tuple of them) as numpy float64 arrays."""
    if isinstance(output, tuple | list):
        return tuple(to_host(o, backend) for o in output)
    return backend.to_numpy(output)


def _arrays(host: Any) -> tuple[np.ndarray, ...]:
    return host if isinstance(host, tuple) else (host,)


class ProblemCache:
    """Holds the last generated problem, so consecutive cases on it generate it once."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.key: tuple[Any, ...] | None = None
        self.problem: Problem | None = None

    def get(self, case: Case) -> Problem:
        if case.problem_key() != self.key:
            task = self.registry.task(case.task)
            structure = bind(task.params, case.problem)
            self.problem = task.generate(case.sizes, np.random.default_rng(case.seed), **structure)
            self.key = case.problem_key()
        assert self.problem is not None
        return self.problem


def run_case(
    case: Case, registry: Registry, problems: ProblemCache, warmup: int, repeats: int
) -> CaseResult:
    backend = registry.backend(case.backend)
    availability = backend.availability()
    if not availability.available:
        return CaseResult(case, "unavailable", availability.reason)
    method = registry.method(case.method)
    params = bind(method.params, case.params)
    reason = method.unsupported_reason(backend.name, case.dtype)
    if reason is None and case.dtype not in backend.dtypes:
        reason = f"{backend.name} has no {case.dtype}"
    if reason is not None:
        return CaseResult(case, "unsupported", reason, params)
    result = CaseResult(case, "ok", params=params)
    try:
        problem = problems.get(case)
        inputs = tuple(backend.from_numpy(a, case.dtype) for a in problem.inputs)
        backend.synchronize()
        backend.reset_peak_memory()
        xp = backend.xp
        result.samples, output = measure(
            lambda: method(*inputs, xp=xp, **params), backend, warmup, repeats
        )
        result.peak_memory_bytes = backend.peak_memory_bytes()
        host = to_host(output, backend)
        bad = sum(int(np.count_nonzero(~np.isfinite(a))) for a in _arrays(host))
        if bad:
            result.status, result.message = "error", f"output has {bad} non-finite values"
            return result
        task = registry.task(case.task)
        result.metrics = task.metrics(problem, host)
        if method.iterates is not None:  # untimed second run, for the convergence curve
            iterates = method.iterates(*inputs, xp=xp, **params)
            result.curve = [
                {"step": step, **task.metrics(problem, to_host(iterate, backend))}
                for step, iterate in enumerate(iterates, start=1)
            ]
        if method.flops is not None:
            result.flops = float(method.flops(case.sizes, params))
    except Exception as exc:  # the method's (or plugin's) failure is this case's result
        result.status, result.message = "error", describe_exception(exc)
        return result
    bad_metrics = sorted(k for k, v in result.metrics.items() if not math.isfinite(v))
    if bad_metrics:
        result.status, result.message = "error", f"non-finite metrics: {', '.join(bad_metrics)}"
    return result


def run_suite(
    suite: Suite,
    registry: Registry,
    db: ResultsDB,
    on_result: Callable[[CaseResult], None] = lambda result: None,
) -> int:
    """Run every case of a validated suite, storing each as it finishes; return the run id."""
    backends = sorted({c.backend for c in suite.cases})
    run_id = db.start_run(suite.name, suite.path, suite.text, metadata.collect(registry, backends))
    problems = ProblemCache(registry)
    for case in suite.cases:
        result = run_case(case, registry, problems, suite.warmup, suite.repeats)
        db.add_case(run_id, result.record())
        on_result(result)
    db.finish_run(run_id)
    return run_id
