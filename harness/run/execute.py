"""Executing one case where it runs (a case process, or inline): from problem to result.

Outside the timed region, in order: limit the thread pools, move the inputs to the device,
reset the peak-memory meter. Then the timing protocol (``harness.run.timing``) times the method
alone. After it, untimed: read the peak memory, with ``memory: traced`` run one call under
tracemalloc for the peak of Python-visible allocations, bring the output back as float64 for
the task's metrics, and for an iterative method (``curves`` other than ``none``) run it twice
more: once for the time to each step (device synchronised at every step), once to judge the
iterates of the curve's steps (``curve_steps``): with the task's per-step metrics
(``Task.step_metrics``, a cheaper form where the task declares one) at every step, and with
its full metrics at the last step, which are then the case's metrics for that iterate.
"""

from __future__ import annotations

import contextlib
import math
import sys
import tracemalloc
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Literal

import numpy as np
from threadpoolctl import ThreadpoolController

from harness.model.backend import DTYPE_BYTES
from harness.model.method import Footprint
from harness.model.task import Problem, Task
from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry
from harness.run.case import Case, CaseResult, RunOptions, Status
from harness.run.timing import Timing, measure

_controller: tuple[int, ThreadpoolController] | None = None


def thread_pools() -> ThreadpoolController:
    """This process's BLAS/OpenMP thread pools (threadpoolctl), scanned once, and again only
    after modules were imported (a library imported since may bring its own pool)."""
    global _controller
    if _controller is None or _controller[0] != len(sys.modules):
        _controller = (len(sys.modules), ThreadpoolController())
    return _controller[1]


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
    case: Case,
    params: dict[str, Any],
    problem: Problem,
    registry: Registry,
    options: RunOptions,
    number: int | None = None,
) -> CaseResult:
    """Measure and judge one case that can run here; any exception becomes its ``error``.
    ``number``: calls per sample calibrated by an earlier case of the same method and size
    (``timing.measure`` re-checks it on the first sample)."""
    result = CaseResult(case, Status.OK, params=params)
    backend = registry.backend(case.backend)
    method = registry.method(case.method)
    task = registry.task(case.task)
    pools = thread_pools()
    limits = pools.limit(limits=options.threads) if options.threads else contextlib.nullcontext()
    try:
        with limits:
            result.threads = _thread_info(pools)
            inputs = tuple(backend.to_device(value, case.dtype) for value in problem.inputs)
            if options.timing.cache == "cold":
                backend.flush_cache()  # allocate the flush buffer before the peak is reset
            backend.synchronize()
            backend.reset_peak_memory()
            xp = backend.xp
            call: Callable[[], Any] = partial(method, *inputs, xp=xp, **params)
            if task.loop is not None:  # the task's own loop runs the method (a training run)
                call = task.loop.call(method, params, problem, backend, case.dtype)

            timing = measure(call, backend, options.timing, number)
            result.peak_memory_bytes = backend.peak_memory_bytes()
            if options.memory == "traced":
                result.traced_peak_bytes = _traced_peak(call)
            _keep_timing(result, timing)
            host = to_host(timing.output, backend)
            bad = _non_finite(host)
            if bad:
                result.status, result.message = Status.ERROR, f"output has {bad} non-finite values"
                return result
            result.metrics = _floats(task.metrics(problem, host))
            if task.loop is not None:  # the loop recorded its curve as it ran
                result.curve = task.loop.curve(problem, host)
            elif method.iterates is not None and options.curves != "none":  # untimed runs
                iterates = partial(method.iterates, *inputs, xp=xp, **params)
                result.curve = _convergence_curve(
                    iterates, task, problem, backend, options.curves, result.metrics
                )
            if task.loop is None:  # a loop's sizes are the workload's, not the kernel's
                steps = None
                if method.iterates is not None and (method.flops_wants_footprint or method.bytes):
                    steps = _steps(partial(method.iterates, *inputs, xp=xp, **params), result.curve)
                footprint = Footprint(
                    DTYPE_BYTES[case.dtype], tuple(problem.inputs), result.metrics, steps
                )
                result.flops = method.flop_count(case.sizes, params, footprint)
                if method.bytes is not None:
                    result.bytes = float(method.bytes(case.sizes, params, footprint))
    except Exception as exc:  # the method's (or a plugin's) failure is this case's result
        result.status, result.message = Status.ERROR, describe_exception(exc)
        return result
    bad_metrics = sorted(k for k, v in result.metrics.items() if not math.isfinite(v))
    if bad_metrics:
        result.status, result.message = (
            Status.ERROR,
            f"non-finite metrics: {', '.join(bad_metrics)}",
        )
    for model, count in (("flops", result.flops), ("bytes", result.bytes)):
        if count is not None and not (math.isfinite(count) and count >= 0):
            result.status, result.message = Status.ERROR, f"its {model} model gave {count}"
    return result


def _steps(iterates: Callable[[], Iterable[Any]], curve: list[dict[str, float]]) -> int:
    """The steps an iterative method ran: its curve's last step, or counted in an untimed
    run where there is no curve."""
    if curve:
        return int(curve[-1]["step"])
    return sum(1 for _ in iterates())


def _thread_info(pools: ThreadpoolController) -> list[dict[str, Any]]:
    """The BLAS/OpenMP pools a case ran with: their API and thread count."""
    return [
        {k: pool.info().get(k) for k in ("internal_api", "num_threads")}
        for pool in pools.lib_controllers
    ]


def _keep_timing(result: CaseResult, timing: Timing) -> None:
    result.number, result.samples = timing.number, timing.samples
    result.host_samples = timing.host_samples
    result.stats = timing.summary.as_dict() if timing.summary else {}


def curve_steps(steps: int, curves: Literal["full", "sparse"]) -> list[int]:
    """The steps (1-based) a curve of ``steps`` steps judges: every one (``full``), or
    ``sparse``: 1, 2, 4, 8, ... and the last."""
    if curves == "full":
        return list(range(1, steps + 1))
    powers = [2**i for i in range(steps.bit_length()) if 2**i < steps]
    return [*powers, steps] if steps else []


def _convergence_curve(
    iterates: Callable[[], Iterable[Any]],
    task: Task,
    problem: Problem,
    backend: Any,
    curves: Literal["full", "sparse"],
    final: dict[str, float],
) -> list[dict[str, float]]:
    """The task's metrics after the ``curve_steps`` of an iterative method, with the seconds
    to reach each: ``iterates()`` is run twice, once timed per step and once to judge the
    iterates. A task's per-step metrics (``Task.step_metrics``) judge every step, and the
    last step, the method's output, has the ``final`` (full) metrics of the case too."""
    seconds = _seconds_per_step(iterates(), backend)
    judged = set(curve_steps(len(seconds), curves))
    step_metrics = task.step_metrics or task.metrics
    curve = []
    for step, (iterate, elapsed) in enumerate(zip(iterates(), seconds, strict=False), start=1):
        if step not in judged:
            continue
        host = to_host(iterate, backend)
        metrics = _floats(step_metrics(problem, host))
        if step == len(seconds) and task.step_metrics is not None:
            metrics |= final
        curve.append({"step": step, "seconds": elapsed, **metrics})
    return curve


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
