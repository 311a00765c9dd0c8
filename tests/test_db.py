"""The results database: schema v2, migrating real v1 files, case keys, and two processes
writing one file at once."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import subprocess

import pytest
from conftest import HARNESS
from v1_database import write_v1

from harness.results.db import SCHEMA, SCHEMA_VERSION, ResultsDB, ResumeError, case_key


def _layout(path) -> dict[str, set]:
    conn = sqlite3.connect(path)
    layout = {
        table: {(r[1], r[2], r[3]) for r in conn.execute(f"PRAGMA table_info({table})")}
        for table in ("runs", "cases")
    }
    layout["indexes"] = {
        (r[0], r[1])
        for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
    }
    conn.close()
    return layout


def test_a_v1_file_is_migrated_to_the_current_schema(tmp_path):
    path = tmp_path / "v1.sqlite"
    write_v1(path)
    db = ResultsDB(path)
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    ResultsDB(tmp_path / "fresh.sqlite").close()
    assert _layout(path) == _layout(tmp_path / "fresh.sqlite")  # columns, types, indexes

    runs = db.runs()
    done = db.stored_counts()
    assert [(r.id, r.status, done[r.id], r.planned) for r in runs] == [
        (1, "finished", 3, 3),
        (2, "running", 1, None),  # interrupted in v1: how many it planned is unknown
    ]
    assert all(r.uuid for r in runs) and runs[0].uuid != runs[1].uuid
    cases = db.cases(1)
    assert [(c.method, c.repetition) for c in cases] == [
        ("svd_polar", 0),
        ("newton_schulz", 0),
        ("newton_schulz", 1),  # v1 stored repetitions as identical rows
    ]
    assert [c.median_s for c in cases] == [1e-3, 2e-3, 2.1e-3]
    assert cases[1].metrics == {"orthogonality_error": 1e-3}
    assert cases[2].case_key == case_key({**cases[2].as_dict(), "repetition": 1})
    assert db.run(1).metadata["project"]["commit"] == "ba51d6e"

    # The same v1 run migrated in another copy of the file gets the same uuid (merge).
    write_v1(tmp_path / "copy.sqlite")
    assert [r.uuid for r in ResultsDB(tmp_path / "copy.sqlite").runs()] == [r.uuid for r in runs]
    with pytest.raises(ResumeError, match="without its planned cases"):
        db.claim_run(2, {})
    # A migrated file refuses a case its run holds already, and takes new runs.
    stored = {
        k: v for k, v in cases[0].as_dict().items() if k not in ("id", "run_id", "finished_at")
    }
    with pytest.raises(sqlite3.IntegrityError):
        db.add_case(1, stored)
    assert db.start_run("s", "s.yaml", "", {}, plan=[]) == 3


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "v1.sqlite"
    write_v1(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE cases SET params = '{not json' WHERE id = 3")
    conn.commit()
    before = _layout(path)
    with pytest.raises(ValueError):
        ResultsDB(path)
    assert _layout(path) == before
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 4


def test_a_v2_file_gets_the_above_peak_flag_from_its_peak_fraction(tmp_path):
    """Version 2 → 3 adds ``above_peak`` (set where the stored share of peak passed
    ``roofline.ABOVE_PEAK``), ``bytes`` and ``bandwidth_fraction``; the layout is then a new
    file's."""
    added = ("above_peak INTEGER", "bytes REAL", "bandwidth_fraction REAL")
    v2_schema = "\n".join(
        line for line in SCHEMA.splitlines() if not line.strip().startswith(added)
    ).replace("machine TEXT,", "machine TEXT")
    path = tmp_path / "v2.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(v2_schema)
    conn.execute(
        "INSERT INTO runs (id, suite, suite_path, suite_text, started_at, status, metadata, uuid)"
        " VALUES (1, 's', 's.yaml', '', '2026-01-01', 'finished', '{}', 'u')"
    )
    for n, (method, share) in enumerate((("fast", 1.2), ("fair", 0.8), ("unrated", None))):
        conn.execute(
            "INSERT INTO cases (run_id, task, method, backend, dtype, sizes, problem, params, "
            "seed, status, peak_fraction, finished_at, repetition, case_key) VALUES "
            "(1, 't', ?, 'numpy', 'float64', '{}', '{}', '{}', 0, 'ok', ?, '', 0, ?)",
            (method, share, str(n)),
        )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    migrated = ResultsDB(path)
    assert {c.method: c.above_peak for c in migrated.cases(1)} == {
        "fast": 1,
        "fair": 0,
        "unrated": None,
    }
    ResultsDB(tmp_path / "fresh.sqlite").close()
    assert _layout(path) == _layout(tmp_path / "fresh.sqlite")


def test_a_newer_file_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    ResultsDB(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    with pytest.raises(RuntimeError, match="schema version 4; this harness reads up to 3"):
        ResultsDB(path)


def test_cases_are_keyed_and_a_case_is_stored_once_per_run(tmp_path):
    db = ResultsDB(tmp_path / "r.sqlite")
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plan = [
        {
            "task": "t",
            "method": "m",
            "backend": "numpy",
            "dtype": "float64",
            "sizes": {"m": 4, "n": 8},
            "problem": {},
            "params": {"shape": (1, 2)},
            "seed": 0,
            "repetition": repetition,
        }
        for repetition in (0, 1)
    ]
    run_id = db.start_run("s", "s.yaml", "", {}, plan=plan, options={"isolation": "inline"})
    run = db.run(run_id)
    assert run.planned == 2 and run.plan[0]["params"] == {"shape": [1, 2]}
    assert run.options == {"isolation": "inline"} and len(run.uuid) == 36
    # Key order and tuple-or-list do not change a key; the repetition does.
    assert case_key(plan[0]) == case_key({**plan[0], "sizes": {"n": 8, "m": 4}})
    assert case_key(plan[0]) == case_key(run.plan[0]) != case_key(plan[1])
    record = {**plan[0], "status": "ok", "metrics": {"e": 1.0}}
    db.add_case(run_id, record, case_key(plan[0]))
    db.add_case(run_id, {**record, "repetition": 1})
    with pytest.raises(sqlite3.IntegrityError):
        db.add_case(run_id, record, case_key(plan[0]))
    assert db.case_keys(run_id) == {case_key(p) for p in plan}
    assert [c.repetition for c in db.cases(run_id)] == [0, 1]


SUITE = """\
timing: {warmup: 0, min_time: 0.005, min_samples: 2, budget: 0.15, roofline: false}
benchmarks:
  - task: orthogonalize
    sizes: [[8, 8], [8, 16], [16, 16], [16, 32], [24, 32], [32, 32]]
    methods: [svd_polar, newton_schulz]
    backends: [numpy]
    dtypes: [float32, float64]
"""


def test_two_runs_writing_one_database_at_once(tmp_path):
    """Both create the file at once, then commit their cases a few at a time, interleaved."""
    suite = tmp_path / "many.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "shared.sqlite"
    args = [*HARNESS, "run", str(suite), "--db", str(db), "--inline", "--quiet"]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    runs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in runs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute(
        "SELECT run_id, status, count(*), count(DISTINCT case_key) FROM cases "
        "GROUP BY run_id, status"
    ).fetchall() == [(1, "ok", 24, 24), (2, "ok", 24, 24)]
    assert conn.execute("SELECT count(DISTINCT uuid), min(status) FROM runs").fetchone() == (
        2,
        "finished",
    )
    # The two were open at once: each started before the other finished (each samples 24
    # cases for 0.15 s each, longer than the difference of their start-up times). Whether
    # their cases also interleave depends on when each commits a batch (8 cases or 1 s).
    (first_end, last_start) = conn.execute(
        "SELECT min(finished_at), max(started_at) FROM runs"
    ).fetchone()
    assert last_start < first_end


def _open_and_close(path: str) -> str:
    try:
        ResultsDB(path).close()
    except Exception as exc:  # the test reports every failure, not the first
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def test_many_processes_creating_one_database_at_once_all_wait_their_turn(tmp_path):
    """Switching a new file to WAL needs it to itself, and SQLite answers "busy" at once
    rather than wait: the race CI once lost ("not a harness results database (database is
    locked)"), seen here about once in twenty files without the wait."""
    paths = [str(tmp_path / f"new{i}.sqlite") for i in range(40)]
    with multiprocessing.get_context("fork").Pool(4) as pool:
        answers = pool.map(_open_and_close, [p for p in paths for _ in range(4)], chunksize=1)
    assert set(answers) == {"ok"}, [a for a in answers if a != "ok"][:3]
    for path in paths:
        assert ResultsDB(path, readonly=True).runs() == []


def test_a_copy_is_read_without_touching_the_file(tmp_path):
    path = tmp_path / "v1.sqlite"
    write_v1(path)
    shutil.copy(path, tmp_path / "before.sqlite")
    copy = ResultsDB.copy_of(path)
    assert [r.planned for r in copy.runs()] == [3, None]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    assert _layout(path) == _layout(tmp_path / "before.sqlite")
