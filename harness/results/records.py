"""What the results database gives back: stored runs and cases as typed, read-only records."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from harness.run.case import Status, case_identity, case_key

NONE = type(None)
NUMBER = (int, float, NONE)
RUN_KINDS: dict[str, tuple[type, ...]] = {
    "id": (int,),
    "suite": (str,),
    "status": (str,),
    "metadata": (dict,),
    "options": (dict, NONE),
    "plan": (list, NONE),
    "planned": (int, NONE),
}
CASE_KINDS: dict[str, tuple[type, ...]] = {
    "id": (int,),
    "run_id": (int,),
    "sizes": (dict,),
    "problem": (dict,),
    "params": (dict,),
    "seed": (int,),
    "repetition": (int,),
    "samples": (list, NONE),
    "host_samples": (list, NONE),
    "stats": (dict, NONE),
    "median_s": NUMBER,
    "flops": NUMBER,
    "peak_fraction": NUMBER,
    "bytes": NUMBER,
    "bandwidth_fraction": NUMBER,
    "above_peak": (int, NONE),
    "metrics": (dict, NONE),
    "curve": (list, NONE),
    "threads": (list, NONE),
    "machine": (dict, NONE),
}
"""The kind of value each column of a record holds, as the harness stores it: a row that
does not (a file edited by hand, or damaged) is refused by name rather than failing later."""


def _check_kinds(columns: dict[str, Any], kinds: dict[str, tuple[type, ...]]) -> None:
    for name, allowed in kinds.items():
        value = columns.get(name)
        if not isinstance(value, allowed) or isinstance(value, bool):
            expected = " or ".join("null" if k is NONE else k.__name__ for k in allowed)
            raise ValueError(f"{name} is {value!r:.40}, not {expected}")


@dataclass(frozen=True)
class StoredRun:
    """One row of the ``runs`` table, its JSON columns decoded; the fields in the table's
    column order (``harness.results.db.SCHEMA`` says what each holds)."""

    id: int
    suite: str
    suite_path: str
    suite_text: str | None
    """The suite file as it ran (None from ``ResultsDB.runs``, which leaves it out)."""
    started_at: str
    finished_at: str | None
    status: str
    """``running`` or ``finished``."""
    metadata: dict[str, Any]
    uuid: str
    host: str | None
    pid: int | None
    options: dict[str, Any] | None
    plan: list[dict[str, Any]] | None
    """Every planned case (``Case`` fields), in order; None when stored without (schema
    version 1) and from ``ResultsDB.runs``, which leaves it out."""
    planned: int | None

    @classmethod
    def from_columns(cls, columns: dict[str, Any]) -> StoredRun:
        """The run of a ``runs`` row given as its columns, JSON decoded; ``ValueError``
        naming a column whose value is not of the kind this harness stores."""
        _check_kinds(columns, RUN_KINDS)
        return cls(**columns)

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, as the database holds it (``harness show --json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class StoredCase:
    """One row of the ``cases`` table, its JSON columns decoded; the fields in the table's
    column order (``harness.results.db.SCHEMA`` says what each holds)."""

    id: int
    run_id: int
    task: str
    method: str
    backend: str
    dtype: str
    sizes: dict[str, int]
    problem: dict[str, Any]
    params: dict[str, Any]
    """The method's parameters, defaults filled in."""
    seed: int
    status: Status
    message: str | None
    number: int | None
    samples: list[float] | None
    host_samples: list[float] | None
    stats: dict[str, Any] | None
    median_s: float | None
    unstable: int | None
    """1 when the timing's IQR/median passed the suite's threshold, 0 when not (as stored)."""
    flops: float | None
    peak_fraction: float | None
    peak_memory_bytes: int | None
    traced_peak_bytes: int | None
    threads: list[dict[str, Any]] | None
    metrics: dict[str, float] | None
    curve: list[dict[str, float]] | None
    finished_at: str
    repetition: int
    case_key: str
    """``harness.run.case.case_key`` of the case as planned (the parameters the suite set)."""
    machine: dict[str, Any] | None
    above_peak: int | None = None
    """1 when ``peak_fraction`` passed ``roofline.ABOVE_PEAK``: the measured peak is too low."""
    bytes: float | None = None
    """Bytes one call moves (the method's bytes model), or None."""
    bandwidth_fraction: float | None = None

    @classmethod
    def from_columns(cls, columns: dict[str, Any]) -> StoredCase:
        """The case of a ``cases`` row given as its columns, JSON decoded; ``ValueError``
        naming a column whose value is not of the kind this harness stores."""
        _check_kinds(columns, CASE_KINDS)
        return cls(**{**columns, "status": Status(columns["status"])})

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, as the database holds it (``harness show --json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def gbs(self) -> float | None:
        """Achieved GB/s: the method's bytes per call over the median time (None without a
        bytes model or a time)."""
        return self.bytes / self.median_s / 1e9 if self.bytes and self.median_s else None

    def identity(self) -> dict[str, Any]:
        """``harness.run.case.case_identity``: the stored fields that make the case itself."""
        return case_identity(self.as_dict())

    def key(self) -> str:
        """``harness.run.case.case_key`` of the stored fields (the parameters with defaults
        filled in, unlike the stored ``case_key`` of the planned case)."""
        return case_key(self.as_dict())
