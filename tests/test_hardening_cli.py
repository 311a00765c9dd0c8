"""Hardening, the command line: wrong run ids, options and clusters are one-line errors with
exit status 2, never a traceback, a hang, or an empty run left behind."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from conftest import HARNESS
from hardening import TINY, cli, digest, expect_error, store_run

HUGE = str(10**20)
"""A run id no SQLite integer can hold."""


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store_run(tmp_path_factory.mktemp("stored"))


@pytest.mark.parametrize(
    "command",
    [
        ["show", HUGE],
        ["show", "0"],
        ["show", "7"],
        ["export", HUGE, "--out", "-"],
        ["report", HUGE, "--out", "{tmp}/report"],
        ["run", "--resume", HUGE],
        ["compare", "1", HUGE],
    ],
    ids=lambda c: "-".join(c[:2]).replace(HUGE, "huge"),
)
def test_a_run_id_that_is_not_there_is_named(stored, tmp_path, command):
    before = digest(stored)
    args = [a.format(tmp=tmp_path) for a in command]
    expect_error(cli(*args, "--db", stored), 2, command[-1] if command[0] == "show" else "run")
    assert digest(stored) == before


def test_resuming_a_finished_run_is_refused(stored):
    expect_error(cli("run", "--resume", "1", "--db", stored), 2, "run 1 is finished")


def test_resume_with_a_suite_is_refused(stored, tmp_path):
    expect_error(cli("run", "smoke", "--resume", "1", "--db", stored), 2, "stored plan")


@pytest.mark.parametrize(
    "option",
    [
        ["--cluster", "local:0"],
        ["--cluster", "local:abc"],
        ["--cluster", "remote:2"],
        ["--cluster", "local:100000"],
        ["--scheduler", "no-port-here"],
        ["--inline", "--cluster", "local:2"],
        ["--fail-on", "errror"],
        ["--tier", "nightly"],
        ["--scheduler", ""],
    ],
    ids=lambda o: "-".join(o),
)
def test_a_wrong_run_option_is_refused_before_anything_runs(tmp_path, option):
    (tmp_path / "tiny.yaml").write_text(TINY)
    db = tmp_path / "r.sqlite"
    expect_error(cli("run", tmp_path / "tiny.yaml", "--db", db, *option), 2)
    assert not db.exists() or cli("runs", "--db", db, "--json").output.strip() == "[]"


def test_an_unreachable_scheduler_is_an_error_and_stores_no_run(tmp_path):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "tiny.yaml").write_text(TINY)
    db = tmp_path / "r.sqlite"
    scheduler = f"tcp://127.0.0.1:{port}"
    result = cli("run", tmp_path / "tiny.yaml", "--db", db, "--scheduler", scheduler)
    expect_error(result, 2, "cannot run the cases there", scheduler)
    runs = cli("runs", "--db", db, "--json")
    assert runs.exit_code == 0 and runs.output.strip() == "[]"


def test_a_misspelt_command_suggests_the_right_one():
    result = cli("rnus")
    assert result.exit_code == 2 and "Did you mean" in result.output and "runs" in result.output


@pytest.mark.parametrize("option", [["--threads", "0"], ["--threads", "-3"], ["--dtype", "int8"]])
def test_a_wrong_roofline_option_is_refused(option):
    expect_error(cli("roofline", *option), 2, option[0])


def test_sigterm_stops_a_run_as_ctrl_c_does_and_it_resumes(tmp_path):
    slow = TINY.replace("min_time: 0, min_samples: 2,", "min_time: 0.01, min_samples: 50,")
    (tmp_path / "slow.yaml").write_text(slow)
    db = tmp_path / "r.sqlite"
    args = ["run", str(tmp_path / "slow.yaml"), "--db", str(db), "-q", "--inline"]
    harness = subprocess.Popen([*HARNESS, *args], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and harness.poll() is None and not stored_cases(db):
        time.sleep(0.2)
    harness.send_signal(signal.SIGTERM)
    _, stderr = harness.communicate(timeout=120)
    assert harness.returncode == 130, stderr
    assert "interrupted:" in stderr and f"harness run --resume 1 --db {db}" in stderr
    resumed = cli("run", "--resume", "1", "--db", db, "-q", "--inline")
    assert resumed.exit_code == 0, resumed.output
    assert stored_cases(db) == 4


def stored_cases(db: Path) -> int:
    """How many cases ``db`` holds (0 while it does not exist yet or is being created)."""
    try:
        with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])
    except sqlite3.Error:
        return 0
