"""Executing one case where it runs (a worker process, or inline): from problem to result.

Outside the timed region, in order: limit the thread pools, move the inputs to the device,
reset the peak-memory meter. Then the timing protocol (``harness.run.timing``) times the method
alone. After it, untimed: read the peak memory, run one call under tracemalloc for the peak
of Python-visible allocations, bring the output back as float64 for the task's metrics, and
for an iterative method run it twice more: once for the time to each step (device synchronised
at every step), once for the metrics of every iterate (the convergence curve).
"""

from __future__ import annotations

import contextlib
import math
import tracemalloc
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from harness.model.task import Problem, Task
from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry
from harness.run.case import Case, CaseResult, RunOptions, Status
from harness.run.timing import measure


def to_host(output: Any, backend: Any) -> Any:
    """The method's output (an array, or a tuple of them) as numpy float64 arrays."""
    if isinstance(output, tuple | list):
        return tuple(to_host(o, backend) for o in output)
    return backend.to_numpy(output)


def _non_finite(host: Any) -> int:
    arrays = host if isinstance(host, tuple) else (host,)
    return sum(int(np.count_nonzero(~np.isfinite(a))) for a in arrays)


def _traced_peak(call: Any) -> int:
    """Peak bytes of Python-visible allocations (numpy reports its arrays) during one call."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def execute(
    case: Case, params: dict[str, Any], problem: Problem, registry: Registry, options: RunOptions
) -> CaseResult:
    """Measure and judge one case that can run here; any exception becomes its ``error``."""
    result = CaseResult(case, Status.OK, params=params)
    backend = registry.backend(case.backend)
    method = registry.method(case.method)
    task = registry.task(case.task)
    limits = threadpool_limits(options.threads) if options.threads else contextlib.nullcontext()
    try:
        with limits:
            result.threads = [
                {k: pool.get(k) for k in ("internal_api", "num_threads")}
                for pool in threadpool_info()
            ]
            inputs = tuple(backend.to_device(value, case.dtype) for value in problem.inputs)
            if options.timing.cache == "cold":
                backend.flush_cache()  # allocate the flush buffer before the peak is reset
            backend.synchronize()
            backend.reset_peak_memory()
            xp = backend.xp

            def call() -> Any:
                return method(*inputs, xp=xp, **params)

            timing = measure(call, backend, options.timing)
            result.peak_memory_bytes = backend.peak_memory_bytes()
            result.traced_peak_bytes = _traced_peak(call)
            result.number, result.samples = timing.number, timing.samples
            result.host_samples = timing.host_samples
            result.stats = timing.summary.as_dict() if timing.summary else {}
            host = to_host(timing.output, backend)
            bad = _non_finite(host)
            if bad:
                result.status, result.message = Status.ERROR, f"output has {bad} non-finite values"
                return result
            result.metrics = _floats(task.metrics(problem, host))
            if method.iterates is not None:  # untimed runs, for the convergence curve
                result.curve = _convergence_curve(
                    partial(method.iterates, *inputs, xp=xp, **params), task, problem, backend
                )
            if method.flops is not None:
                result.flops = float(method.flops(case.sizes, params))
    except Exception as exc:  # the method's (or a plugin's) failure is this case's result
        result.status, result.message = Status.ERROR, describe_exception(exc)
        return result
    bad_metrics = sorted(k for k, v in result.metrics.items() if not math.isfinite(v))
    if bad_metrics:
        result.status, result.message = (
            Status.ERROR,
            f"non-finite metrics: {', '.join(bad_metrics)}",
        )
    return result


def _convergence_curve(
    iterates: Callable[[], Iterable[Any]], task: Task, problem: Problem, backend: Any
) -> list[dict[str, float]]:
    """The task's metrics after each step of an iterative method, with the seconds to reach
    it: ``iterates()`` is run twice, once timed per step and once to judge each iterate."""
    seconds = _seconds_per_step(iterates(), backend)
    return [
        {
            "step": step,
            "seconds": elapsed,
            **_floats(task.metrics(problem, to_host(iterate, backend))),
        }
        for step, (iterate, elapsed) in enumerate(zip(iterates(), seconds, strict=False), start=1)
    ]


def _seconds_per_step(iterates: Any, backend: Any) -> list[float]:
    """Seconds from the start to each iterate, on the backend's clock, the device synchronised
    at every step (one run, apart from the one whose iterates are judged, so metrics cost
    nothing here)."""
    seconds = []
    timer = backend.timer()
    backend.synchronize()
    timer.start()
    for _ in iterates:
        backend.synchronize()
        seconds.append(timer.stop())
    return seconds


def _floats(metrics: dict[str, Any]) -> dict[str, float]:
    """A task's metrics as plain floats (numpy scalars included); a non-number raises."""
    return {name: float(value) for name, value in metrics.items()}
