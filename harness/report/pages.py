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

from harness.report import charts, tables, training
from harness.report.headline import Headline, Level, Share, headline
from harness.report.markup import attrs, esc
from harness.report.rows import (
    Declared,
    Row,
    anchor,
    by_problem,
    metric_names,
    problem_groups,
    problem_title,
    series_name,
)
from harness.results.compare import Comparison
from harness.results.records import StoredRun
from harness.run import conditions
from harness.run.case import DID_NOT_RUN, FAILED


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
        "conditions": _conditions(meta),
    }
    return (
        "<dl>"
        + "".join(
            f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts.items() if v not in (None, "")
        )
        + "</dl>"
    )


def _conditions(meta: dict[str, Any]) -> str | None:
    """What the machine's conditions at the run's start and end (``harness.run.conditions``)
    say about its noise; None for a run stored before they were recorded."""
    recorded = meta.get("conditions")
    if not recorded:
        return None
    said = conditions.warnings(recorded.get("start") or {}, recorded.get("end"))
    return "; ".join(said) if said else "quiet (no warning at the start or the end)"


def overview(run: StoredRun, rows: Sequence[Row], task_pages: dict[str, str]) -> str:
    """Per task a headline (``headline``: the Pareto front, the fastest method at each
    accuracy level, the best backend per method, failures and unstable cases, each linked
    to its place on the task's page) with a small accuracy–time plot; the counts of cases
    per task and status; the failures; the backends (and why any did not run); the measured
    roofline; the run and its machine."""
    records = [r for row in rows for r in row.records]
    statuses = Counter(r.status for r in records)
    counts = [f"{len(records)} cases", *(f"{n} {s}" for s, n in statuses.items())]
    counts.append(f"{sum(bool(r.unstable) for r in records)} unstable")
    results = []
    for task, href in task_pages.items():
        group = [r for r in rows if r.task == task]
        measured = [r for r in group if r.median_s is not None]
        declared = Declared.of(run.metadata, task)
        main = declared.main_metric(metric_names(group))
        found = headline(group, main, declared.higher_is_better(main) if main else False)
        plot = (
            charts.overview_front(measured, charts.Styles(measured), task, declared)
            if measured
            else ""
        )
        results.append(
            f'<section class="headline"><h3><a href="{esc(href)}">{esc(task)}</a></h3>'
            f'<div class="headline-body">{plot}{_findings(found, href)}</div></section>'
        )
    roofline = run.metadata.get("roofline")
    failures = [r for r in rows if r.status in FAILED]
    return (
        '<h2 id="results">Results by task</h2>'
        + "".join(results)
        + '<h2 id="cases">Cases</h2><p class="counts">'
        + "".join(f"<span>{esc(c)}</span>" for c in counts)
        + f"</p>{_task_counts(rows, task_pages)}"
        + (
            f'<h2 id="failures">Failures</h2>{tables.failure_table(failures, task_pages)}'
            if failures
            else ""
        )
        + '<h2 id="backends">Backends</h2>'
        + tables.backends_table(run.metadata.get("backends") or {}, rows)
        + '<h2 id="roofline">Measured roofline</h2>'
        + (
            tables.roofline_table(roofline)
            if roofline
            else '<p class="note">Not measured in this run (suite timing: roofline: false).</p>'
        )
        + f'<h2 id="machine">Run and machine</h2>{_facts(run)}'
    )


def _task_counts(rows: Sequence[Row], task_pages: dict[str, str]) -> str:
    """Per task: its rows, and how many were ok, failed, did not run, were unstable."""
    columns = [
        tables.Column("task"),
        tables.Column("rows", numeric=True, help="cases, repetitions merged"),
        tables.Column("ok", numeric=True),
        tables.Column("failed", numeric=True, help="error, timeout or crashed"),
        tables.Column("did not run", numeric=True, help="unavailable or unsupported"),
        tables.Column("unstable", numeric=True),
    ]
    body = []
    for task, href in task_pages.items():
        counts = _status_counts([r for r in rows if r.task == task])
        body.append(
            [tables.Cell(task, href=href)]
            + [tables.Cell(str(counts[c.name]), counts[c.name]) for c in columns[1:]]
        )
    return tables.table(columns, body)


def _status_counts(rows: Sequence[Row]) -> Counter[str]:
    """How many ``rows``, and how many were ok, failed, did not run, were unstable."""
    counts = Counter(
        "did not run" if r.status in DID_NOT_RUN else "failed" if r.status in FAILED else "ok"
        for r in rows
    )
    counts.update(rows=len(rows), unstable=sum(r.unstable for r in rows))
    return counts


def _counts(rows: Sequence[Row]) -> str:
    """How many of ``rows`` were ok, failed, unstable, did not run (linked to their lines)."""
    n = _status_counts(rows)
    parts = [f"{n['rows']} cases", f"{n['ok']} ok", f"{n['failed']} failed"]
    parts.append(f"{n['unstable']} unstable")
    if n["did not run"]:
        parts.append(f'<a href="#did-not-run">{n["did not run"]} did not run</a>')
    return f'<p class="counts">{"".join(f"<span>{p}</span>" for p in parts)}</p>'


UNSTABLE_LISTED = 8
"""The unstable cases a headline links to by name; it counts the rest."""


def _case_link(row: Row, href: str) -> str:
    text = f"{series_name(row)} · {row.size_text}"
    return f'<a href="{esc(href)}#{esc(anchor(row))}">{esc(text)}</a>'


def _share(share: Share) -> str:
    return f"{share.wins} of {share.of}"


def _findings(found: Headline, href: str) -> str:
    """A task's headline as a list, its links into the task's page ``href`` ("" on the
    page itself)."""
    items = []
    if found.front and found.metric:
        metric = esc(found.metric.replace("_", " "))
        items.append(
            f'On the <a href="{esc(href)}#accuracy">Pareto front</a> of {metric} against '
            "time (no case both faster and more accurate), per size and problem: "
            + ", ".join(f"<b>{esc(s.label)}</b> ({_share(s)})" for s in found.front)
        )
    if found.levels:
        levels = "".join(
            f"<li>{esc(_level_text(level, found.higher_is_better))}: "
            f'<a href="{esc(href)}#{esc(anchor(level.fastest.row))}">'
            f"{esc(level.fastest.label)}</a> ({_share(level.fastest)})</li>"
            for level in found.levels
        )
        metric = (found.metric or "").replace("_", " ")
        bound = "at least" if found.higher_is_better else "at most"
        items.append(f"Fastest method with {esc(metric)} {bound}:<ul>{levels}</ul>")
    if found.backends:
        items.append(
            f'Fastest <a href="{esc(href)}#backends">backend</a> per method: '
            + ", ".join(
                f"{esc(s.row.label)}: <b>{esc(s.label)}</b> ({_share(s)})" for s in found.backends
            )
        )
    if found.failed:
        items.append(
            f'<span class="failed">Failed ({len(found.failed)}):</span> '
            + ", ".join(_case_link(r, href) for r in found.failed)
        )
    if found.unstable:
        shown = ", ".join(_case_link(r, href) for r in found.unstable[:UNSTABLE_LISTED])
        more = len(found.unstable) - UNSTABLE_LISTED
        items.append(
            f'<span class="unstable">⚠ Unstable timings ({len(found.unstable)}):</span> '
            + shown
            + (f', <a href="{esc(href)}#cases">{more} more</a>' if more > 0 else "")
        )
    if not items:
        return (
            '<p class="note">No finding: no method was measured on two backends, and no '
            "case has an error metric.</p>"
            if found.measured
            else '<p class="note">Nothing was measured.</p>'
        )
    return '<ul class="findings">' + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _level_text(level: Level, higher_is_better: bool = False) -> str:
    if level.loosest == level.tightest:
        return f"{level.loosest:g}"
    return f"{level.loosest:g} {'up' if higher_is_better else 'down'} to {level.tightest:g}"


def _choices(metrics: Sequence[str], main: str) -> str:
    options = "".join(
        f"<option{attrs(value=m, selected=m == main)}>{esc(m.replace('_', ' '))}</option>"
        for m in metrics
    )
    return (
        f'<label class="metric">metric in the plots: '
        f'<select class="metric-choice">{options}</select></label>'
    )


@dataclass(frozen=True)
class Section:
    """A part of a task's page: its anchor, its heading (in the contents too), its HTML."""

    id: str
    title: str
    html: str


def task_page(rows: Sequence[Row], declared: Declared | None = None) -> str:
    """One task: contents; the summary (``headline``); the plots (accuracy against time with
    the Pareto front, timing distributions, scaling, backends, convergence); the table of
    the cases that ran; the cases that did not run, one line per reason. ``declared``: what
    the task declared of its metrics, as its run stored it (``Declared.of``); none: the
    fallback of a run stored without declarations."""
    declared = declared or Declared()
    metrics = metric_names(rows)
    main = declared.main_metric(metrics)
    ran = [r for r in rows if r.status not in DID_NOT_RUN]
    measured = [r for r in ran if r.median_s is not None]
    styles = charts.Styles(measured)
    groups = problem_groups(measured)
    found = headline(rows, main, declared.higher_is_better(main) if main else False)
    sections = [Section("summary", "Summary", _counts(rows) + _findings(found, ""))]
    if main and measured:
        sections.append(_accuracy_section(groups, metrics, main, styles, declared))
    sections += [
        _distribution_section(groups, styles),
        _scaling_section(measured, styles),
        _backends_section(groups, measured, styles),
        _roofline_section(measured, styles),
    ]
    if training.is_training(ran):  # the loop's curve is the loss plots' data
        sections.insert(1, Section("training", "Training runs", training.section(ran)))
    elif main:
        sections.append(_convergence_section(groups, metrics, main, styles))
    sections.append(Section("cases", "Cases", tables.case_table(ran, metrics)))
    skipped = [r for r in rows if r.status in DID_NOT_RUN]
    if skipped:
        sections.append(Section("did-not-run", "Did not run", tables.did_not_run(skipped)))
    shown = [s for s in sections if s.html]
    contents = "".join(f'<li><a href="#{s.id}">{esc(s.title)}</a></li>' for s in shown)
    return f'<nav class="toc" aria-label="contents"><ol>{contents}</ol></nav>' + "\n".join(
        f'<section><h2 id="{s.id}">{esc(s.title)}</h2>{s.html}</section>' for s in shown
    )


def _accuracy_section(
    groups: dict[str, list[Row]],
    metrics: Sequence[str],
    main: str,
    styles: charts.Styles,
    declared: Declared,
) -> Section:
    """Accuracy against time, a chart per metric (``main`` shown) for each size and problem,
    with the Pareto front in each metric's direction; the metric selector for every plot of
    the page."""
    body = [
        _choices(metrics, main),
        f'<p class="note">Per size and problem; {esc(_better_corner(metrics, declared))}. '
        "Joined: the Pareto front, the cases no other case beats on both time and the "
        "metric.</p>" + styles.key(),
    ]
    figures = "".join(
        charts.accuracy_vs_time(
            group, m, styles, title, hidden=m != main, higher_is_better=declared.higher_is_better(m)
        )
        for title, group in groups.items()
        for m in metrics
    )
    body.append(f'<div class="charts">{figures}</div>')
    return Section("accuracy", "Accuracy against time", "".join(body))


def _better_corner(metrics: Sequence[str], declared: Declared) -> str:
    """Where the better cases sit in the accuracy plots of ``metrics``: lower left, or
    upper left for the higher-is-better ones (named)."""
    higher = [m.replace("_", " ") for m in metrics if declared.higher_is_better(m)]
    if not higher:
        return "lower left is better"
    if len(higher) == len(metrics):
        return "upper left is better (higher is better)"
    return f"lower left is better; upper left for {', '.join(higher)} (higher is better)"


def _distribution_section(groups: dict[str, list[Row]], styles: charts.Styles) -> Section:
    """Every stored timing sample of each case, per size and problem."""
    figures = "".join(charts.distribution(group, styles, title) for title, group in groups.items())
    html = f'<div class="charts">{figures}</div>' if figures else ""
    return Section("distributions", "Timing distributions", html)


def _scaling_section(measured: Sequence[Row], styles: charts.Styles) -> Section:
    """Time against size for each problem; nothing when the task ran at one size."""
    if len({r.size_elements for r in measured}) <= 1:
        return Section("scaling", "Scaling", "")
    size_names = "·".join(measured[0].sizes)
    figures = "".join(
        charts.scaling(group, styles, size_names, title)
        for title, group in by_problem(measured).items()
    )
    return Section("scaling", "Scaling", f'<div class="charts">{figures}</div>')


def _roofline_section(measured: Sequence[Row], styles: charts.Styles) -> Section:
    """The cases with a flop and a bytes model under the machine's roofs, per problem;
    nothing when no case has both."""
    figures = "".join(
        charts.roofline(group, styles, title) for title, group in by_problem(measured).items()
    )
    html = f'<div class="charts">{figures}</div>' if figures else ""
    return Section("roofline", "Roofline", html)


def _backends_section(
    groups: dict[str, list[Row]], measured: Sequence[Row], styles: charts.Styles
) -> Section:
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
        return Section("backends", "Backends", "")
    figures = "".join(charts.backend_comparison(g, styles, t) for t, g in compared.items())
    return Section(
        "backends",
        "Backends",
        f'<div class="charts">{figures}</div>{tables.backend_table(measured)}',
    )


def _convergence_section(
    groups: dict[str, list[Row]], metrics: Sequence[str], main: str, styles: charts.Styles
) -> Section:
    """The iterative methods' metrics after each step, against the step and the seconds;
    nothing when no case recorded its convergence."""
    iterative = {t: [r for r in g if r.curves] for t, g in groups.items()}
    iterative = {t: g for t, g in iterative.items() if g}
    if not iterative:
        return Section("convergence", "Convergence", "")
    body = [
        '<p class="note">Iterative methods: the metric after each step, against the step '
        "and against the seconds to reach it (an untimed run, synchronised per step).</p>"
        + styles.key()
    ]
    figures = "".join(
        charts.convergence(group, m, along, styles, title, hidden=m != main)
        for title, group in iterative.items()
        for along in ("step", "seconds")
        for m in metrics
    )
    body.append(f'<div class="charts">{figures}</div>')
    return Section("convergence", "Convergence", "".join(body))


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
