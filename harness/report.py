"""A static HTML page of one stored run: its machine, and a table of cases per task.

One self-contained file (inline CSS, no JavaScript, no network), readable from file://.
Every string that comes from a plugin or a suite is escaped. The full report site (plots,
sorting, comparisons) is issue 6; this page is what the Quickstart opens.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from harness import results_table
from harness.db import ResultsDB

STYLE = """
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; } td.text { text-align: left; }
.ok { color: #176317; } .error { color: #b00; font-weight: bold; }
.unavailable { color: #a66b00; } .unsupported { color: #777; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; }
dt { font-weight: bold; }
"""


def _case_rows(cases: list[dict[str, Any]], metrics: list[str]) -> str:
    rows = []
    for case in cases:
        row = "".join(
            f'<td class="text">{escape(cell)}</td>'
            if column in results_table.TEXT_COLUMNS
            else f"<td>{escape(cell)}</td>"
            for column, cell in zip(
                results_table.headers(metrics), results_table.cells(case, metrics), strict=False
            )
        )
        status = escape(results_table.status(case))
        rows.append(
            f'<tr>{row}<td class="text {escape(case["status"])}">{status} '
            f"{escape(case['message'] or '')}</td></tr>"
        )
    return "\n".join(rows)


def render(run: dict[str, Any], cases: list[dict[str, Any]], asv_link: bool = False) -> str:
    meta = run["metadata"]
    facts = {
        "suite": run["suite"],
        "started": run["started_at"],
        "status": run["status"],
        "cpu": meta.get("cpu"),
        "cores": meta.get("cores"),
        "python": meta.get("python"),
        "commit": (meta.get("project") or {}).get("commit"),
        "backends": ", ".join(
            f"{name} {info.get('version', '')}" for name, info in meta.get("backends", {}).items()
        ),
    }
    sections = []
    for task in dict.fromkeys(c["task"] for c in cases):
        group = [c for c in cases if c["task"] == task]
        metrics = results_table.metric_names(group)
        head = "".join(f"<th>{escape(h)}</th>" for h in results_table.headers(metrics))
        sections.append(
            f"<h2>{escape(task)}</h2>\n<table><thead><tr>{head}</tr></thead>"
            f"<tbody>\n{_case_rows(group, metrics)}\n</tbody></table>"
        )
    facts_html = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts.items())
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>harness run {run['id']}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>Run {run['id']}: {escape(run['suite'])}</h1>\n<dl>{facts_html}</dl>\n"
        + (
            '<p><a href="../asv/index.html">History over commits (asv)</a></p>\n'
            if asv_link
            else ""
        )
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def write(db: ResultsDB, run_id: int, out: Path) -> Path:
    """Write the run's page to ``out/index.html`` and return its path. When an asv site sits
    beside it (``reports/asv``, from ``harness asv publish``), the page links to it."""
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    asv_site = out.parent / "asv" / "index.html"
    page.write_text(render(db.run(run_id), db.cases(run_id), asv_link=asv_site.is_file()))
    return page
