"""``harness run --resume``: a run killed with SIGKILL goes on from its stored plan, neither
repeating nor duplicating the cases it had finished. Real subprocesses, real signals."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import misbehaving_plugin
from click.testing import CliRunner
from conftest import HARNESS, run_cli

from harness.cli import main
from harness.plugins.registry import Registry
from harness.results.db import ResultsDB
from harness.run.runner import run_suite
from harness.suite import loader as suites

# Twelve cases of at least 0.3 s of sampling each: long enough to kill the run between cases
# (finished cases are committed a few at a time, at least once a second).
SUITE = """\
timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0.3, roofline: false}
benchmarks:
  - task: orthogonalize
    sizes: [[16, 32], [32, 64], [48, 96]]
    methods: [svd_polar, newton_schulz]
    backends: [numpy]
    dtypes: [float64, float32]
"""


def _stored(db: Path) -> list[tuple]:
    """(id, case_key, finished_at, status) of every stored case; [] before the file exists."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        rows = conn.execute("SELECT id, case_key, finished_at, status FROM cases ORDER BY id")
        return rows.fetchall()
    except sqlite3.OperationalError:  # no file, or no table yet
        return []


def cli(*args: str, **env: str):
    """The ``harness`` command in this process (quick checks around the real subprocesses)."""
    return CliRunner(env=env).invoke(main, args, catch_exceptions=False)


def _wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_killed_run_resumes_without_repeating_or_duplicating_cases(tmp_path):
    suite = tmp_path / "resume.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "r.sqlite"
    harness = subprocess.Popen(
        [*HARNESS, "run", str(suite), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: len(_stored(db)) >= 2, "two stored cases")
    harness.kill()  # SIGKILL: no handler, no cleanup
    harness.wait()
    before = _stored(db)
    assert 2 <= len(before) < 12 and {status for *_, status in before} == {"ok"}

    (listed,) = json.loads(cli("runs", "--db", str(db), "--json").stdout)
    assert (listed["id"], listed["state"], listed["done"], listed["planned"]) == (
        1,
        "interrupted",
        len(before),
        12,
    )
    # The suite file changes meanwhile: the resume follows the plan stored in the run.
    suite.write_text(SUITE.replace("[[16, 32], [32, 64], [48, 96]]", "[[8, 8]]"))
    resumed = run_cli("run", "--resume", "1", "--db", str(db), "--json")
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["run_id"] == 1 and out["summary"]["counts"] == {"ok": 12}

    after = _stored(db)
    assert after[: len(before)] == before  # the finished cases were not run again
    keys = [key for _, key, _, _ in after]
    assert len(keys) == len(set(keys)) == 12
    suite.write_text(SUITE)
    registry = Registry.load()
    complete = ResultsDB(tmp_path / "complete.sqlite")
    run_suite(suites.load(str(suite), registry), registry, complete)
    assert {c.case_key for c in complete.cases(1)} == set(keys)

    run = ResultsDB(db).run(1)
    assert run.status == "finished" and len(run.metadata["resumes"]) == 1
    again = cli("run", "--resume", "1", "--db", str(db))
    assert again.exit_code == 2 and "run 1 is finished: nothing to resume" in again.stderr


def test_a_live_run_cannot_be_resumed_and_a_plan_this_install_lacks_is_refused(tmp_path, site):
    site.add("misbehaving", "misbehaving_copy", Path(misbehaving_plugin.__file__).read_text())
    suite = tmp_path / "sleeps.yaml"
    suite.write_text(
        "timing: {roofline: false, timeout: 60}\nbenchmarks:\n  - task: orthogonalize\n"
        "    sizes: [[8, 8]]\n    methods: [svd_polar, sleeps]\n    backends: [numpy]\n"
        "    dtypes: [float64]\n"
    )
    db = str(tmp_path / "r.sqlite")
    harness = subprocess.Popen(
        [*HARNESS, "run", str(suite), "--db", db],
        env=site.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: len(_stored(Path(db))) == 1, "the first case")
        (listed,) = json.loads(cli("runs", "--db", db, "--json").stdout)
        assert listed["state"] == "running"
        refused = cli("run", "--resume", "1", "--db", db)
        assert refused.exit_code == 2
        assert f"run 1 is still running (process {harness.pid})" in refused.stderr
    finally:
        harness.kill()
        harness.wait()
    # Without the plugin that provides `sleeps`, the rest of the plan cannot run here.
    lacking = cli("run", "--resume", "1", "--db", db, HARNESS_BLOCK_PLUGINS="misbehaving_copy")
    assert lacking.exit_code == 2
    assert "run 1 cannot go on here: sleeps on orthogonalize: unknown method 'sleeps'" in (
        lacking.stderr
    )
    with_suite = cli("run", str(suite), "--resume", "1", "--db", db)
    assert with_suite.exit_code == 2 and "give no SUITE, --tier or --dry-run" in with_suite.stderr
    unknown = cli("run", "--resume", "7", "--db", db)
    assert unknown.exit_code == 2 and "no run 7" in unknown.stderr
