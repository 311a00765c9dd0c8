"""Stored cases as tidy tables (one observation per row, one variable per column), written
as CSV, JSON or Parquet for pandas, polars, R or a spreadsheet.

Three tables, each row starting with the case's identity (``ID_COLUMNS``, then its sizes as
``size_<dim>``, its problem as ``problem_<name>`` and its method parameters, defaults
included, as ``p_<name>``, after benchopt's ``p_*`` columns):

- ``cases``: one row per case: status, timing statistics ``time_<stat>_s``, rate, memory
  and quality metrics ``metric_<name>``;
- ``samples``: one row per timing sample (``sample``, ``seconds``, ``host_seconds``);
- ``curves``: one row per step of an iterative method (``step``, ``metric_<name>``, ...).

A column some rows lack is empty (null) there. In CSV and Parquet a list or mapping value is
written as its JSON text, and so is every value of a column whose rows mix types.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from harness.output_files import write_atomically
from harness.results.records import StoredCase
from harness.run.case import KEY_FIELDS

FORMATS = ("csv", "parquet", "json")
FLATTENED = {"sizes": "size_", "problem": "problem_", "params": "p_"}
"""The mappings among a case's ``KEY_FIELDS``: a column per entry, named with this prefix."""
ID_COLUMNS = ("run_id", "case_id", *(f for f in KEY_FIELDS if f not in FLATTENED), "repetition")
STATS = (
    "median",
    "q1",
    "q3",
    "iqr",
    "min",
    "max",
    "mean",
    "std",
    "mad",
    "ci_low",
    "ci_high",
    "ci_level",
)
"""Fields of ``harness.run.stats.Summary`` exported as ``time_<stat>_s``."""


class MissingDependency(Exception):
    """A format whose library is not installed, with the command that installs it."""


def _identity(case: StoredCase) -> dict[str, Any]:
    return {
        "run_id": case.run_id,
        "case_id": case.id,
        **{c: getattr(case, c) for c in ID_COLUMNS[2:]},
        **{
            f"{prefix}{k}": v
            for field, prefix in FLATTENED.items()
            for k, v in getattr(case, field).items()
        },
    }


def case_rows(cases: list[StoredCase]) -> list[dict[str, Any]]:
    """One row per case."""
    rows = []
    for case in cases:
        stats = case.stats or {}
        median, flops = case.median_s, case.flops
        rows.append(
            {
                **_identity(case),
                "status": case.status.value,
                "message": case.message,
                "number": case.number,
                "n_samples": len(case.samples or []),
                **{f"time_{s}_s": stats.get(s) for s in STATS},
                "unstable": None if case.unstable is None else bool(case.unstable),
                "flops": flops,
                "gflops": flops / median / 1e9 if flops and median else None,
                "peak_fraction": case.peak_fraction,
                "above_peak": None if case.above_peak is None else bool(case.above_peak),
                "bytes": case.bytes,
                "gbs": case.gbs,
                "bandwidth_fraction": case.bandwidth_fraction,
                "peak_memory_bytes": case.peak_memory_bytes,
                "traced_peak_bytes": case.traced_peak_bytes,
                "finished_at": case.finished_at,
                **{f"metric_{k}": v for k, v in (case.metrics or {}).items()},
            }
        )
    return _uniform(rows)


def sample_rows(cases: list[StoredCase]) -> list[dict[str, Any]]:
    """One row per timing sample: seconds per call on the backend's and the host's clock."""
    rows = [
        {**_identity(case), "sample": i, "seconds": seconds, "host_seconds": host}
        for case in cases
        for i, (seconds, host) in enumerate(
            zip(case.samples or [], case.host_samples or [], strict=True)
        )
    ]
    return _uniform(rows)


def curve_rows(cases: list[StoredCase]) -> list[dict[str, Any]]:
    """One row per step of an iterative method: the metrics (and seconds) at that step."""
    rows = [
        {
            **_identity(case),
            **{k if k in ("step", "seconds") else f"metric_{k}": v for k, v in point.items()},
        }
        for case in cases
        for point in case.curve or []
    ]
    return _uniform(rows)


TABLES: dict[str, Callable[[list[StoredCase]], list[dict[str, Any]]]] = {
    "cases": case_rows,
    "samples": sample_rows,
    "curves": curve_rows,
}


def _group(column: str) -> int:
    """Where a column goes: identity, sizes, problem, parameters, measurements, metrics."""
    if column in ID_COLUMNS:
        return 0
    for group, prefix in enumerate(FLATTENED.values(), 1):
        if column.startswith(prefix):
            return group
    return 5 if column.startswith("metric_") else 4


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with every column (None where it has none): grouped as ``_group`` says,
    in the order of first use within a group."""
    columns = sorted(dict.fromkeys(k for row in rows for k in row), key=_group)
    return [{c: row.get(c) for c in columns} for row in rows]


def _flat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows a typed columnar format can hold: lists and mappings as JSON text, and a column
    of mixed types (beyond int with float) as JSON text throughout."""
    if not rows:
        return rows
    textual = set()
    for column in rows[0]:
        kinds = {type(row[column]) for row in rows if row[column] is not None}
        if (
            kinds & {list, tuple, dict}
            or len(kinds - {int, float}) + bool(kinds & {int, float}) > 1
        ):
            textual.add(column)
    return [
        {
            k: json.dumps(v) if k in textual and v is not None and not isinstance(v, str) else v
            for k, v in row.items()
        }
        for row in rows
    ]


def _parquet_writer(rows: list[dict[str, Any]]) -> Callable[[Path], None]:
    """What writes ``rows`` as Parquet to a path (``MissingDependency`` without pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependency(
            "parquet export needs pyarrow: pip install 'linalg-harness[export]'"
        ) from None
    table = pa.Table.from_pylist(_flat(rows))
    return lambda path: pq.write_table(table, path)


def _write_text(rows: list[dict[str, Any]], fmt: str, stream: TextIO) -> None:
    """``rows`` as CSV or JSON text on ``stream``."""
    if fmt == "json":
        stream.write(json.dumps(rows, indent=1, allow_nan=False) + "\n")
    else:
        flat = _flat(rows)
        writer = csv.DictWriter(stream, fieldnames=list(flat[0]) if flat else [])
        writer.writeheader()
        writer.writerows(flat)


def _write_text_file(rows: list[dict[str, Any]], fmt: str, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        _write_text(rows, fmt, stream)


def write(rows: list[dict[str, Any]], fmt: str, out: Path | None) -> None:
    """Write ``rows`` (uniform, as the ``*_rows`` functions make them) as ``fmt`` to ``out``,
    replacing it whole (``harness.output_files.write_atomically``: on an ``OutputError`` it
    is as it was), or to standard output when ``out`` is None (CSV and JSON only)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if out is None:
        if fmt == "parquet":
            raise ValueError("parquet is binary: it is written to a file")
        _write_text(rows, fmt, sys.stdout)
        return
    fill = _parquet_writer(rows) if fmt == "parquet" else partial(_write_text_file, rows, fmt)
    write_atomically(out, fill)
