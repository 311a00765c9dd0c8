"""asv benchmarks for every case of a harness suite, built from the plugin registry.

The suite is ``suites/asv.yaml`` next to this folder, or the file named by the environment
variable ``HARNESS_ASV_SUITE``. Each task in the suite becomes one benchmark class (task
``orthogonalize`` → ``suite_cases.Orthogonalize``) whose asv parameters are the suite's
methods (with their parameters), sizes, problems, backends and dtypes; a combination that
is not a case of the suite, or whose backend cannot run here, is skipped (``n/a``). Per case:

- ``track_time``: the harness's median seconds per call (its own timing protocol and clock:
  CUDA events on a GPU), not asv's timer;
- ``track_<metric>``: each quality metric the task reports (orthogonality error, ...), so an
  accuracy regression shows like a slowdown;
- ``track_peak_memory``: the process's resident peak while the method was timed, and
  ``track_traced_peak``: the peak of the numpy allocations of one call (tracemalloc), in bytes.

The whole suite is measured once per commit and environment, inline, in asv's
``setup_cache`` process (asv gives every benchmark its own process, so the harness's worker
processes would only add overhead); each ``track_*`` reads its case from that cache.

Names and versions are stable: a benchmark is named by task and metric only, a case by
labels built from the suite (``newton_schulz(coefficients=muon, steps=5)``, ``128x128``),
and ``version`` is an explicit digest of ``SCHEMA`` and the suite's seed and timing options,
not asv's hash of this file's source, so editing this module keeps the history, and
changing how cases are measured deliberately starts a new one. A method renamed in a
plugin keeps its history when ``RENAMED`` maps its new name to the old one.

Everything here runs against the harness of the commit asv benchmarks, so it uses only the
harness's stable API: ``Registry.load``, ``load`` of a suite, ``run_case``, ``ProblemCache``,
``RunOptions``, found in the layout of commit 104101b on or the flat layout before it, and
the statuses as they are stored (``"ok"``; ``"unavailable"``, ``"unsupported"``), which every
commit shares.
"""

from __future__ import annotations

import dataclasses as _dataclasses
import hashlib as _hashlib
import json as _json
import math as _math
import os as _os
import sys as _sys
from collections.abc import Callable as _Callable
from pathlib import Path as _Path
from typing import Any as _Any
from typing import ClassVar as _ClassVar

try:  # the layout by concept, since commit 104101b
    from harness.plugins import registry as _registry
    from harness.run import runner as _runner
    from harness.suite import loader as _suite
except ImportError:  # the flat layout of the commits before it
    from harness import registry as _registry  # type: ignore[no-redef]
    from harness import runner as _runner  # type: ignore[no-redef]
    from harness import suite as _suite  # type: ignore[no-redef]

OK = "ok"
DID_NOT_RUN = ("unavailable", "unsupported")
"""Statuses as every commit stores them (``harness.run.case.Status`` is newer than some)."""

SUITE_ENV = "HARNESS_ASV_SUITE"
"""Environment variable naming the suite file to track (default ``suites/asv.yaml``)."""

DEFAULT_SUITE = _Path(__file__).resolve().parent.parent / "suites" / "asv.yaml"

SCHEMA = "1"
"""Bump when what a benchmark measures changes meaning: asv then starts a new history."""

RENAMED: dict[str, str] = {}
"""New method name → the name its asv history is stored under (a method renamed in code)."""

PARAM_NAMES = ["method", "size", "problem", "backend", "dtype"]

_Key = tuple[str, ...]


def suite_path() -> _Path:
    """The suite file asv tracks: ``$HARNESS_ASV_SUITE`` or ``suites/asv.yaml``."""
    return _Path(_os.environ.get(SUITE_ENV) or DEFAULT_SUITE)


def method_label(name: str, params: dict[str, _Any]) -> str:
    """``name(k=v, ...)`` with the suite's parameters in sorted order; ``name`` alone."""
    name = RENAMED.get(name, name)
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={params[k]}' for k in sorted(params))})"


def asv_labels(case: _Any) -> _Key:
    """The case's task and asv parameter labels (in ``PARAM_NAMES`` order)."""
    size = "x".join(str(v) for v in case.sizes.values())
    problem = ", ".join(f"{k}={case.problem[k]}" for k in sorted(case.problem)) or "default"
    return (
        case.task,
        method_label(case.method, case.params),
        size,
        problem,
        case.backend,
        case.dtype,
    )


def summarize(result: _Any) -> dict[str, _Any]:
    """What the benchmarks read from a ``CaseResult``, as plain (picklable) data."""
    return {
        "status": result.status,
        "message": result.message,
        "median": result.stats.get("median"),
        "metrics": dict(result.metrics),
        "peak_memory_bytes": result.peak_memory_bytes,
        "traced_peak_bytes": result.traced_peak_bytes,
    }


def _inline(options: _Any, **timing: _Any) -> _Any:
    """The suite's options, run in this process (asv already isolates each benchmark)."""
    options = _dataclasses.replace(options, isolation="inline", roofline=False)
    if timing:
        options = _dataclasses.replace(
            options, timing=_dataclasses.replace(options.timing, **timing)
        )
    return options


def _load() -> tuple[_Any, _Any]:
    registry = _registry.Registry.load()
    return registry, _suite.load(str(suite_path()), registry)


_REGISTRY, _SUITE = _load()
_OPTIONS = _inline(_SUITE.options)
_CASES: dict[_Key, _Any] = {asv_labels(case): case for case in _SUITE.cases}

VERSION = _hashlib.sha256(
    _json.dumps(
        [SCHEMA, _SUITE.seed, _dataclasses.asdict(_SUITE.options.timing), _OPTIONS.threads],
        sort_keys=True,
        default=str,
    ).encode()
).hexdigest()[:12]
"""asv's ``version`` of every benchmark here (see the module docstring)."""


def measure_suite() -> dict[_Key, dict[str, _Any]]:
    """Run every case of the suite, inline, in order; each case's summary by key."""
    problems = _runner.ProblemCache(_REGISTRY)
    return {
        key: summarize(_runner.run_case(case, _REGISTRY, problems, _OPTIONS))
        for key, case in _CASES.items()
    }


def metric_names(task: str) -> list[str]:
    """The metrics ``task`` reports, from one minimal run (one call timed) of its smallest
    case that runs here."""
    cases = [case for case in _SUITE.cases if case.task == task]
    for case in sorted(cases, key=lambda c: _math.prod(c.sizes.values())):
        options = _inline(
            _OPTIONS, warmup=0, min_time=0.0, min_samples=1, max_samples=1, budget=0.0
        )
        result = _runner.run_case(case, _REGISTRY, _runner.ProblemCache(_REGISTRY), options)
        if result.status == OK:
            return sorted(result.metrics)
    print(f"asv: no case of task {task!r} ran here; its metrics are not tracked", file=_sys.stderr)
    return []


def _class_name(task: str) -> str:
    return "".join(part.capitalize() for part in task.replace("-", "_").split("_"))


class _SuiteBenchmarks:
    """One task's cases; the subclasses made by ``_benchmark_class`` set ``task``/``params``."""

    task = ""
    param_names = PARAM_NAMES
    params: _ClassVar[list[list[str]]] = []
    version = VERSION
    timeout = max(60.0, _OPTIONS.timeout * len(_CASES))

    def setup_cache(self) -> dict[_Key, dict[str, _Any]]:
        return measure_suite()

    def setup(self, results: dict[_Key, dict[str, _Any]], *labels: str) -> None:
        summary = results.get((self.task, *labels))
        if summary is None:
            raise NotImplementedError("not a case of the suite")
        if summary["status"] in DID_NOT_RUN:
            raise NotImplementedError(f"{summary['status']}: {summary['message']}")

    @staticmethod
    def value(summary: dict[str, _Any], field: str, metric: str | None = None) -> float:
        """A number from a summary; a case that failed raises (asv shows it as failed)."""
        if summary["status"] != OK:
            raise RuntimeError(f"case {summary['status']}: {summary['message']}")
        value = summary["metrics"].get(metric) if metric else summary[field]
        if value is None:
            raise NotImplementedError(f"{metric or field} not reported for this case")
        return float(value)

    def track_time(self, results: dict[_Key, dict[str, _Any]], *labels: str) -> float:
        return self.value(results[(self.task, *labels)], "median")

    track_time.unit = "seconds"  # type: ignore[attr-defined]

    def track_peak_memory(self, results: dict[_Key, dict[str, _Any]], *labels: str) -> float:
        return self.value(results[(self.task, *labels)], "peak_memory_bytes")

    track_peak_memory.unit = "bytes"  # type: ignore[attr-defined]

    def track_traced_peak(self, results: dict[_Key, dict[str, _Any]], *labels: str) -> float:
        return self.value(results[(self.task, *labels)], "traced_peak_bytes")

    track_traced_peak.unit = "bytes"  # type: ignore[attr-defined]


def _metric_benchmark(metric: str, higher_is_better: bool) -> _Callable[..., float]:
    def track(self: _SuiteBenchmarks, results: dict[_Key, dict[str, _Any]], *labels: str) -> float:
        return self.value(results[(self.task, *labels)], "metrics", metric)

    track.__name__ = f"track_{metric}"
    track.__doc__ = f"The task's ``{metric}`` for this case " + (
        "(the task declares it higher-is-better; asv reads every tracked value as "
        "lower-is-better, so read a drop of it as the regression)"
        if higher_is_better
        else "(lower is better)."
    )
    track.unit = "unitless"  # type: ignore[attr-defined]
    return track


def _benchmark_class(task: str) -> type:
    """The benchmark class of ``task``: its parameter axes and one ``track_`` per metric."""
    keys = [key for key in _CASES if key[0] == task]
    axes = [list(dict.fromkeys(key[i + 1] for key in keys)) for i in range(len(PARAM_NAMES))]
    attrs: dict[str, _Any] = {"task": task, "params": axes, "__doc__": f"Task {task!r}."}
    higher = set(_REGISTRY.task(task).higher_is_better)
    for metric in metric_names(task):
        attrs[f"track_{metric}"] = _metric_benchmark(metric, metric in higher)
    return type(_class_name(task), (_SuiteBenchmarks,), attrs)


for _task in dict.fromkeys(case.task for case in _SUITE.cases):
    globals()[_class_name(_task)] = _benchmark_class(_task)
