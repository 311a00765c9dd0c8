"""The report's pages as HTML strings: the frame every page shares, a run's overview, a
task's page, the history over commits and the index of published runs.

A page is one self-contained file: the stylesheet and the script (``static/``, shipped with
the package) are inlined, plots are inline SVG, and nothing is fetched from the network, so
a page works from file:// and offline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from harness.report import charts, tables
from harness.report.markup import attrs, esc
from harness.report.rows import (
    Row,
    by_problem,
    main_metric,
    metric_names,
    problem_groups,
    problem_title,
)
from harness.results.compare import Comparison
from harness.results.records import StoredRun
from harness.run.case import DID_NOT_RUN, FAILED, Status


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@cache
def _static(name: str) -> str:
    return (files("harness.report") / "static" / name).read_text(encoding="utf-8")


def page(title: str, nav: Sequence[Link], current: str, body: str) -> str:
    """A complete HTML document with the shared navigation; ``current`` is this page's href."""
    links = "".join(
        f"<a{attrs(href=link.href, aria_current='page' if link.href == current else None)}>"
        f"{esc(link.text)}</a>"
        for link in nav
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_static('report.css')}</style></head>\n"
        f"<body><nav>{links}</nav>\n<h1>{esc(title)}</h1>\n{body}\n"
        f"<script>{_static('report.js')}</script></body></html>\n"
    )


def commit_label(run: StoredRun) -> str:
    """The run's commit, short, with ``*`` when the checkout had uncommitted changes."""
    project = run.metadata.get("project") or {}
    commit = project.get("commit")
    return f"{commit[:10]}{'*' if project.get('dirty') else ''}" if commit else "unknown commit"


def _facts(run: StoredRun) -> str:
    meta = run.metadata
    memory = meta.get("memory_bytes")
    facts = {
        "suite": f"{run.suite} ({run.suite_path})",
        "run": run.id,
        "started": run.started_at,
        "finished": run.finished_at or "not finished",
        "status": run.status,
        "commit": commit_label(run),
        "harness": meta.get("harness_version"),
        "cpu": f"{meta.get('cpu')}, {meta.get('cores')} cores",
        "memory": f"{memory / 2**30:.1f} GiB" if memory else None,
        "python": (meta.get("python") or "").split(" ")[0] or None,
        "platform": meta.get("platform"),
        "environment": " ".join(f"{k}={v}" for k, v in (meta.get("environment") or {}).items()),
    }
    return (
        "<dl>"
        + "".join(
            f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts.items() if v not in (None, "")
        )
        + "</dl>"
    )


def overview(run: StoredRun, rows: Sequence[Row], task_pages: dict[str, str]) -> str:
    """The run's machine, its backends (and why any did not run), the measured roofline;
    counts of cases, failures and unstable cases, per task; the failures with their
    messages."""
    records = [r for row in rows for r in row.records]
    statuses = Counter(r.status for r in records)
    unstable = sum(bool(r.unstable) for r in records)
    counts = [f"{len(records)} cases", *(f"{n} {s}" for s, n in statuses.items())]
    counts.append(f"{unstable} unstable")
    summary = []
    for task, href in task_pages.items():
        group = [r for r in rows if r.task == task]
        summary.append(
            [
                tables.Cell(task, href=href),
                tables.Cell(str(len(group)), len(group)),
                *(
                    tables.Cell(str(n), n)
                    for n in (
                        sum(r.status == Status.OK for r in group),
                        sum(r.status in FAILED for r in group),
                        sum(r.status in DID_NOT_RUN for r in group),
                        sum(r.unstable for r in group),
                    )
                ),
            ]
        )
    task_table = tables.table(
        [
            tables.Column("task"),
            tables.Column("rows", numeric=True, help="cases, repetitions merged"),
            tables.Column("ok", numeric=True),
            tables.Column("failed", numeric=True, help="error, timeout or crashed"),
            tables.Column("did not run", numeric=True, help="unavailable or unsupported"),
            tables.Column("unstable", numeric=True),
        ],
        summary,
    )
    roofline = run.metadata.get("roofline")
    failures = [r for r in rows if r.status in FAILED]
    return (
        f"<h2>Machine</h2>{_facts(run)}"
        f'<h2>Cases</h2><p class="counts">'
        + "".join(f"<span>{esc(c)}</span>" for c in counts)
        + f"</p>{task_table}"
        + f"<h2>Backends</h2>{tables.backends_table(run.metadata.get('backends') or {}, rows)}"
        + "<h2>Measured roofline</h2>"
        + (
            tables.roofline_table(roofline)
            if roofline
            else '<p class="note">Not measured in this run (suite timing: roofline: false).</p>'
        )
        + (f"<h2>Failures</h2>{tables.failure_table(failures)}" if failures else "")
    )


def _choices(metrics: Sequence[str], main: str) -> str:
    options = "".join(
        f"<option{attrs(value=m, selected=m == main)}>{esc(m.replace('_', ' '))}</option>"
        for m in metrics
    )
    return (
        f'<label class="metric">error metric in the plots: '
        f'<select class="metric-choice">{options}</select></label>'
    )


def task_page(rows: Sequence[Row]) -> str:
    """One task: its cases, accuracy against time with the Pareto front, scaling, backends,
    convergence."""
    metrics = metric_names(rows)
    main = main_metric(metrics)
    measured = [r for r in rows if r.median_s is not None]
    styles = charts.Styles(measured)
    groups = problem_groups(measured)
    body = [_choices(metrics, main)] if main else []
    body.append(f"<h2>Cases</h2>{tables.case_table(rows, metrics)}")
    if main and measured:
        body += _accuracy_section(groups, metrics, main, styles)
    body += _scaling_section(measured, styles)
    body += _backends_section(groups, measured, styles)
    if main:
        body += _convergence_section(groups, metrics, main, styles)
    return "\n".join(body)


def _accuracy_section(
    groups: dict[str, list[Row]], metrics: Sequence[str], main: str, styles: charts.Styles
) -> list[str]:
    """Accuracy against time, a chart per metric (``main`` shown) for each size and problem,
    with the Pareto front."""
    body = [
        "<h2>Accuracy against time</h2>"
        '<p class="note">Per size and problem; lower left is better. Ringed and joined: '
        "the Pareto front, the cases no other case beats on both time and error.</p>" + styles.key()
    ]
    for title, group in groups.items():
        figures = "".join(
            charts.accuracy_vs_time(group, m, styles, title, hidden=m != main) for m in metrics
        )
        body.append(f'<div class="charts">{figures}</div>')
    return body


def _scaling_section(measured: Sequence[Row], styles: charts.Styles) -> list[str]:
    """Time against size for each problem; nothing when the task ran at one size."""
    if len({r.size_elements for r in measured}) <= 1:
        return []
    size_names = "·".join(measured[0].sizes)
    return [
        "<h2>Scaling</h2>",
        '<div class="charts">'
        + "".join(
            charts.scaling(group, styles, size_names, title)
            for title, group in by_problem(measured).items()
        )
        + "</div>",
    ]


def _backends_section(
    groups: dict[str, list[Row]], measured: Sequence[Row], styles: charts.Styles
) -> list[str]:
    """The backends side by side, for the sizes and problems where a method ran on more than
    one; nothing when none did."""
    compared = {
        title: group
        for title, group in groups.items()
        if any(
            len({r.backend for r in group if (r.label, r.dtype) == (row.label, row.dtype)}) > 1
            for row in group
        )
    }
    if not compared:
        return []
    return [
        "<h2>Backends</h2>",
        '<div class="charts">'
        + "".join(charts.backend_comparison(g, styles, t) for t, g in compared.items())
        + f"</div>{tables.backend_table(measured)}",
    ]


def _convergence_section(
    groups: dict[str, list[Row]], metrics: Sequence[str], main: str, styles: charts.Styles
) -> list[str]:
    """The iterative methods' metrics after each step, against the step and the seconds;
    nothing when no case recorded its convergence."""
    iterative = {t: [r for r in g if r.curves] for t, g in groups.items()}
    iterative = {t: g for t, g in iterative.items() if g}
    if not iterative:
        return []
    body = [
        "<h2>Convergence</h2>"
        '<p class="note">Iterative methods: the metric after each step, against the step '
        "and against the seconds to reach it (an untimed run, synchronised per step).</p>"
        + styles.key()
    ]
    for title, group in iterative.items():
        figures = "".join(
            charts.convergence(group, m, along, styles, title, hidden=m != main)
            for along in ("step", "seconds")
            for m in metrics
        )
        body.append(f'<div class="charts">{figures}</div>')
    return body


EXIT_MEANING = {
    0: "nothing regressed",
    1: "something regressed",
    2: "too unstable to say, the runs are not comparable, or they have no case in common",
}


def _run_line(run: StoredRun) -> str:
    return f"run {run.id} ({run.suite}, {commit_label(run)}, started {run.started_at})"


def comparison_page(comparison: Comparison, normalised: Comparison | None) -> str:
    """The last two runs compared case by case (``harness.results.compare``); when their machines
    differ, the comparison normalised by each run's measured GEMM rate as well."""
    shown = normalised if normalised is not None and not comparison.comparable else comparison
    body = [
        f"<dl><dt>base</dt><dd>{esc(_run_line(comparison.base_run))}</dd>"
        f"<dt>new</dt><dd>{esc(_run_line(comparison.new_run))}</dd></dl>",
        f'<p class="note">A time counts as changed when the Mann–Whitney U test on the raw '
        f"samples gives p &lt; {comparison.alpha:g} and the ratio of medians is beyond "
        f"{1 + comparison.min_effect:g}× either way; a quality metric when it moved more than "
        f"{comparison.metric_tolerance.relative:.0%} (or a few machine epsilons). "
        "The same verdicts as <code>harness compare</code>.</p>",
    ]
    if not comparison.comparable:
        body.append(
            f'<p class="warning">The runs are not comparable: {esc(comparison.reason)}. '
            + (
                "Below, each run's times are normalised by its own measured GEMM rate "
                "(the roofline), so the ratios compare shares of each machine's peak."
                if shown is normalised
                else "Neither run measured a roofline to normalise by."
            )
            + "</p>"
        )
    summary = shown.summary()
    body.append(
        '<p class="counts">'
        + "".join(f"<span>{n} {esc(verdict)}</span>" for verdict, n in summary.items())
        + "</p>"
        f"<p><code>harness compare</code> would exit with {comparison.exit_code}: "
        f"{esc(EXIT_MEANING[comparison.exit_code])}.</p>"
    )
    if any(row.ratio is not None for row in shown.rows):
        title = f"run {comparison.new_run.id} over run {comparison.base_run.id}"
        body.append(f'<div class="charts">{charts.ratios(shown.rows, title)}</div>')
    body.append(f"<h2>Cases</h2>{tables.comparison_table(shown.rows)}")
    return "\n".join(body)


def history_page(runs: Sequence[tuple[StoredRun, list[Row]]]) -> str:
    """Time per case against commit, for runs that span several commits (oldest first)."""
    by_commit: dict[str, list[Row]] = {}
    for run, rows in sorted(runs, key=lambda pair: pair[0].started_at):
        by_commit.setdefault(commit_label(run), []).extend(rows)
    every_row = [r for rows in by_commit.values() for r in rows]
    body = [
        '<p class="note">Runs, oldest first: '
        + ", ".join(f"run {run.id} at {commit_label(run)}" for run, _ in runs)
        + ". A commit with several runs shows the median of their times; * marks a checkout "
        "with uncommitted changes.</p>"
    ]
    for task in dict.fromkeys(r.task for r in every_row):
        styles = charts.Styles([r for r in every_row if r.task == task and r.median_s is not None])
        body.append(f"<h2>{esc(task)}</h2>{styles.key()}")
        titles = problem_groups([r for r in every_row if r.task == task])
        figures = []
        for title in titles:
            per_commit = {
                commit: [r for r in rows if r.task == task and problem_title(r) == title]
                for commit, rows in by_commit.items()
            }
            figures.append(charts.history(per_commit, styles, title))
        task_rows = {c: [r for r in rows if r.task == task] for c, rows in by_commit.items()}
        body.append(
            f'<div class="charts">{"".join(figures)}</div>{tables.history_table(task_rows)}'
        )
    return "\n".join(body)


def published_index(entries: Sequence[dict[str, Any]], asv: bool) -> str:
    """The index of every published run, newest first."""
    columns = [
        tables.Column("run"),
        tables.Column("suite"),
        tables.Column("started"),
        tables.Column("commit"),
        tables.Column("machine"),
        tables.Column("cases", numeric=True),
        tables.Column("failed", numeric=True),
        tables.Column("unstable", numeric=True),
    ]
    body = [
        [
            tables.Cell(e["title"], href=f"{e['path']}/index.html"),
            tables.Cell(e["suite"]),
            tables.Cell(e["started"]),
            tables.Cell(e["commit"]),
            tables.Cell(e["machine"]),
            *(tables.Cell(str(e[k]), e[k]) for k in ("cases", "failed", "unstable")),
        ]
        for e in sorted(entries, key=lambda e: e["started"], reverse=True)
    ]
    asv_link = '<p><a href="asv/index.html">History over commits (asv)</a></p>' if asv else ""
    return asv_link + tables.table(columns, body, "published")
