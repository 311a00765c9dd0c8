"""What the results database gives back: stored runs and cases as typed, read-only records."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from harness.run.case import Status, case_identity, case_key


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

    @classmethod
    def from_columns(cls, columns: dict[str, Any]) -> StoredCase:
        """The case of a ``cases`` row given as its columns, JSON decoded."""
        return cls(**{**columns, "status": Status(columns["status"])})

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, as the database holds it (``harness show --json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def identity(self) -> dict[str, Any]:
        """``harness.run.case.case_identity``: the stored fields that make the case itself."""
        return case_identity(self.as_dict())

    def key(self) -> str:
        """``harness.run.case.case_key`` of the stored fields (the parameters with defaults
        filled in, unlike the stored ``case_key`` of the planned case)."""
        return case_key(self.as_dict())
