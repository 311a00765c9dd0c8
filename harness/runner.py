"""Running a suite: each case from problem to stored result.

For one case the runner (in this process) checks that the backend can run here and that the
method supports it in that dtype, recording why not as ``unavailable`` or ``unsupported``;
generates the problem once in numpy float64 from the seed (shared by consecutive cases on the
same problem); and hands the case to a fresh worker process (``harness.isolation``, the
default) or runs it inline (``harness.execute``). Each result is stored in the results
database as it finishes, with the fraction of the machine's measured GEMM rate it reached.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from harness import metadata, roofline
from harness.backend import probe
from harness.case import Case, CaseResult, RunOptions
from harness.db import ResultsDB
from harness.discovery import describe_exception
from harness.execute import execute
from harness.isolation import run_in_worker, start_workers
from harness.params import bind
from harness.registry import Registry
from harness.suite import Suite
from harness.task import Problem


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
    case: Case, registry: Registry, problems: ProblemCache, options: RunOptions
) -> CaseResult:
    """Run one case as ``options`` say; never raises for what a plugin does."""
    backend = registry.backend(case.backend)
    availability = probe(backend)
    if not availability.available:
        return CaseResult(case, "unavailable", availability.reason)
    method = registry.method(case.method)
    params = bind(method.params, case.params)
    reason = method.unsupported_reason(backend.name, case.dtype)
    if reason is None and case.dtype not in backend.dtypes:
        reason = f"{backend.name} has no {case.dtype}"
    if reason is not None:
        return CaseResult(case, "unsupported", reason, params)
    try:
        problem = problems.get(case)
    except Exception as exc:  # the task plugin's failure: this case's result
        return CaseResult(
            case, "error", f"problem generation failed: {describe_exception(exc)}", params
        )
    if options.isolation == "inline":
        return execute(case, params, problem, registry, options)
    return run_in_worker(case, params, problem, registry, options)


def run_suite(
    suite: Suite,
    registry: Registry,
    db: ResultsDB,
    on_result: Callable[[CaseResult], None] = lambda result: None,
) -> int:
    """Run every case of a validated suite, storing each as it finishes; return the run id."""
    options = suite.options
    backends = sorted({c.backend for c in suite.cases})
    meta = metadata.collect(registry, backends)
    if options.roofline:
        pairs = sorted({(c.backend, c.dtype) for c in suite.cases})
        meta["roofline"] = roofline.for_run(registry, pairs, meta, threads=options.threads)
    if options.isolation == "process":
        used = [registry.backend(b) for b in backends]
        libraries = sorted({b.library for b in used if probe(b).available})
        plugins = [r.module.__name__ for r in registry.plugins if isinstance(r.module, ModuleType)]
        start_workers(libraries + plugins)
    run_id = db.start_run(suite.name, suite.path, suite.text, meta)
    problems = ProblemCache(registry)
    for case in suite.cases:
        result = run_case(case, registry, problems, options)
        peak = meta.get("roofline", {}).get(case.backend, {}).get(case.dtype, {})
        if result.gflops and peak.get("gemm_gflops"):
            result.peak_fraction = result.gflops / peak["gemm_gflops"]
        db.add_case(run_id, result.record())
        on_result(result)
    db.finish_run(run_id)
    return run_id
