"""Running a suite: each case from problem to stored result.

The runner hands the cases to an executor (``harness.run.executors``: this machine, the default;
``harness.run.dask_executor``: the workers of a Dask cluster). Where a case runs, ``run_case``
checks that the backend can run there and that the method supports it in that dtype,
recording why not as ``unavailable`` or ``unsupported``; generates the problem once in numpy
float64 from the seed (shared by consecutive cases on the same problem); and runs the case in
a fresh process (``harness.run.isolation``, the default) or inline (``harness.run.execute``).
Each result comes back stamped with its machine and the fraction of that machine's measured
GEMM rate it reached, and is stored in the results database (by this process alone) a few
cases per transaction (``ResultBatch``).

With the run option ``rounds`` above 1 the cases run in rounds, each round taking a share of
every case's samples (``run_rounds``), and a case is stored when its last round ends.

A run is opened with its planned cases and options (``start_run``), then its cases run from
that stored plan (``run_cases``), skipping those already stored: the same path runs a new
run and resumes an interrupted one (``resume_run``), so a resume neither repeats nor
duplicates a finished case.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from harness.model.params import bind
from harness.plugins.registry import Registry
from harness.results.db import ResultsDB, ResumeError, now
from harness.results.records import StoredRun
from harness.run import conditions, metadata, roofline
from harness.run.case import Case, CaseResult, RunOptions, Status
from harness.run.executors import Executor, LocalExecutor, ProblemCache, run_case, stamp_rates
from harness.run.stats import summarize
from harness.run.timing import TimingOptions
from harness.suite.loader import Suite

__all__ = ["ProblemCache", "resume_run", "run_case", "run_cases", "run_suite", "start_run"]

BATCH_CASES = 8
"""Finished cases stored in one transaction at most (fewer when they are slow)."""
BATCH_SECONDS = 1.0
"""Seconds after which the finished cases waiting are stored, however few."""


def _metadata(registry: Registry, cases: list[Case], options: RunOptions) -> dict[str, Any]:
    """The run's metadata, with the roofline of every (backend, dtype) it uses."""
    meta = metadata.collect(registry, sorted({c.backend for c in cases}), {c.task for c in cases})
    meta["conditions"] = {"start": conditions.collect()}
    if options.roofline:
        pairs = sorted({(c.backend, c.dtype) for c in cases})
        meta["roofline"] = roofline.for_run(registry, pairs, meta, threads=options.threads)
    return meta


def start_run(suite: Suite, registry: Registry, db: ResultsDB) -> int:
    """Open a run of a validated suite, storing its metadata (with the suite's tier),
    options and planned cases."""
    return db.start_run(
        suite.name,
        suite.path,
        suite.text,
        {**_metadata(registry, suite.cases, suite.options), "tier": suite.tier},
        plan=[dataclasses.asdict(c) for c in suite.cases],
        options=dataclasses.asdict(suite.options),
    )


def resume_run(run_id: int, registry: Registry, db: ResultsDB) -> StoredRun:
    """Make this process the one running the interrupted run ``run_id`` and return the run;
    raise ``ResumeError`` when it cannot go on here (finished, still running, run on
    another machine, stored without a plan, or naming what this installation lacks).

    The run goes on from its stored plan and options, not from the suite file, which may
    have changed since; each resume is noted, with the git state, in the run's metadata."""
    run = db.run(run_id)
    stored = db.case_keys(run_id)
    problems = []
    for case in _planned(run):
        if case.key() in stored:
            continue
        try:
            bind(registry.task(case.task).params, case.problem)
            bind(registry.method(case.method).params, case.params)
            registry.backend(case.backend)
        except (LookupError, ValueError) as exc:
            problems.append(f"{case.method} on {case.task}: {exc}")
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ResumeError(f"run {run_id} cannot go on here: " + "; ".join(unique))
    here = metadata.git_state(Path(metadata.__file__).resolve().parent)
    return db.claim_run(run_id, {"at": now(), "project": here, "conditions": conditions.collect()})


def _planned(run: StoredRun) -> list[Case]:
    return [Case(**case) for case in run.plan or []]


def _run_options(stored: dict[str, Any]) -> RunOptions:
    return RunOptions(**{**stored, "timing": TimingOptions(**stored["timing"])})


def run_cases(
    run_id: int,
    registry: Registry,
    db: ResultsDB,
    on_start: Callable[[Case], None] = lambda case: None,
    on_result: Callable[[CaseResult], None] = lambda result: None,
    isolation: Literal["process", "inline"] | None = None,
    executor: Executor | None = None,
) -> None:
    """Run the planned cases of ``run_id`` not stored yet on ``executor`` (default: this
    machine, in plan order), storing each as it finishes, in the order they finish, then mark
    the run finished, with the machine's conditions at its end (``harness.run.conditions``).
    ``isolation`` overrides the run's option."""
    run = db.run(run_id)
    options = _run_options(run.options or {})
    if isolation is not None:
        options = dataclasses.replace(options, isolation=isolation)
    stored = db.case_keys(run_id)
    todo = [case for case in _planned(run) if case.key() not in stored]
    batch = ResultBatch(db, run_id)
    try:
        for result in run_rounds(executor or LocalExecutor(), todo, registry, options, on_start):
            batch.add(result)
            on_result(result)
    finally:  # stopped (Ctrl-C, SIGTERM, a failure): what finished is stored all the same
        batch.commit()
    db.finish_run(run_id, end_conditions=conditions.collect())


def run_rounds(
    executor: Executor,
    cases: list[Case],
    registry: Registry,
    options: RunOptions,
    on_start: Callable[[Case], None],
) -> Iterator[CaseResult]:
    """The result of each case, run in ``options.rounds`` rounds: every round runs all the
    cases still going, each with a 1/rounds share of its samples and budget
    (``round_options``), so that a drift of the machine (another job, the clock, the
    temperature) falls on every case alike instead of on the cases that ran while it lasted.
    A case's result is its rounds merged (``merge_rounds``), given when its last round ends;
    a case that did not end ``ok`` in a round is given as it stands and runs no more rounds.
    With one round, the executor's results as they come. A run stopped between rounds stores
    none of the unfinished cases' rounds; ``--resume`` runs them again from the first."""
    if options.rounds <= 1:
        yield from executor.run(cases, registry, options, on_start)
        return
    pending: dict[str, CaseResult] = {}
    going = list(cases)
    for number in range(1, options.rounds + 1):
        last = number == options.rounds
        for result in executor.run(going, registry, round_options(options, number), on_start):
            key = result.case.key()
            merged = merge_rounds(pending.pop(key), result, options) if key in pending else result
            if last or merged.status != Status.OK:
                yield merged
            else:
                pending[key] = merged
        going = [case for case in going if case.key() in pending]


def round_options(options: RunOptions, number: int) -> RunOptions:
    """The options of round ``number`` of ``options.rounds``: a 1/rounds share of the samples
    (at least one) and of the budget; the convergence curve and the traced memory only in
    the first round (they are not timings, and one of each is all a case keeps)."""
    rounds, timing = options.rounds, options.timing
    shared = dataclasses.replace(
        timing,
        min_samples=math.ceil(timing.min_samples / rounds),
        max_samples=max(math.ceil(timing.max_samples / rounds), 1),
        budget=timing.budget / rounds,
    )
    if number == 1:
        return dataclasses.replace(options, timing=shared)
    return dataclasses.replace(options, timing=shared, curves="none", memory="rss")


def merge_rounds(earlier: CaseResult, later: CaseResult, options: RunOptions) -> CaseResult:
    """One case's rounds so far as one result: the samples of both, their statistics, the
    larger peak memory; metrics, curve, flop and bytes counts of the first round; the shares
    of the roofline from the merged median. A round that did not end ``ok`` is the result."""
    if later.status != Status.OK:
        return later
    samples = earlier.samples + later.samples
    merged = dataclasses.replace(
        earlier,
        samples=samples,
        host_samples=earlier.host_samples + later.host_samples,
        stats=summarize(samples, options.timing.unstable_above).as_dict(),
        peak_memory_bytes=max(
            (m for m in (earlier.peak_memory_bytes, later.peak_memory_bytes) if m is not None),
            default=None,
        ),
    )
    stamp_rates(merged)
    return merged


class ResultBatch:
    """Finished cases waiting to be stored, committed together in one transaction once there
    are ``BATCH_CASES`` of them or ``BATCH_SECONDS`` have passed since the last commit (and
    when the run ends or stops). A process killed outright (SIGKILL, power loss) loses only
    the cases of the batch: fewer than ``BATCH_CASES``, finished within ``BATCH_SECONDS``;
    ``harness run --resume`` runs them again."""

    def __init__(self, db: ResultsDB, run_id: int):
        self.db, self.run_id = db, run_id
        self.pending: list[tuple[dict[str, Any], str | None]] = []
        self.committed_at = time.monotonic()

    def add(self, result: CaseResult) -> None:
        self.pending.append((result.record(), result.case.key()))
        waited = time.monotonic() - self.committed_at
        if len(self.pending) >= BATCH_CASES or waited >= BATCH_SECONDS:
            self.commit()

    def commit(self) -> None:
        if self.pending:
            self.db.add_cases(self.run_id, self.pending)
            self.pending = []
        self.committed_at = time.monotonic()


def run_suite(
    suite: Suite,
    registry: Registry,
    db: ResultsDB,
    on_result: Callable[[CaseResult], None] = lambda result: None,
    executor: Executor | None = None,
) -> int:
    """Run every case of a validated suite on ``executor`` (default: this machine), storing
    each as it finishes; return the run id."""
    run_id = start_run(suite, registry, db)
    run_cases(run_id, registry, db, on_result=on_result, executor=executor)
    return run_id
