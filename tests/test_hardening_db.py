"""Hardening, the results database: read commands never write (another program's file, an old
schema, an empty file stay byte-identical), a damaged file is refused before anything is
written and reported without a traceback when read, a full disk stops a run with the resume
command and nothing lost, a read-only medium is readable.

Every bad input asserts the exit status, a message naming the problem, no traceback, and the
file byte-identical (or ``integrity_check`` ok with every earlier case present)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import run_cli
from hardening import TINY, cli, digest, env_with, expect_error, store_run
from v1_database import write_v1

MANY = TINY.replace("seed: [0, 1]", "seed: [" + ", ".join(map(str, range(40))) + "]")
"""80 cases of a few kB each: enough to fill a 400 kB disk part way through."""

READ_COMMANDS = [
    ["runs"],
    ["show", "1"],
    ["export", "1", "--out", "-"],
    ["compare", "1", "1"],
    ["report", "--out", "{tmp}/report"],
]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding one finished run of TINY (4 cases)."""
    return store_run(tmp_path_factory.mktemp("stored"))


def other_app_database(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('Ada', '555')")
    conn.commit()
    conn.close()
    return path


def damaged_copy(stored: Path, path: Path) -> Path:
    """A copy of ``stored`` with garbage over every page after the first two."""
    data = bytearray(stored.read_bytes())
    page = 4096
    for start in range(2 * page, len(data), page):
        data[start + 8 : start + 200] = b"\xa5" * 192
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_a_read_command_leaves_another_programs_database_byte_identical(tmp_path, command):
    other = other_app_database(tmp_path / "contacts.sqlite")
    before = digest(other)
    args = [a.format(tmp=tmp_path) for a in command]
    expect_error(cli(*args, "--db", other), 2, "is not a harness results database", "contacts")
    assert digest(other) == before
    assert not (tmp_path / "contacts.sqlite-wal").exists()


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_a_read_command_on_an_empty_file_says_so_and_leaves_it_empty(tmp_path, command):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    args = [a.format(tmp=tmp_path) for a in command]
    expect_error(cli(*args, "--db", empty), 2, "holds no harness results")
    assert empty.stat().st_size == 0


def test_writing_into_another_programs_database_is_refused(tmp_path):
    other = other_app_database(tmp_path / "contacts.sqlite")
    (tmp_path / "tiny.yaml").write_text(TINY)
    before = digest(other)
    expect_error(
        cli("run", tmp_path / "tiny.yaml", "--db", other, "--inline"),
        2,
        "is not a harness results database",
    )
    assert digest(other) == before


def test_merging_into_another_programs_database_is_refused(stored, tmp_path):
    other = other_app_database(tmp_path / "contacts.sqlite")
    before = digest(other)
    expect_error(cli("merge", stored, "--db", other), 2, "is not a harness results database")
    assert digest(other) == before


def test_merging_from_another_programs_database_says_what_it_is(stored, tmp_path):
    other = other_app_database(tmp_path / "contacts.sqlite")
    ours = tmp_path / "ours.sqlite"
    shutil.copy(stored, ours)
    before, theirs = digest(ours), digest(other)
    expect_error(cli("merge", other, "--db", ours), 2, "is not a harness results database")
    assert (digest(ours), digest(other)) == (before, theirs)


@pytest.mark.parametrize("command", [["runs"], ["show", "1"], ["export", "1", "--out", "-"]])
def test_reading_an_old_schema_migrates_in_memory_only(tmp_path, command):
    old = tmp_path / "v1.sqlite"
    write_v1(old)
    before = digest(old)
    result = cli(*command, "--db", old)
    assert result.exit_code == 0, result.output
    assert digest(old) == before
    assert sqlite3.connect(old).execute("PRAGMA user_version").fetchone() == (1,)


def test_a_newer_schema_is_refused_with_the_fix(stored, tmp_path):
    newer = tmp_path / "newer.sqlite"
    shutil.copy(stored, newer)
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = digest(newer)
    for command in (["runs"], ["run", "smoke"]):
        expect_error(cli(*command, "--db", newer), 2, "schema version 99", "upgrade")
    assert digest(newer) == before


@pytest.mark.parametrize("command", [["runs"], ["show", "1"], ["export", "1", "--out", "-"]])
def test_reading_a_damaged_database_is_a_clear_error(stored, tmp_path, command):
    damaged = damaged_copy(stored, tmp_path / "damaged.sqlite")
    before = digest(damaged)
    expect_error(cli(*command, "--db", damaged), 2, str(damaged), ".recover")
    assert digest(damaged) == before


def test_writing_into_a_damaged_database_is_refused_before_anything_is_written(stored, tmp_path):
    damaged = damaged_copy(stored, tmp_path / "damaged.sqlite")
    (tmp_path / "tiny.yaml").write_text(TINY)
    before = digest(damaged)
    for command in (["run", tmp_path / "tiny.yaml", "--inline"], ["merge", stored]):
        expect_error(cli(*command, "--db", damaged), 2, "is damaged", "nothing was written")
    assert digest(damaged) == before


def test_a_truncated_database_is_refused(stored, tmp_path):
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(stored.read_bytes()[:5000])
    (tmp_path / "tiny.yaml").write_text(TINY)
    before = digest(truncated)
    expect_error(cli("run", tmp_path / "tiny.yaml", "--db", truncated, "--inline"), 2, "damaged")
    assert digest(truncated) == before


def test_a_full_disk_stops_the_run_with_the_resume_command_and_loses_nothing(tmpfs, tmp_path):
    disk = tmpfs("disk", size="400k")
    suite = tmp_path / "many.yaml"
    suite.write_text(MANY)
    db = disk.path / "r.sqlite"
    full = run_cli("run", str(suite), "--db", str(db), "--inline", "-q", cwd=tmp_path)
    expect_error(full, 2, "disk is full", f"harness run --resume 1 --db {db}")
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = conn.execute("SELECT case_key FROM cases").fetchall()
    conn.close()
    assert 0 < len(stored) < 80
    disk.remount("size=8m")
    resumed = run_cli("run", "--resume", "1", "--db", str(db), "--inline", "-q", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    conn = sqlite3.connect(db)
    keys = conn.execute("SELECT case_key FROM cases").fetchall()
    assert len(keys) == len(set(keys)) == 80 and set(stored) <= set(keys)


def test_a_database_on_a_read_only_medium_is_readable(stored, tmpfs, tmp_path):
    medium = tmpfs("medium")
    shutil.copy(stored, medium.path / "r.sqlite")
    medium.remount("ro")
    db = medium.path / "r.sqlite"
    for command in (["runs"], ["show", "1"], ["export", "1", "--out", "-"], ["compare", "1", "1"]):
        result = run_cli(*command, "--db", str(db), cwd=tmp_path)
        assert result.returncode in (0, 2), result.stderr  # compare of a run with itself: 0/2
        assert "not a harness results database" not in result.stderr
        assert "Traceback" not in result.stderr
    report = run_cli("report", "--db", str(db), "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    (tmp_path / "tiny.yaml").write_text(TINY)
    write = run_cli("run", "tiny.yaml", "--db", str(db), "--inline", cwd=tmp_path)
    expect_error(write, 2, str(db))


@pytest.mark.parametrize("command", [["runs"], ["run", "smoke", "--dry-run"], ["run", "x.yaml"]])
def test_harness_db_naming_a_folder_is_a_clear_error(tmp_path, command):
    (tmp_path / "x.yaml").write_text(TINY)
    result = run_cli(*command, cwd=tmp_path, env=env_with(HARNESS_DB=str(tmp_path)))
    if command[-1] == "--dry-run":  # a dry run opens no database
        assert result.returncode == 0, result.stderr
        return
    expect_error(result, 2, f"{tmp_path} is a folder")


@pytest.mark.parametrize("command", [["runs"], ["run", "x.yaml", "--inline"], ["merge", "v1.db"]])
def test_a_db_path_inside_a_regular_file_is_a_clear_error(tmp_path, command):
    (tmp_path / "x.yaml").write_text(TINY)
    write_v1(tmp_path / "v1.db")
    (tmp_path / "file").write_text("a file\n")
    args = [tmp_path / a if a.endswith((".yaml", ".db")) else a for a in command]
    expect_error(cli(*args, "--db", tmp_path / "file" / "r.sqlite"), 2, str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "a file\n"


def test_an_over_long_db_name_is_a_clear_error(tmp_path):
    (tmp_path / "x.yaml").write_text(TINY)
    db = tmp_path / ("r" * 300 + ".sqlite")
    expect_error(cli("run", tmp_path / "x.yaml", "--db", db, "--inline"), 2, "too long")
    expect_error(cli("runs", "--db", db), 2, "too long")


def test_a_read_only_current_folder_at_the_default_path_is_a_clear_error(tmpfs, tmp_path):
    here = tmpfs("here")
    (here.path / "tiny.yaml").write_text(TINY)
    here.remount("ro")
    result = run_cli("run", "tiny.yaml", "--inline", cwd=here.path, env=env_with(HARNESS_DB=""))
    expect_error(result, 2, "results", "Read-only file system", "HARNESS_DB")


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ("UPDATE cases SET status = 'weird'", "'weird' is not a valid Status"),
        ("UPDATE runs SET metadata = 'not json'", "run 1 holds a value"),
        ("UPDATE cases SET sizes = 'null'", "sizes is None, not dict"),
        ("UPDATE cases SET median_s = 'hello'", "median_s is 'hello'"),
        ("UPDATE cases SET params = '[]'", "params is [], not dict"),
    ],
    ids=["status", "metadata", "sizes", "median", "params"],
)
def test_a_row_edited_by_hand_is_named_and_never_merged(stored, tmp_path, edit, words):
    edited = tmp_path / "edited.sqlite"
    shutil.copy(stored, edited)
    conn = sqlite3.connect(edited)
    conn.execute(edit)
    conn.commit()
    conn.close()
    for command in (["show", "1"], ["export", "1", "--out", "-"]):
        expect_error(cli(*command, "--db", edited), 2, words, ".recover")
    target = tmp_path / "target.sqlite"
    shutil.copy(stored, target)
    before = digest(target)
    expect_error(cli("merge", edited, "--db", target), 2, words)
    assert digest(target) == before


@pytest.mark.parametrize("command", [["runs"], ["run", "x.yaml", "--inline"], ["merge", "v1.db"]])
def test_a_device_is_never_a_database(tmp_path, command):
    (tmp_path / "x.yaml").write_text(TINY)
    write_v1(tmp_path / "v1.db")
    args = [tmp_path / a if a.endswith((".yaml", ".db")) else a for a in command]
    expect_error(cli(*args, "--db", "/dev/null"), 2, "/dev/null is not a regular file")
    assert not Path("/dev/null-journal").exists() and not Path("/dev/null-wal").exists()


@pytest.mark.parametrize("side", ["-wal", "-shm", "-journal"])
def test_an_sqlite_side_file_is_never_written_as_a_database(stored, tmp_path, side):
    db = tmp_path / "r.sqlite"
    shutil.copy(stored, db)
    side_file = tmp_path / f"r.sqlite{side}"
    expect_error(cli("merge", stored, "--db", side_file), 2, f"is the {side} file", str(db))
    assert not side_file.exists()
