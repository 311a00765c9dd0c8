"""The columns of a results table in the terminal (``harness run``, ``harness show``).

Works on the cases the database gives back (``ResultsDB.cases``), and returns plain text: each
caller escapes for its own medium.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.results.records import StoredCase
from harness.run.case import CaseResult

COLUMNS = (
    "method",
    "params",
    "backend",
    "dtype",
    "size",
    "median ms",
    "IQR %",
    "GFLOP/s",
    "% peak",
)
TRAFFIC_COLUMNS = ("GB/s", "% bw")
"""Shown where some case has a bytes model: achieved GB/s and its share of the bandwidth."""
TEXT_COLUMNS = ("method", "params", "backend", "dtype", "status")


def metric_names(records: Iterable[StoredCase]) -> list[str]:
    return sorted({name for r in records for name in (r.metrics or {})})


def has_traffic(records: Iterable[StoredCase]) -> bool:
    """Whether some case has a bytes model (then the table has ``TRAFFIC_COLUMNS``)."""
    return any(r.bytes for r in records)


def headers(metrics: list[str], traffic: bool = False) -> list[str]:
    shown = (*COLUMNS, *TRAFFIC_COLUMNS) if traffic else COLUMNS
    return [*shown, *(m.replace("_", " ") for m in metrics), "status"]


def status(record: StoredCase | CaseResult) -> str:
    """The status word of a stored or a just-finished case, with ``unstable`` added when the
    timing's spread was too wide and ``above peak`` when its rate passed the measured peak."""
    return (
        record.status
        + (" unstable" if record.unstable else "")
        + (" above peak" if record.above_peak else "")
    )


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def cells(
    record: StoredCase,
    metrics: list[str],
    params: dict[str, Any] | None = None,
    traffic: bool = False,
) -> list[str]:
    """One row: the case, its median time, spread and rate (with ``traffic``, its GB/s and
    share of the bandwidth), its metrics (not its status).

    ``params`` replaces the record's (complete) parameters, e.g. by those a suite set.
    """
    median = record.median_s
    gflops = record.flops / median / 1e9 if record.flops and median else None
    iqr = (record.stats or {}).get("iqr")
    peak = record.peak_fraction
    return [
        record.method,
        " ".join(
            f"{k}={v}"
            for k, v in [
                *(record.params if params is None else params).items(),
                # the problem seed and the repetition, where they tell rows apart
                *[(k, getattr(record, k)) for k in ("seed", "repetition") if getattr(record, k)],
            ]
        ),
        record.backend,
        record.dtype,
        "x".join(map(str, record.sizes.values())),
        _number(median and median * 1e3, ".3f"),
        _number(iqr / median * 100 if iqr is not None and median else None, ".1f"),
        _number(gflops, ".1f"),
        _number(peak and peak * 100, ".0f"),
        *(_traffic(record) if traffic else []),
        *(_number((record.metrics or {}).get(m), ".2e") for m in metrics),
    ]


def _traffic(record: StoredCase) -> list[str]:
    """Achieved GB/s and its share (%) of the measured bandwidth."""
    share = record.bandwidth_fraction
    return [_number(record.gbs, ".2f"), _number(share and share * 100, ".0f")]
