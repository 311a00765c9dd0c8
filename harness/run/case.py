"""What one measurement is (``Case``), how it is run (``RunOptions``), what became of it
(``CaseResult``). Plain data, pickled between the runner and its worker processes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

from harness.run.timing import TimingOptions


class Status(StrEnum):
    """What became of a case. A member equals its text, so stored records and JSON hold the
    plain words (``"ok"``, ``"error"``, ...)."""

    OK = "ok"
    """Measured and judged."""
    ERROR = "error"
    """The method (or a plugin) raised, or gave non-finite output."""
    TIMEOUT = "timeout"
    """Killed at the per-case time limit."""
    CRASHED = "crashed"
    """The worker died (signal, exit, memory limit)."""
    UNAVAILABLE = "unavailable"
    """The backend cannot run here."""
    UNSUPPORTED = "unsupported"
    """The method does not run on that backend or dtype."""


FAILED = (Status.ERROR, Status.TIMEOUT, Status.CRASHED)
"""The statuses of a case that ran and failed."""
DID_NOT_RUN = (Status.UNAVAILABLE, Status.UNSUPPORTED)
"""The statuses of a case that was never run here."""


KEY_FIELDS = ("task", "method", "backend", "dtype", "sizes", "problem", "params", "seed")
"""What makes a case itself, with its ``repetition``."""


def case_identity(case: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that make a case (a ``Case`` as a dict, or a stored record) itself:
    ``KEY_FIELDS`` and ``repetition`` (0 when absent)."""
    return {f: case[f] for f in KEY_FIELDS} | {"repetition": case.get("repetition", 0)}


def case_key(case: Mapping[str, Any]) -> str:
    """The canonical JSON of ``case_identity(case)``, keys sorted, so that equal cases give
    equal text however their dicts were ordered or whether a parameter came as a tuple or a
    list. The database keys a case by its ``params`` as the suite set them; compare by those
    stored (defaults filled in)."""
    return json.dumps(case_identity(case), sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Case:
    """One measurement: a method with its parameters, on one backend, dtype and problem."""

    task: str
    method: str
    backend: str
    dtype: str
    sizes: dict[str, int]
    problem: dict[str, Any]
    params: dict[str, Any]
    seed: int
    """Seed of the problem generator."""
    repetition: int = 0
    """Which of the suite's ``repetitions`` this is (0, 1, ...); a method with a ``seed``
    parameter the suite leaves unset takes it as its seed, so repetitions are independent draws."""

    def key(self) -> str:
        """``case_key`` of this case: equal for equal cases, unique within a run."""
        return case_key(asdict(self))

    def problem_key(self) -> tuple[Any, ...]:
        """Cases with equal keys share one generated problem."""
        return (self.task, tuple(self.sizes.items()), tuple(self.problem.items()), self.seed)


@dataclass(frozen=True)
class RunOptions:
    """How every case of a run is executed; a suite's ``timing:`` block sets these."""

    timing: TimingOptions = field(default_factory=TimingOptions)
    isolation: Literal["process", "inline"] = "process"
    """``process``: each case in a fresh process (forked from a warm case server,
    ``harness.run.isolation``); ``inline``: in this one (debugging)."""
    timeout: float = 300.0
    """Seconds a case may take, in a worker, before it is killed."""
    memory_limit_mb: int | None = None
    """A worker whose resident memory grows past this is killed."""
    threads: int | None = None
    """BLAS/OpenMP threads (threadpoolctl) while a case runs; ``None`` leaves the default."""
    roofline: bool = True
    """Measure (or read the cached) GEMM rate and memory bandwidth for the run's backends."""
    concurrent_timing: bool = False
    """Distributed runs: let Dask workers that share a machine time cases at the same time
    (more throughput; their timings then disturb each other)."""
    curves: Literal["full", "sparse", "none"] = "full"
    """Convergence curves of iterative methods: every step (``full``), steps 1, 2, 4, ... and
    the last (``sparse``), or none; judged by the task's per-step metrics where it has them."""
    memory: Literal["traced", "rss"] = "traced"
    """``traced``: the peak resident (device) memory and, from one extra untimed call, the
    tracemalloc peak; ``rss``: the peak resident (device) memory alone."""
    rounds: int = 1
    """Run the suite's cases this many times over, each round taking a 1/``rounds`` share of
    every case's samples and budget, so that drift in the machine hits every case alike (as
    asv's ``rounds``); a case is stored with the samples of all rounds
    (``harness.run.runner``)."""


@dataclass
class CaseResult:
    """What became of one case."""

    case: Case
    status: Status
    message: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    number: int | None = None
    """Calls per timing sample."""
    samples: list[float] = field(default_factory=list)
    """Seconds per call, one per sample, on the backend's clock."""
    host_samples: list[float] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    """``harness.run.stats.Summary`` of ``samples``."""
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    """For iterative methods: the metrics after each step (``step`` 1, 2, ...) the run's
    ``curves`` option judges, with the seconds to reach it."""
    flops: float | None = None
    peak_memory_bytes: int | None = None
    """Peak memory on the backend's device while the method ran (process RSS on CPU)."""
    traced_peak_bytes: int | None = None
    """Peak of Python-visible allocations (tracemalloc; numpy arrays included) of one call;
    None with ``memory: rss``."""
    threads: list[dict[str, Any]] = field(default_factory=list)
    """The BLAS/OpenMP thread pools in force while the case ran (threadpoolctl)."""
    peak_fraction: float | None = None
    """Achieved GFLOP/s over the machine's measured GEMM rate for this backend and dtype."""
    above_peak: bool | None = None
    """``peak_fraction`` above ``roofline.ABOVE_PEAK``: the peak probe is wrong, not the method
    (None: no rate to judge)."""
    bytes: float | None = None
    """Bytes one call moves at least (the method's ``BytesModel``)."""
    bandwidth_fraction: float | None = None
    """Achieved GB/s over the machine's measured memory bandwidth (the best of copy and
    triad) for this backend and dtype."""
    machine: dict[str, Any] = field(default_factory=dict)
    """The machine that ran the case: host, fingerprint, backend stack and its roofline
    (``harness.run.executors.MachineRecorder``); on a Dask cluster, the worker's address too."""

    @property
    def median_s(self) -> float | None:
        return self.stats.get("median")

    @property
    def unstable(self) -> bool | None:
        """Whether the timing's IQR/median passed the threshold (None: not timed)."""
        return self.stats.get("unstable")

    @property
    def gflops(self) -> float | None:
        return self.flops / self.median_s / 1e9 if self.flops and self.median_s else None

    @property
    def gbs(self) -> float | None:
        return self.bytes / self.median_s / 1e9 if self.bytes and self.median_s else None

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
            "repetition": c.repetition,
            "status": self.status,
            "message": self.message,
            "number": self.number,
            "samples": self.samples,
            "host_samples": self.host_samples,
            "stats": self.stats,
            "median_s": self.median_s,
            "unstable": self.unstable,
            "flops": self.flops,
            "peak_fraction": self.peak_fraction,
            "above_peak": self.above_peak,
            "bytes": self.bytes,
            "bandwidth_fraction": self.bandwidth_fraction,
            "peak_memory_bytes": self.peak_memory_bytes,
            "traced_peak_bytes": self.traced_peak_bytes,
            "threads": self.threads,
            "metrics": self.metrics,
            "curve": self.curve,
            "machine": self.machine,
        }
