"""The report as a folder of pages, and the published collection of such folders.

A report of runs ``A ... Z`` (the last is the one it is about)::

    OUT/index.html            overview of Z: machine, backends, roofline, counts, failures
    OUT/task-NAME.html        per task of Z: cases, accuracy/time, scaling, backends, convergence
    OUT/compare.html          given two runs or more: the last two compared (harness.compare)
    OUT/history.html          given runs at several commits: time per case against commit

A published collection (``harness report --publish DIR``), ready for static hosting such as
GitHub Pages::

    DIR/index.html            every published run, newest first
    DIR/published.json        what the index lists; publishing adds to it, keeping the rest
    DIR/runs/STARTED-SUITE-runID/   one report as above
    DIR/.nojekyll             serve the files as they are
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.compare import compare_runs
from harness.db import ResultsDB
from harness.report import pages
from harness.report.markup import slug
from harness.report.rows import FAILED, Row, group_repetitions

MANIFEST = "published.json"


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
) -> list[Path]:
    """Write the report of ``run_ids`` into ``out`` and return the pages written, overview
    first. ``asv`` is an asv site's index.html to link to; ``home`` the href of the index of
    published runs."""
    runs = [(db.run(i), group_repetitions(db.cases(i))) for i in run_ids]
    run, rows = runs[-1]
    task_pages = _task_pages(rows)
    commits = {pages.commit_label(r) for r, _ in runs}
    nav = [pages.Link("index.html", f"Run {run['id']}")]
    nav += [pages.Link(href, task) for task, href in task_pages.items()]
    if len(runs) > 1:
        nav.append(pages.Link("compare.html", "Comparison"))
    if len(commits) > 1:
        nav.append(pages.Link("history.html", "History"))
    if asv is not None:
        nav.append(pages.Link(Path(os.path.relpath(asv, out)).as_posix(), "History (asv)"))
    if home is not None:
        nav.append(pages.Link(home, "All published runs"))
    title = f"Run {run['id']}: {run['suite']}"
    documents = {
        "index.html": pages.page(title, nav, "index.html", pages.overview(run, rows, task_pages))
    }
    for task, href in task_pages.items():
        task_rows = [r for r in rows if r.task == task]
        documents[href] = pages.page(
            f"{task} · run {run['id']}", nav, href, pages.task_page(task_rows)
        )
    if len(runs) > 1:
        base_id, new_id = run_ids[-2], run_ids[-1]
        comparison = compare_runs(db, base_id, new_id)
        normalised = (
            None
            if comparison.comparable
            else compare_runs(db, base_id, new_id, normalize="roofline")
        )
        documents["compare.html"] = pages.page(
            f"Run {new_id} against run {base_id}",
            nav,
            "compare.html",
            pages.comparison_page(comparison, normalised),
        )
    if len(commits) > 1:
        documents["history.html"] = pages.page(
            f"History of {len(runs)} runs over {len(commits)} commits",
            nav,
            "history.html",
            pages.history_page(runs),
        )
    out.mkdir(parents=True, exist_ok=True)
    earlier = [*out.glob("task-*.html"), out / "compare.html", out / "history.html"]
    for stale in earlier:  # pages an earlier report wrote here that this one does not
        if stale.name not in documents:
            stale.unlink(missing_ok=True)
    written = []
    for name, html in documents.items():
        path = out / name
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written


def _entry(run: dict[str, Any], rows: Sequence[Row], path: str) -> dict[str, Any]:
    meta = run["metadata"]
    records = [r for row in rows for r in row.records]
    return {
        "path": path,
        "title": f"run {run['id']}",
        "suite": run["suite"],
        "started": run["started_at"],
        "commit": pages.commit_label(run),
        "machine": f"{meta.get('cpu')}, {meta.get('cores')} cores",
        "cases": len(records),
        "failed": sum(r["status"] in FAILED for r in records),
        "unstable": sum(bool(r["unstable"]) for r in records),
    }


def publish(db: ResultsDB, run_ids: Sequence[int], root: Path) -> list[Path]:
    """Add the report of ``run_ids`` to the collection in ``root`` (replacing an earlier
    report of the same run) and rewrite its index; return the pages written, index first."""
    run = db.run(run_ids[-1])
    started = run["started_at"].replace(":", "").replace("-", "")[:15]
    relative = "runs/" + slug(f"{started}-{run['suite']}-run{run['id']}")
    site = root / relative
    if site.is_dir():
        shutil.rmtree(site)
    asv = root / "asv" / "index.html"
    written = write(db, run_ids, site, asv if asv.is_file() else None, home="../../index.html")
    manifest = root / MANIFEST
    entries = json.loads(manifest.read_text()) if manifest.is_file() else []
    entries = [e for e in entries if e["path"] != relative]
    entries.append(_entry(run, group_repetitions(db.cases(run["id"])), relative))
    manifest.write_text(json.dumps(entries, indent=1))
    (root / ".nojekyll").touch()
    index = root / "index.html"
    index.write_text(
        pages.page(
            f"Published runs ({len(entries)})",
            [pages.Link("index.html", "All published runs")],
            "index.html",
            pages.published_index(entries, asv.is_file()),
        ),
        encoding="utf-8",
    )
    return [index, *written]
