"""Hardening, the environment: an unusable cache (a file, a read-only folder, a corrupt
roofline file) or home never stops a run; a name that the terminal cannot encode, or that
holds escape sequences, never breaks or hijacks the output; the error boundary turns what no
command foresaw into one line and a log file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HARNESS, run_cli
from hardening import TINY, cli, env_with

from harness import cache
from harness.cli import main
from harness.plugins.registry import Registry

HOSTILE = {
    "escape": "evil\x1b[2J\x1b[31m",
    "bidi": "admin\u202etxt.exe",
    "bell": "ding\x07",
    "zero-width": "a\u200bb",
}


def suite(folder: Path, roofline: bool = False) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY.replace("roofline: false", f"roofline: {str(roofline).lower()}"))
    return path


def run_tiny(folder: Path, env: dict[str, str]) -> str:
    """`harness run` of the tiny suite (measuring the roofline) in ``folder`` with ``env``;
    it must succeed without a traceback; its standard error."""
    suite_path, db = suite(folder, roofline=True), folder / "r.sqlite"
    result = run_cli("run", str(suite_path), "--db", str(db), "-q", cwd=folder, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def measured_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the roofline of numpy float64, measured once."""
    folder = tmp_path_factory.mktemp("cache")
    work = tmp_path_factory.mktemp("work")
    run_tiny(work, env_with(HARNESS_CACHE=str(folder)))
    assert (folder / "roofline.json").is_file()
    return folder


def test_a_cache_that_is_a_file_warns_and_the_run_goes_on(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file\n")
    stderr = run_tiny(tmp_path, env_with(HARNESS_CACHE=str(not_a_folder)))
    assert "warning: cannot write the cache" in " ".join(stderr.split())
    assert not_a_folder.read_text() == "a file\n"


def test_a_read_only_cache_warns_and_the_run_goes_on(tmpfs, tmp_path):
    folder = tmpfs("cache")
    folder.remount("ro")
    stderr = run_tiny(tmp_path, env_with(HARNESS_CACHE=str(folder.path)))
    assert "read-only" in stderr.lower()


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2, 3]", '{"x/numpy/float64/threads=default": {"gemm_gflops": 1}}', "\0\0"],
    ids=["not-json", "a-list", "incomplete-entry", "binary"],
)
def test_a_corrupt_roofline_cache_is_measured_again(measured_cache, tmp_path, content):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "roofline.json").write_text(content)
    stderr = run_tiny(tmp_path, env_with(HARNESS_CACHE=str(folder)))
    assert "warning:" in stderr and "roofline.json" in stderr
    rewritten = json.loads((folder / "roofline.json").read_text())
    assert all("gemm_gflops" in entry and "copy_gbs" in entry for entry in rewritten.values())
    run = sqlite3.connect(tmp_path / "r.sqlite").execute("SELECT metadata FROM runs").fetchone()
    assert json.loads(run[0])["roofline"]["numpy"]["float64"]["gemm_gflops"] > 0


@pytest.mark.parametrize("home", ["/", None, "/nonexistent/home"], ids=["root", "unset", "missing"])
def test_an_unusable_home_means_no_cache_not_one_at_the_root(monkeypatch, home):
    monkeypatch.delenv("HARNESS_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    if home is None:
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("HOME", home)
    assert cache.cache_dir() is None
    cache.write_json("probe.json", {"x": 1})  # quietly nothing
    assert cache.read_json("probe.json") is None
    assert not Path("/.cache/linalg-harness").exists()


def test_a_run_with_home_at_the_root_creates_no_cache_folder_there(tmp_path):
    existed = Path("/.cache").exists()
    run_tiny(tmp_path, env_with(HOME="/", HARNESS_CACHE=None, XDG_CACHE_HOME=None))
    assert Path("/.cache").exists() == existed


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stored run whose suite, method and message hold escape sequences and bidi overrides
    (as another machine's file brought in by `harness merge` may)."""
    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "r.sqlite"
    result = cli("run", suite(folder), "--db", db, "--inline", "-q")
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db)
    conn.execute("UPDATE runs SET suite = ?", (HOSTILE["escape"] + HOSTILE["bidi"],))
    conn.execute(
        "UPDATE cases SET method = ?, message = ?",
        (HOSTILE["bidi"] + HOSTILE["zero-width"], HOSTILE["bell"]),
    )
    conn.commit()
    conn.close()
    return db


@pytest.mark.parametrize("command", [["runs"], ["show", "1"], ["compare", "1", "1"]])
def test_stored_names_never_print_raw_escape_sequences(hostile_db, command):
    result = run_cli(*command, "--db", str(hostile_db))
    assert "Traceback" not in result.stderr
    output = result.stdout + result.stderr
    assert "\x1b" not in output and "\u202e" not in output and "\x07" not in output
    assert "\u200b" not in output
    if command[0] == "runs":
        assert "\\x1b[2J" in output and "\\u202e" in output


def test_a_name_the_terminal_cannot_encode_is_escaped(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(suite(tmp_path).read_text().replace("name: tiny", "name: café-π"))
    db = tmp_path / "r.sqlite"
    env = env_with(PYTHONIOENCODING="ascii", LC_ALL="C", LANG="C")
    ran = run_cli("run", str(path), "--db", str(db), "--inline", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    listed = run_cli("runs", "--db", str(db), env=env)
    assert listed.returncode == 0, listed.stderr
    assert "caf\\xe9-\\u03c0" in listed.stdout and "Traceback" not in listed.stderr


def test_an_unforeseen_exception_fake_bug_is_one_line_and_a_log_file(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug the commands did not foresee")

    monkeypatch.setattr(Registry, "load", broken)
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 3
    line = " ".join(result.output.split())
    assert line.startswith("error: internal error: ZeroDivisionError: a bug the commands")
    assert "Traceback" not in result.output
    logs = list((tmp_path / "cache" / "logs").glob("harness-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in line
    assert "Traceback" in logs[0].read_text() and "ZeroDivisionError" in logs[0].read_text()


@pytest.mark.parametrize("how", [["--debug"], []], ids=["flag", "env"])
def test_debug_prints_the_traceback_instead(monkeypatch, tmp_path, how):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(Registry, "load", lambda: 1 / 0)
    env = {} if how else {"HARNESS_DEBUG": "1"}
    result = CliRunner(env=env).invoke(main, [*how, "plugins"])
    assert result.exit_code == 3
    assert "Traceback" in result.output and "ZeroDivisionError" in result.output
    assert not (tmp_path / "cache" / "logs").exists()


@pytest.mark.parametrize(
    "command", [["show", "1", "--json"], ["runs"], ["export", "1", "--out", "-"]]
)
def test_a_closed_output_pipe_ends_quietly(hostile_db, command):
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `harness ... | head` once head has gone
    harness = subprocess.run(
        [*HARNESS, *command, "--db", str(hostile_db)],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write_end)
    assert harness.returncode == 141, harness.stderr
    assert "Traceback" not in harness.stderr and "BrokenPipe" not in harness.stderr
