"""Bad inputs and faults at the harness's outputs: `harness export` files and `harness report`
folders (`--out`, `--publish`). Each is refused, or fails, with exit status 2, one line
naming the problem, no traceback, the results database byte-identical and the user's own
files untouched."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import Result
from conftest import HARNESS
from hardening import cli, digest

from harness import output_files
from harness.results import export as tidy

TINY = """\
name: tiny
timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, roofline: false}
benchmarks:
  - task: orthogonalize
    sizes: [[8, 16]]
    methods: [svd_polar, qr_householder]
    backends: [numpy]
    dtypes: [float64]
"""
REPORT_PAGES = {"index.html", "task-orthogonalize.html"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding one run of TINY (two cases)."""
    folder = tmp_path_factory.mktemp("stored")
    (folder / "tiny.yaml").write_text(TINY)
    path = folder / "r.sqlite"
    result = cli("run", folder / "tiny.yaml", "--db", path, "--inline", "-q")
    assert result.exit_code == 0, result.stderr
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its hash (links as their target)."""
    return {
        str(p.relative_to(folder)): (os.readlink(p) if p.is_symlink() else digest(p))
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


@contextmanager
def untouched(db: Path, *folders: Path) -> Iterator[None]:
    """Assert that ``db`` and every file under ``folders`` are byte-identical afterwards,
    and that no temporary file was left behind."""
    before = digest(db), [snapshot(f) for f in folders]
    yield
    assert (digest(db), [snapshot(f) for f in folders]) == before
    for folder in folders:
        assert not list(folder.rglob("*.harness-tmp"))


def refused(result: Result, *needles: str) -> None:
    """Exit status 2, one ``error:`` line saying each of ``needles``, no traceback."""
    output = result.stdout + result.stderr
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1, output
    for needle in needles:
        assert needle in result.stderr, output


@pytest.fixture
def unwritable(tmp_path: Path) -> Path:
    """A real folder this process cannot create files in: a read-only folder, or, for root
    (whom file modes do not stop), sysfs, which refuses new files to everyone."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o555)
        yield folder
        folder.chmod(0o755)
        return
    sysfs = Path("/sys")
    try:
        os.close(os.open(sysfs / "harness-probe", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except PermissionError:
        yield sysfs
        return
    except OSError:
        pass
    else:
        os.unlink(sysfs / "harness-probe")
    pytest.skip("running as root (chmod does not stop root) and no sysfs that refuses files")


# harness export --------------------------------------------------------------------------


def test_export_over_the_database_it_reads_is_refused(db):
    with untouched(db):
        refused(cli("export", "1", "--db", db, "--out", db), str(db), "database being read")


def test_export_over_the_database_is_refused_even_with_force(db):
    with untouched(db):
        refused(cli("export", "1", "--db", db, "--out", db, "--force"), "database being read")


def test_export_over_the_database_journal_is_refused_even_with_force(db):
    wal = db.with_name(db.name + "-wal")
    if not wal.exists():
        pytest.skip("the database has no write-ahead log here")
    with untouched(db):
        result = cli("export", "1", "--db", db, "--out", wal, "--force")
        refused(result, str(wal), "database being read")


@pytest.mark.parametrize("link", ["symlink", "hard link"])
def test_export_over_a_link_to_the_database_is_refused_even_with_force(db, tmp_path, link):
    out = tmp_path / "results.csv"
    (os.symlink if link == "symlink" else os.link)(db, out)
    with untouched(db, tmp_path):
        result = cli("export", "1", "--db", db, "--out", out, "--force")
        refused(result, str(out), "database being read")


def test_export_over_an_existing_file_needs_force(db, tmp_path):
    out = tmp_path / "mine.csv"
    out.write_text("my own numbers\n")
    with untouched(db, tmp_path):
        refused(cli("export", "1", "--db", db, "--out", out), str(out), "exists", "--force")
    assert cli("export", "1", "--db", db, "--out", out, "--force").exit_code == 0
    assert out.read_text().startswith("run_id,case_id,")


def test_export_over_a_dangling_link_needs_force(db, tmp_path):
    out = tmp_path / "gone.csv"
    out.symlink_to(tmp_path / "nowhere.csv")
    with untouched(db, tmp_path):
        refused(cli("export", "1", "--db", db, "--out", out), str(out), "--force")


def test_export_to_the_default_name_that_exists_needs_force(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("run-1-cases.csv").write_text("an earlier export I edited\n")
    with untouched(db, tmp_path):
        refused(cli("export", "1", "--db", db), "run-1-cases.csv exists", "--force")


def test_export_to_a_folder_is_refused(db, tmp_path):
    with untouched(db, tmp_path):
        refused(cli("export", "1", "--db", db, "--out", tmp_path), "is a folder", "file name")


def test_export_into_a_missing_folder_says_so(db, tmp_path):
    out = tmp_path / "no-such-folder" / "cases.csv"
    with untouched(db, tmp_path):
        result = cli("export", "1", "--db", db, "--out", out)
        refused(result, f"folder {out.parent} does not exist", "create it")
    assert not out.parent.exists()


def test_export_through_a_regular_file_says_which_is_a_file(db, tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    out = tmp_path / "notes.txt" / "cases.csv"
    with untouched(db, tmp_path):
        result = cli("export", "1", "--db", db, "--out", out)
        refused(result, f"{tmp_path / 'notes.txt'} is a file, not a folder")


def test_export_to_an_over_long_file_name_says_so(db, tmp_path):
    out = tmp_path / ("x" * 300 + ".csv")
    with untouched(db, tmp_path):
        refused(cli("export", "1", "--db", db, "--out", out), "name is too long", "shorter")


def test_export_into_an_unwritable_folder_says_so(db, unwritable):
    out = unwritable / "cases.csv"
    with untouched(db):
        refused(cli("export", "1", "--db", db, "--out", out), str(out), "permission denied")
    assert not out.exists()


def test_parquet_to_standard_output_is_refused(db):
    pytest.importorskip("pyarrow")
    with untouched(db):
        refused(cli("export", "1", "--db", db, "--format", "parquet", "--out", "-"), "binary")


def test_export_fake_disk_full_keeps_the_earlier_file(db, tmp_path, monkeypatch):
    out = tmp_path / "cases.csv"
    out.write_text("the earlier export\n")

    def half_then_full(rows, fmt, stream):
        stream.write("run_id,case_id,ta")
        stream.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tidy, "_write_text", half_then_full)
    with untouched(db, tmp_path):
        result = cli("export", "1", "--db", db, "--out", out, "--force")
        refused(result, str(out), "no space left", f"{out} is unchanged")


def test_export_past_a_real_file_size_limit_leaves_nothing_behind(db, tmp_path):
    out = tmp_path / "samples.json"

    def limit_file_size() -> None:  # what the kernel does past RLIMIT_FSIZE: EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    export = ["export", "1", "--db", db, "--table", "samples", "--format", "json", "--out", out]
    with untouched(db, tmp_path):
        result = subprocess.run(
            [*HARNESS, *map(str, export)],
            capture_output=True,
            text=True,
            preexec_fn=limit_file_size,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            timeout=120,
        )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "larger than allowed" in result.stderr
    assert not out.exists()


def test_an_interrupted_write_leaves_the_file_as_it_was(tmp_path):
    out = tmp_path / "cases.csv"
    out.write_text("before\n")

    def interrupted(path: Path) -> None:
        path.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        output_files.write_atomically(out, interrupted)
    assert out.read_text() == "before\n" and os.listdir(tmp_path) == ["cases.csv"]


# harness report --out ----------------------------------------------------------------------


def user_folder(folder: Path) -> Path:
    """A folder of the user's own pages, with names a report writes too."""
    folder.mkdir()
    (folder / "index.html").write_text("<p>my own index</p>")
    (folder / "compare.html").write_text("<p>my comparison</p>")
    (folder / "task-orthogonalize.html").write_text("<p>my notes</p>")
    return folder


@pytest.mark.parametrize(
    ("option", "manifest"), [("--out", ".harness-report.json"), ("--publish", "published.json")]
)
def test_a_report_into_a_folder_of_other_files_is_refused(db, tmp_path, option, manifest):
    folder = user_folder(tmp_path / "mine")
    with untouched(db, tmp_path):
        result = cli("report", "--db", db, option, folder)
        refused(result, f"{folder} is not empty", manifest, "--force")


def test_report_with_force_replaces_its_pages_only(db, tmp_path):
    folder = user_folder(tmp_path / "mine")
    with untouched(db):
        assert cli("report", "--db", db, "--out", folder, "--force").exit_code == 0
    assert (folder / "compare.html").read_text() == "<p>my comparison</p>"  # never removed
    manifest = json.loads((folder / ".harness-report.json").read_text())
    assert set(manifest["files"]) == REPORT_PAGES


def test_report_over_a_page_the_harness_did_not_write_is_refused(db, tmp_path):
    folder = tmp_path / "report"
    assert cli("report", "--db", db, "--out", folder).exit_code == 0
    (folder / ".harness-report.json").write_text(json.dumps({"format": 1, "files": []}))
    with untouched(db, tmp_path):
        result = cli("report", "--db", db, "--out", folder)
        refused(result, "index.html, task-orthogonalize.html, not written by the harness")


def test_report_removes_only_the_pages_its_manifest_lists(db, tmp_path):
    folder = tmp_path / "report"
    assert cli("report", "--db", db, "--out", folder).exit_code == 0
    manifest = folder / ".harness-report.json"
    listed = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**listed, "files": [*listed["files"], "history.html"]}))
    (folder / "history.html").write_text("an earlier report's page")
    (folder / "compare.html").write_text("mine")
    assert cli("report", "--db", db, "--out", folder).exit_code == 0
    assert not (folder / "history.html").exists() and (folder / "compare.html").exists()


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ("{not json", "Expecting property name"),
        ("[]", "not a format 1 manifest"),
        ('{"format": 1, "files": ["../victim.html"]}', "not a list of page names"),
        ('{"format": 1, "files": [".harness-report.json"]}', "not a list of page names"),
    ],
    ids=["not-json", "not-a-mapping", "outside-the-folder", "lists-itself"],
)
def test_report_with_a_corrupt_manifest_is_refused_and_force_deletes_nothing(
    db, tmp_path, manifest, problem
):
    folder = tmp_path / "report"
    assert cli("report", "--db", db, "--out", folder).exit_code == 0
    (folder / ".harness-report.json").write_text(manifest)
    (tmp_path / "victim.html").write_text("mine")
    (folder / "notes.html").write_text("mine")
    with untouched(db, tmp_path):
        result = cli("report", "--db", db, "--out", folder)
        refused(result, str(folder / ".harness-report.json"), problem, "--force")
    assert cli("report", "--db", db, "--out", folder, "--force").exit_code == 0
    assert (tmp_path / "victim.html").read_text() == (folder / "notes.html").read_text() == "mine"


def test_report_out_naming_a_file_is_refused(db, tmp_path):
    out = tmp_path / "report.html"
    out.write_text("mine")
    with untouched(db, tmp_path):
        refused(cli("report", "--db", db, "--out", out), f"{out} is a file, not a folder")


def test_report_out_through_a_regular_file_says_which_is_a_file(db, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    out = tmp_path / "notes.txt" / "report"
    with untouched(db, tmp_path):
        result = cli("report", "--db", db, "--out", out)
        refused(result, f"cannot create {out}", f"{tmp_path / 'notes.txt'} is a file")


def test_report_out_with_an_over_long_name_says_so(db, tmp_path):
    out = tmp_path / ("r" * 300)
    with untouched(db, tmp_path):
        refused(cli("report", "--db", db, "--out", out), "name is too long")


def test_report_into_an_unwritable_folder_says_so(db, unwritable):
    with untouched(db):
        result = cli("report", "--db", db, "--out", unwritable / "report")
        refused(result, str(unwritable / "report"), "permission denied")


def test_report_fake_disk_full_leaves_no_half_written_page(db, tmp_path, monkeypatch):
    folder = tmp_path / "report"
    assert cli("report", "--db", db, "--out", folder).exit_code == 0
    write_text = Path.write_text

    def half_then_full(path: Path, text: str, *args, **kwargs) -> int:
        if path.parent == folder and path.name.endswith(".harness-tmp") and len(text) > 1000:
            write_text(path, text[: len(text) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_text(path, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", half_then_full)
    earlier = {name: (folder / name).read_text() for name in REPORT_PAGES}
    with untouched(db):
        refused(cli("report", "--db", db, "--out", folder), "no space left", "is unchanged")
    assert {name: (folder / name).read_text() for name in REPORT_PAGES} == earlier
    assert not list(folder.glob("*.harness-tmp"))


# harness report --publish ------------------------------------------------------------------


@pytest.fixture
def collection(db: Path, tmp_path: Path) -> Path:
    """A collection with the run published once."""
    root = tmp_path / "pages"
    assert cli("report", "--db", db, "--publish", root).exit_code == 0
    return root


def test_publish_beside_an_asv_site_is_fine(db, tmp_path):
    (tmp_path / "site" / "asv").mkdir(parents=True)
    (tmp_path / "site" / "asv" / "index.html").write_text("<p>asv</p>")
    assert cli("report", "--db", db, "--publish", tmp_path / "site").exit_code == 0
    assert 'href="asv/index.html"' in (tmp_path / "site" / "index.html").read_text()


@pytest.mark.parametrize(
    ("published", "problem"),
    [
        ("<html>", "Expecting value"),
        ('{"path": "runs/x"}', "a list of runs was expected, not dict"),
        ('[{"path": "runs/x", "title": "run 1"}]', "entry 0 has no 'suite'"),
        ('["runs/x"]', "entry 0 is not a mapping"),
    ],
    ids=["not-json", "not-a-list", "missing-keys", "not-a-mapping"],
)
def test_publish_with_a_malformed_index_keeps_the_index(db, collection, published, problem):
    (collection / "published.json").write_text(published)
    for force in ((), ("--force",)):
        with untouched(db, collection):
            result = cli("report", "--db", db, "--publish", collection, *force)
            refused(result, str(collection / "published.json"), problem, "index.html was left")


def test_publish_entry_pointing_outside_the_collection_is_refused(db, collection):
    entries = json.loads((collection / "published.json").read_text())
    entries[0]["path"] = "javascript:alert(1)//"
    (collection / "published.json").write_text(json.dumps(entries))
    with untouched(db, collection):
        refused(cli("report", "--db", db, "--publish", collection), "not runs/NAME")


def test_publish_over_a_run_folder_the_harness_did_not_write_is_refused(db, collection):
    (site,) = (collection / "runs").iterdir()
    (site / ".harness-report.json").unlink()
    (site / "mine.txt").write_text("mine")
    with untouched(db, collection):
        result = cli("report", "--db", db, "--publish", collection)
        refused(result, f"{site} is not empty", "--force")
    assert cli("report", "--db", db, "--publish", collection, "--force").exit_code == 0
    assert (site / "mine.txt").read_text() == "mine"


def test_publish_naming_a_file_is_refused(db, tmp_path):
    out = tmp_path / "site"
    out.write_text("mine")
    with untouched(db, tmp_path):
        refused(cli("report", "--db", db, "--publish", out), f"{out} is a file, not a folder")


def test_republishing_replaces_the_run_keeping_the_rest(db, collection):
    (collection / "notes.txt").write_text("mine")
    assert cli("report", "--db", db, "--publish", collection).exit_code == 0
    assert len(json.loads((collection / "published.json").read_text())) == 1
    assert (collection / "notes.txt").read_text() == "mine"


def test_export_never_replaces_a_pipe_or_a_device_even_with_force(db, tmp_path):
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    with untouched(db):
        refused(cli("export", "1", "--db", db, "--out", pipe, "--force"), "not a regular file")
        refused(cli("export", "1", "--db", db, "--out", "/dev/null", "--force"), "/dev/null")
    assert stat.S_ISFIFO(pipe.stat().st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_publishing_a_run_with_a_very_long_suite_name_works(tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    (folder / "long.yaml").write_text(TINY.replace("name: tiny", "name: " + "n" * 300))
    db = folder / "r.sqlite"
    assert cli("run", folder / "long.yaml", "--db", db, "--inline", "-q").exit_code == 0
    result = cli("report", "--db", db, "--publish", tmp_path / "site")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "published.json").is_file()
