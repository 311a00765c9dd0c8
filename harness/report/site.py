"""The report as a folder of pages, and the published collection of such folders.

A report of runs ``A ... Z`` (the last is the one it is about)::

    OUT/index.html            overview of Z: a headline per task, counts, failures, backends,
                              roofline, machine
    OUT/task-NAME.html        per task of Z: summary; accuracy/time, timing distributions,
                              scaling, backends, convergence; cases; cases that did not run
    OUT/compare.html          given two runs or more: the last two compared (results.compare)
    OUT/history.html          given runs at several commits: time per case against commit

A published collection (``harness report --publish DIR``), ready for static hosting such as
GitHub Pages::

    DIR/index.html            every published run, newest first
    DIR/published.json        what the index lists; publishing adds to it, keeping the rest
    DIR/runs/STARTED-SUITE-runID/   one report as above
    DIR/.nojekyll             serve the files as they are

A report folder holds a manifest, ``OUT/.harness-report.json``, of the pages the harness
wrote there; only those are ever replaced or removed. A folder that is not empty and has no
manifest (a user's own files) is refused unless ``force``, and even then only the pages of
the new report are written, nothing removed. A collection's ``published.json`` plays the
same part for its ``DIR``. Pages are written whole or not at all
(``harness.output_files.write_atomically``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from harness.output_files import OutputError, exists, explain, write_text_atomically
from harness.report import pages
from harness.report.markup import slug
from harness.report.rows import Declared, Row, group_repetitions
from harness.results.compare import compare_runs
from harness.results.db import ResultsDB
from harness.results.records import StoredRun
from harness.run.case import FAILED

REPORT_MANIFEST = ".harness-report.json"
"""The file, in a report folder, listing the pages the harness wrote there."""
MANIFEST_FORMAT = 1
PUBLISHED = "published.json"
"""The file, in a published collection, listing its runs (``_entry``); the index shows it."""
BESIDE_A_COLLECTION = frozenset({"asv", ".git", ".nojekyll"})
"""What may be in a folder before the first publish into it: an asv site (linked from the
index), a git checkout of the branch that is served, and the file publishing adds anyway."""
ENTRY_FIELDS = {
    "path": str,
    "title": str,
    "suite": str,
    "started": str,
    "commit": str,
    "machine": str,
    "cases": int,
    "failed": int,
    "unstable": int,
}
RUN_PATH = re.compile(r"runs/[A-Za-z0-9_][A-Za-z0-9_.-]*")
"""A published run's folder, as ``publish`` names it (one name, never ``..``)."""


def _folder(path: Path) -> None:
    """Create folder ``path`` (and its parents) if it is missing; refuse a file."""
    if exists(path) and not path.is_dir():
        raise OutputError(f"{path} is a file, not a folder: give a folder to write into")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise explain(exc, path, "create") from None


def _contents(folder: Path) -> set[str]:
    try:
        return {p.name for p in folder.iterdir()}
    except OSError as exc:
        raise explain(exc, folder, "read") from None


def _read_json(path: Path) -> Any:
    """The JSON in ``path``; ``ValueError`` where it is not JSON (or not UTF-8)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise explain(exc, path, "read") from None


def _page_name(name: Any) -> bool:
    """Whether ``name`` is a page a report may write: a plain ``*.html`` file name."""
    return (
        isinstance(name, str)
        and Path(name).name == name
        and not name.startswith(".")
        and name.endswith(".html")
    )


def _listed_pages(folder: Path, force: bool) -> set[str] | None:
    """The pages the manifest in ``folder`` lists, or None where it has none. A manifest
    that is not one the harness wrote is an ``OutputError``, or, with ``force``, none."""
    manifest = folder / REPORT_MANIFEST
    if not exists(manifest):
        return None
    try:
        listed = _read_json(manifest)
        if not isinstance(listed, dict) or listed.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"not a format {MANIFEST_FORMAT} manifest")
        if not isinstance(listed.get("files"), list) or not all(map(_page_name, listed["files"])):
            raise ValueError("its files are not a list of page names")
    except ValueError as exc:
        if force:
            return None
        raise OutputError(
            f"{manifest} is not a report manifest the harness wrote ({exc}): remove it, or "
            "pass --force to write the report anyway (it then removes no earlier page)"
        ) from None
    return set(listed["files"])


def _claim(folder: Path, pages: Collection[str], force: bool) -> set[str]:
    """Make ``folder`` ready for a report of ``pages`` and return the pages an earlier
    report wrote there. Refused (``OutputError``) unless ``force``: a folder that is not
    empty and has no manifest, or one where a page of ``pages`` exists but the harness did
    not write it."""
    _folder(folder)
    listed = _listed_pages(folder, force)
    if not force:
        present = _contents(folder)
        if listed is None and present:
            raise OutputError(
                f"{folder} is not empty and holds no report the harness wrote (no "
                f"{REPORT_MANIFEST}): choose a new or empty folder, or pass --force to write "
                "the report's pages into it (it removes nothing)"
            )
        foreign = sorted((set(pages) & present) - (listed or set()))
        if foreign:
            raise OutputError(
                f"{folder} holds {', '.join(foreign)}, not written by the harness: choose "
                "another folder, or pass --force to replace them"
            )
    return listed or set()


def _write_manifest(folder: Path, pages: Collection[str]) -> None:
    write_text_atomically(
        folder / REPORT_MANIFEST,
        json.dumps({"format": MANIFEST_FORMAT, "files": sorted(pages)}, indent=1) + "\n",
    )


def _task_pages(rows: Sequence[Row]) -> dict[str, str]:
    """Each task's page file name, unique even where two task names share a slug."""
    names: dict[str, str] = {}
    for task in dict.fromkeys(r.task for r in rows):
        name, n = f"task-{slug(task)}.html", 1
        while name in names.values():
            n += 1
            name = f"task-{slug(task)}-{n}.html"
        names[task] = name
    return names


def write(
    db: ResultsDB,
    run_ids: Sequence[int],
    out: Path,
    asv: Path | None = None,
    home: str | None = None,
    force: bool = False,
) -> list[Path]:
    """Write the report of ``run_ids`` into ``out`` and return the pages written, overview
    first. ``asv`` is an asv site's index.html to link to; ``home`` the href of the index of
    published runs. The pages of an earlier report there that this one does not write are
    removed; a folder the harness did not write into is refused unless ``force``
    (``OutputError``; see the module's docstring)."""
    runs = [(db.run(i), group_repetitions(db.cases(i))) for i in run_ids]
    run, rows = runs[-1]
    task_pages = _task_pages(rows)
    commits = {pages.commit_label(r) for r, _ in runs}
    nav = _navigation(run.id, task_pages, len(runs), len(commits), out, asv, home)
    documents = {
        "index.html": pages.page(
            f"Run {run.id}: {run.suite}",
            nav,
            "index.html",
            pages.overview(run, rows, task_pages),
        )
    }
    for task, href in task_pages.items():
        task_rows = [r for r in rows if r.task == task]
        declared = Declared.of(run.metadata, task)
        documents[href] = pages.page(
            f"{task} · run {run.id}", nav, href, pages.task_page(task_rows, declared)
        )
    if len(runs) > 1:
        documents["compare.html"] = _comparison_document(db, run_ids[-2], run_ids[-1], nav)
    if len(commits) > 1:
        documents["history.html"] = pages.page(
            f"History of {len(runs)} runs over {len(commits)} commits",
            nav,
            "history.html",
            pages.history_page(runs),
        )
    return _replace_pages(out, documents, force)


def _navigation(
    run_id: int,
    task_pages: dict[str, str],
    n_runs: int,
    n_commits: int,
    out: Path,
    asv: Path | None,
    home: str | None,
) -> list[pages.Link]:
    """The links atop every page: the run's overview, a page per task, the comparison (of
    more than one run), the history (over more than one commit), the asv site and ``home``."""
    nav = [pages.Link("index.html", f"Run {run_id}")]
    nav += [pages.Link(href, task) for task, href in task_pages.items()]
    if n_runs > 1:
        nav.append(pages.Link("compare.html", "Comparison"))
    if n_commits > 1:
        nav.append(pages.Link("history.html", "History"))
    if asv is not None:
        nav.append(pages.Link(Path(os.path.relpath(asv, out)).as_posix(), "History (asv)"))
    if home is not None:
        nav.append(pages.Link(home, "All published runs"))
    return nav


def _comparison_document(
    db: ResultsDB, base_id: int, new_id: int, nav: Sequence[pages.Link]
) -> str:
    """The page comparing run ``new_id`` with run ``base_id``; when the two ran on machines
    that are not comparable, with the roofline-normalised comparison too."""
    comparison = compare_runs(db, base_id, new_id)
    normalised = (
        None if comparison.comparable else compare_runs(db, base_id, new_id, normalize="roofline")
    )
    return pages.page(
        f"Run {new_id} against run {base_id}",
        nav,
        "compare.html",
        pages.comparison_page(comparison, normalised),
    )


def _replace_pages(out: Path, documents: dict[str, str], force: bool) -> list[Path]:
    """Write ``documents`` (file name -> HTML) into ``out`` in place of the pages of an
    earlier report there, keeping the manifest true at every step; the paths written."""
    earlier = _claim(out, documents, force)
    _write_manifest(out, earlier | set(documents))  # so an interrupted report is still ours
    written = []
    for name, html in documents.items():
        write_text_atomically(out / name, html)
        written.append(out / name)
    for stale in earlier - set(documents):
        try:
            (out / stale).unlink(missing_ok=True)
        except OSError as exc:
            raise explain(exc, out / stale, "remove") from None
    _write_manifest(out, documents)
    return written


def _entry(run: StoredRun, rows: Sequence[Row], path: str) -> dict[str, Any]:
    meta = run.metadata
    records = [r for row in rows for r in row.records]
    return {
        "path": path,
        "title": f"run {run.id}",
        "suite": run.suite,
        "started": run.started_at,
        "commit": pages.commit_label(run),
        "machine": f"{meta.get('cpu')}, {meta.get('cores')} cores",
        "cases": len(records),
        "failed": sum(r.status in FAILED for r in records),
        "unstable": sum(bool(r.unstable) for r in records),
    }


def _published_entries(root: Path, force: bool) -> list[dict[str, Any]]:
    """The runs the collection in folder ``root`` lists. A folder with other files and no
    ``published.json`` is refused unless ``force``; a ``published.json`` that is not a list
    of entries is refused even with ``force`` (the index it describes is left as it is)."""
    path = root / PUBLISHED
    if not exists(path):
        if not force and _contents(root) - BESIDE_A_COLLECTION:
            raise OutputError(
                f"{root} is not empty and holds no collection of published runs (no "
                f"{PUBLISHED}): choose a new or empty folder, or pass --force to publish into "
                "it (it removes nothing)"
            )
        return []
    try:
        entries = _read_json(path)
        if not isinstance(entries, list):
            raise ValueError(f"a list of runs was expected, not {type(entries).__name__}")
        for n, entry in enumerate(entries):
            _check_entry(entry, n)
    except ValueError as exc:
        raise OutputError(
            f"{path} is not a list of published runs ({exc}): repair it, or move it away and "
            "publish with --force to start a new index listing only this run; "
            f"{root / 'index.html'} was left as it is"
        ) from None
    return entries


def _check_entry(entry: Any, n: int) -> None:
    """``ValueError`` unless ``entry`` is a run as ``_entry`` writes it."""
    if not isinstance(entry, dict):
        raise ValueError(f"entry {n} is not a mapping")
    for field, kind in ENTRY_FIELDS.items():
        if not isinstance(entry.get(field), kind) or isinstance(entry[field], bool):
            raise ValueError(f"entry {n} has no {field!r} of type {kind.__name__}")
    if not RUN_PATH.fullmatch(entry["path"]):
        raise ValueError(f"entry {n} has path {entry['path']!r}, not runs/NAME")


SUITE_IN_FOLDER_NAME = 60
"""The characters of a suite's name a published run's folder name keeps (file systems limit
a name to 255 bytes; the run's start and id keep the folder unique)."""


def publish(db: ResultsDB, run_ids: Sequence[int], root: Path, force: bool = False) -> list[Path]:
    """Add the report of ``run_ids`` to the collection in ``root`` (replacing an earlier
    report of the same run) and rewrite its index; return the pages written, index first.
    A folder that is not a collection, or a malformed ``published.json``, is refused
    (``OutputError``; see the module's docstring and ``_published_entries``)."""
    run = db.run(run_ids[-1])
    _folder(root)
    entries = _published_entries(root, force)
    started = run.started_at.replace(":", "").replace("-", "")[:15]
    relative = "runs/" + slug(f"{started}-{run.suite[:SUITE_IN_FOLDER_NAME]}-run{run.id}")
    asv = root / "asv" / "index.html"
    site = root / relative
    written = write(db, run_ids, site, asv if asv.is_file() else None, "../../index.html", force)
    entries = [e for e in entries if e["path"] != relative]
    entries.append(_entry(run, group_repetitions(db.cases(run.id)), relative))
    write_text_atomically(root / PUBLISHED, json.dumps(entries, indent=1))
    if not exists(root / ".nojekyll"):
        write_text_atomically(root / ".nojekyll", "")
    index = root / "index.html"
    write_text_atomically(
        index,
        pages.page(
            f"Published runs ({len(entries)})",
            [pages.Link("index.html", "All published runs")],
            "index.html",
            pages.published_index(entries, asv.is_file()),
        ),
    )
    return [index, *written]
