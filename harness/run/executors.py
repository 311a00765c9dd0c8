"""Executors: where and how the cases of a run are run, one interface for every place.

An executor takes the cases to run (the pending ones of a run) and yields a ``CaseResult`` for
each as it finishes, in whatever order they finish; the caller (``harness.run.runner``) stores
each as it arrives, so only the process that holds the database writes to it.

- ``LocalExecutor`` runs the cases one after another on this machine: each in a fresh
  process forked from a warm case server (``harness.run.isolation``; the default) or,
  when the run's ``isolation`` is ``inline``, in this process (for debugging: a crash takes
  the harness with it).
- ``harness.run.dask_executor.DaskExecutor`` spreads them over the workers of a Dask cluster;
  each worker runs its cases exactly as ``LocalExecutor`` does here.

Wherever a case runs, the same function turns it into a result (``run_case``): the backend's
availability and the method's support are checked there, the problem is generated there from
the seed, and the result is stamped with the machine that produced it (``MachineRecorder``):
its fingerprint and its measured roofline, against which the result's share of the peak GEMM
rate is computed. Results from several machines stay comparable that way.
"""

from __future__ import annotations

import contextlib
import json
import platform
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

from harness.model.backend import Backend, probe
from harness.model.params import bind
from harness.model.sparse import is_sparse
from harness.model.task import Problem
from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry
from harness.run import metadata, roofline
from harness.run.case import Case, CaseResult, RunOptions, Status
from harness.run.execute import execute, thread_pools
from harness.run.isolation import CaseWorkers, start_workers, workers_for

OnStart = Callable[[Case], None]


class ProblemCache:
    """Holds the last generated problem, so consecutive cases on it generate it once."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.key: tuple[Any, ...] | None = None
        self.problem: Problem | None = None

    def get(self, case: Case, threads: int | None = None) -> Problem:
        """The problem of ``case``, generated with ``threads`` BLAS/OpenMP threads (the
        run's ``threads``, as its cases: no more threads than the run allows the machine)."""
        if case.problem_key() != self.key:
            task = self.registry.task(case.task)
            structure = bind(task.params, case.problem)
            pools = thread_pools()
            with pools.limit(limits=threads) if threads else contextlib.nullcontext():
                rng = np.random.default_rng(case.seed)
                self.problem = task.generate(case.sizes, rng, **structure)
            self.key = case.problem_key()
        assert self.problem is not None
        return self.problem


def run_case(
    case: Case,
    registry: Registry,
    problems: ProblemCache,
    options: RunOptions,
    number: int | None = None,
    workers: CaseWorkers | None = None,
) -> CaseResult:
    """Run one case as ``options`` say, inline or in a case process of ``workers`` (default:
    this process's for ``registry``); ``number``: calls per sample an earlier case calibrated
    (re-checked). Never raises for what a plugin does."""
    backend = registry.backend(case.backend)
    method = registry.method(case.method)
    params = bind(method.params, case.params)  # stored complete, whatever became of the case
    availability = probe(backend)
    if not availability.available:
        return CaseResult(case, Status.UNAVAILABLE, availability.reason, params)
    reason = method.unsupported_reason(backend.name, case.dtype)
    if reason is None and case.dtype not in backend.dtypes:
        reason = f"{backend.name} has no {case.dtype}"
    if reason is not None:
        return CaseResult(case, Status.UNSUPPORTED, reason, params)
    try:
        problem = problems.get(case, options.threads)
    except Exception as exc:  # the task plugin's failure: this case's result
        return CaseResult(
            case, Status.ERROR, f"problem generation failed: {describe_exception(exc)}", params
        )
    if not backend.supports_sparse and any(map(is_sparse, problem.inputs)):
        return CaseResult(
            case, Status.UNSUPPORTED, f"backend {backend.name} has no sparse matrices", params
        )
    try:
        refusal = method.refusal(
            problem.inputs, backend=backend, dtype=case.dtype, sizes=case.sizes, params=params
        )
    except Exception as exc:  # the method plugin's failure: this case's result
        return CaseResult(
            case, Status.ERROR, f"supports() raised {describe_exception(exc)}", params
        )
    if refusal is not None:
        return CaseResult(case, Status.UNSUPPORTED, refusal, params)
    if options.isolation == "inline":
        return execute(case, params, problem, registry, options, number)
    return (workers or workers_for(registry)).run(case, params, problem, options, number)


def start_case_workers(registry: Registry, backends: Sequence[str]) -> None:
    """Start the process server warm: importing the plugin modules, and the array libraries
    and array-API namespaces (``Backend.xp``, often imported lazily, at a cost of 0.1 to
    0.4 s a process) of ``backends`` that are available here (only the first call counts)."""
    used = [
        b for b in (registry.backend(name) for name in sorted(set(backends))) if probe(b).available
    ]
    libraries = sorted({b.library for b in used} | {_namespace(b) for b in used} - {""})
    plugins = [r.module.__name__ for r in registry.plugins if isinstance(r.module, ModuleType)]
    start_workers(libraries + plugins)


def _namespace(backend: Backend) -> str:
    """The module name of ``backend.xp`` (imported here, never computed with); "" if none."""
    try:
        return str(backend.xp.__name__)
    except Exception:  # a plugin's namespace failing to import: the cases will say so
        return ""


class MachineRecorder:
    """The machine a case ran on, as its result keeps it: host, CPU, cores, memory, platform,
    the backend's stack (library, version, device, BLAS), their fingerprint
    (``roofline.fingerprint``), and the roofline measured here for the case's backend, dtype
    and thread count (``roofline.for_run``: read from the cache, or measured once).

    Metadata is collected once per backend and the roofline once per (backend, dtype,
    threads) for the life of the process; each result gets its own copy of the record."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.metadata: dict[str, dict[str, Any]] = {}
        self.rooflines: dict[tuple[str, str, int | None], dict[str, Any] | None] = {}
        self.records: dict[tuple[str, str, int | None, bool], dict[str, Any]] = {}

    def record(self, case: Case, options: RunOptions) -> dict[str, Any]:
        key = (case.backend, case.dtype, options.threads, options.roofline)
        if key not in self.records:
            self.records[key] = self._record(case, options)
        return dict(self.records[key])

    def _record(self, case: Case, options: RunOptions) -> dict[str, Any]:
        if case.backend not in self.metadata:
            self.metadata[case.backend] = metadata.collect(self.registry, [case.backend])
        meta = self.metadata[case.backend]
        backend_meta = meta["backends"].get(case.backend, {})
        machine = {
            "host": platform.node(),
            "fingerprint": roofline.fingerprint(meta, backend_meta),
            **{k: meta[k] for k in ("cpu", "cores", "memory_bytes", "platform")},
            "backend": backend_meta,
            "roofline": None,
        }
        if options.roofline:
            key = (case.backend, case.dtype, options.threads)
            if key not in self.rooflines:
                self.rooflines[key] = self._roofline(case, meta, options.threads)
            machine["roofline"] = self.rooflines[key]
        return machine

    def _roofline(
        self, case: Case, meta: dict[str, Any], threads: int | None
    ) -> dict[str, Any] | None:
        try:
            measured = roofline.for_run(
                self.registry, [(case.backend, case.dtype)], meta, threads=threads
            )
        except Exception as exc:  # e.g. an unreadable cache file: no roofline, the case stands
            return {"error": describe_exception(exc)}
        return measured.get(case.backend, {}).get(case.dtype)  # None where it cannot run


def calibration_family(case: Case) -> tuple[Any, ...]:
    """Cases whose calls per sample one calibration serves: the same method and parameters,
    backend, dtype and sizes, on any problem (its spectrum, its seed)."""
    params = json.dumps(case.params, sort_keys=True, default=str)
    return (case.method, params, case.backend, case.dtype, tuple(sorted(case.sizes.items())))


class CaseRunner:
    """Runs cases one at a time in this process's care: problem generation (consecutive
    cases on one problem share it), the case itself (``run_case``), and the stamp of the
    machine that produced the result, with the result's fraction of its peak GEMM rate.

    The calls per sample of a case that was timed stably (not ``unstable``) serve the next
    case of its ``calibration_family``, whose first sample re-checks them (``timing``)."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.problems = ProblemCache(registry)
        self.machine = MachineRecorder(registry)
        self.calibrations: dict[tuple[Any, ...], int] = {}

    def run(self, case: Case, options: RunOptions) -> CaseResult:
        family = calibration_family(case)
        number = self.calibrations.get(family)
        result = run_case(case, self.registry, self.problems, options, number)
        if result.status == Status.OK and result.number and not result.unstable:
            self.calibrations[family] = result.number
        result.machine = self.machine.record(case, options)
        stamp_rates(result)
        return result


def stamp_rates(result: CaseResult) -> None:
    """The result's shares of its machine's measured roofline (``result.machine``): of the
    GEMM peak (and whether it passed ``roofline.ABOVE_PEAK``) and of the bandwidth."""
    measured = result.machine.get("roofline") or {}
    peak = measured.get("gemm_gflops")
    if result.gflops and peak:
        result.peak_fraction = result.gflops / peak
        result.above_peak = result.peak_fraction > roofline.ABOVE_PEAK
    bandwidth = max(measured.get("copy_gbs") or 0.0, measured.get("triad_gbs") or 0.0)
    if result.gbs and bandwidth:
        result.bandwidth_fraction = result.gbs / bandwidth


class Executor(ABC):
    """Runs cases somewhere and yields their results as they finish. Use it as a context
    manager, or call ``close()``, to release what it holds (worker processes, a cluster)."""

    @abstractmethod
    def run(
        self,
        cases: Sequence[Case],
        registry: Registry,
        options: RunOptions,
        on_start: OnStart = lambda case: None,
    ) -> Iterator[CaseResult]:
        """One result per case, in the order they finish; ``on_start`` is called as each
        case is handed over to run. Never raises for what a case does."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What the run's metadata keeps of this executor (its kind, the cluster's workers)."""

    def close(self) -> None:  # noqa: B027 - nothing to release unless an executor holds something
        """Release what this executor holds."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class LocalExecutor(Executor):
    """The cases one after another on this machine: each in a fresh process, or in this
    process when ``options.isolation`` is ``inline``. One ``CaseRunner`` serves every call,
    so a suite run in rounds reuses the problems and calibrations of its first round."""

    def __init__(self) -> None:
        self.runner: CaseRunner | None = None

    def run(
        self,
        cases: Sequence[Case],
        registry: Registry,
        options: RunOptions,
        on_start: OnStart = lambda case: None,
    ) -> Iterator[CaseResult]:
        if options.isolation == "process" and cases:
            start_case_workers(registry, [case.backend for case in cases])
        if self.runner is None or self.runner.registry is not registry:
            self.runner = CaseRunner(registry)
        runner = self.runner
        for case in cases:
            on_start(case)
            yield runner.run(case, options)

    def describe(self) -> dict[str, Any]:
        return {"kind": "local", "host": platform.node()}
