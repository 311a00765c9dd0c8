"""The results database: one SQLite file holding runs and their cases.

Default path: ``results/harness.sqlite`` under the current directory; the environment
variable ``HARNESS_DB`` or the ``--db`` option of the CLI picks another. Each case is committed
on its own as it finishes, so an interrupted run keeps every finished case. The schema
version is SQLite's ``user_version``.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("results") / "harness.sqlite"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    suite TEXT NOT NULL,
    suite_path TEXT NOT NULL,
    suite_text TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,          -- running | finished
    metadata TEXT NOT NULL         -- JSON: machine, libraries, plugins, git commit
);
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    task TEXT NOT NULL,
    method TEXT NOT NULL,
    backend TEXT NOT NULL,
    dtype TEXT NOT NULL,
    sizes TEXT NOT NULL,           -- JSON object, e.g. {"m": 256, "n": 768}
    problem TEXT NOT NULL,         -- JSON object of the task's parameters
    params TEXT NOT NULL,          -- JSON object of the method's parameters, defaults filled in
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,          -- ok | error | timeout | crashed | unavailable | unsupported
    message TEXT,
    number INTEGER,                -- calls per timing sample
    samples TEXT,                  -- JSON list: seconds per call, one per sample, backend clock
    host_samples TEXT,             -- JSON list: the same on the host clock
    stats TEXT,                    -- JSON object: median, IQR, min, mean, std, MAD, 95% CI, ...
    median_s REAL,
    unstable INTEGER,              -- 1 when IQR/median passed the suite's threshold
    flops REAL,
    peak_fraction REAL,            -- achieved GFLOP/s over the run's measured GEMM rate
    peak_memory_bytes INTEGER,
    traced_peak_bytes INTEGER,     -- tracemalloc peak of one call
    threads TEXT,                  -- JSON list of the BLAS/OpenMP pools in force
    metrics TEXT,                  -- JSON object of float64 quality metrics
    curve TEXT,                    -- JSON list: metrics after each step of an iterative method
    finished_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_run ON cases(run_id);
"""


def default_path() -> Path:
    return Path(os.environ.get("HARNESS_DB") or DEFAULT_PATH)


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf) replaced by None: strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(_finite(value), allow_nan=False, default=str)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ResultsDB:
    """A connection to the results file, created with its schema on first use."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has schema version {version}; this harness reads "
                f"up to {SCHEMA_VERSION}: upgrade linalg-harness"
            )
        with self.conn:
            self.conn.executescript(SCHEMA)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def start_run(self, suite: str, suite_path: str, suite_text: str, metadata: dict) -> int:
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO runs (suite, suite_path, suite_text, started_at, status, metadata) "
                "VALUES (?, ?, ?, ?, 'running', ?)",
                (suite, suite_path, suite_text, now(), json.dumps(metadata, default=str)),
            )
        return int(cur.lastrowid)

    def finish_run(self, run_id: int) -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE runs SET status = 'finished', finished_at = ? WHERE id = ?", (now(), run_id)
            )

    def add_case(self, run_id: int, record: dict[str, Any]) -> None:
        """Store one finished case (a ``CaseResult.record()``) in its own transaction."""
        row = {k: _json(v) if isinstance(v, dict | list) else v for k, v in record.items()}
        row.update(run_id=run_id, finished_at=now())
        columns = ", ".join(row)
        with self.conn:
            self.conn.execute(
                f"INSERT INTO cases ({columns}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()),
            )

    def cases(self, run_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM cases WHERE run_id = ? ORDER BY id", (run_id,))
        json_columns = (
            "sizes",
            "problem",
            "params",
            "samples",
            "host_samples",
            "stats",
            "threads",
            "metrics",
            "curve",
        )
        return [
            {
                k: json.loads(r[k]) if k in json_columns and r[k] is not None else r[k]
                for k in r.keys()  # noqa: SIM118 - iterating a Row yields values, not keys
            }
            for r in rows
        ]

    def run(self, run_id: int) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise LookupError(f"no run {run_id} in {self.path}")
        return {**dict(row), "metadata": json.loads(row["metadata"])}

    def latest_run(self) -> int:
        row = self.conn.execute("SELECT max(id) FROM runs").fetchone()
        if row[0] is None:
            raise LookupError(f"no runs in {self.path}")
        return int(row[0])
