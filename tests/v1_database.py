"""A results database as the harness of schema version 1 wrote it (commit ba51d6e): its
SCHEMA text verbatim, and rows inserted the way its ``ResultsDB`` did. Such files exist in
the wild; the migration tests open them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

V1_SCHEMA = """
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

METADATA = {"project": {"commit": "ba51d6e", "dirty": False}, "cpu": "test CPU", "cores": 2}


def _case(method: str, median: float, **params: object) -> dict:
    return {
        "task": "orthogonalize",
        "method": method,
        "backend": "numpy",
        "dtype": "float64",
        "sizes": json.dumps({"m": 16, "n": 32}),
        "problem": json.dumps({"spectrum": "gaussian"}),
        "params": json.dumps(params),
        "seed": 0,
        "status": "ok",
        "samples": json.dumps([median, median * 1.1]),
        "host_samples": json.dumps([median, median * 1.1]),
        "stats": json.dumps({"median": median, "iqr": median * 0.05}),
        "median_s": median,
        "unstable": 0,
        "metrics": json.dumps({"orthogonality_error": 1e-3}),
        "curve": json.dumps([]),
    }


def write_v1(path: Path) -> None:
    """Two runs: run 1 finished with three cases (the last two alike: repetitions of one
    case, which v1 did not record), run 2 interrupted after one case."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(V1_SCHEMA)
    conn.execute("PRAGMA user_version = 1")
    runs = [
        ("v1suite", "v1.yaml", "benchmarks: []", "2025-01-01T00:00:00+00:00", "finished"),
        ("v1suite", "v1.yaml", "benchmarks: []", "2025-01-02T00:00:00+00:00", "running"),
    ]
    for suite, path_, text, started, status in runs:
        conn.execute(
            "INSERT INTO runs (suite, suite_path, suite_text, started_at, finished_at, status, "
            "metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                suite,
                path_,
                text,
                started,
                started if status == "finished" else None,
                status,
                json.dumps(METADATA),
            ),
        )
    cases = [
        (1, _case("svd_polar", 1e-3)),
        (1, _case("newton_schulz", 2e-3, steps=5, coefficients="muon")),
        (1, _case("newton_schulz", 2.1e-3, steps=5, coefficients="muon")),
        (2, _case("svd_polar", 1.2e-3)),
    ]
    for run_id, case in cases:
        row = {**case, "run_id": run_id, "finished_at": "2025-01-01T00:00:01+00:00"}
        conn.execute(
            f"INSERT INTO cases ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
    conn.commit()
    conn.close()
