"""HTML tables: a sortable table of cells, and the report's tables built on it (a task's
cases, the backends side by side, a run's failures, the measured roofline).

A numeric cell carries its full-precision value in ``data-v``, so the page's script sorts it
as a number whatever its shown format (an empty ``data-v``, a missing value, sorts last);
text cells sort by their text.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.report.markup import attrs, esc, number, seconds, sort_key, words
from harness.report.rows import Row, anchor, problem_groups
from harness.results.compare import CaseComparison
from harness.results.records import StoredCase
from harness.run.case import DID_NOT_RUN, Status


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False
    help: str | None = None
    """Shown when the pointer rests on the header."""


@dataclass(frozen=True)
class Cell:
    text: str
    value: float | None = None
    """The number a numeric column sorts by."""
    note: str = ""
    """Smaller text after the main text (a spread, a message)."""
    title: str | None = None
    class_: str | None = None
    href: str | None = None


def table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    class_: str = "",
    caption: str = "",
    ids: Sequence[str] | None = None,
) -> str:
    """A ``<table class="sortable">``: clicking a header sorts by that column. ``caption``
    is said above the table; ``ids`` are the rows' ids (link targets), one per row."""
    head = "".join(
        f"<th{attrs(class_='num' if c.numeric else None, title=c.help)}>{esc(c.name)}</th>"
        for c in columns
    )
    body = []
    for n, row in enumerate(rows):
        cells = []
        for column, cell in zip(columns, row, strict=True):
            classes = " ".join(filter(None, ["num" if column.numeric else "", cell.class_ or ""]))
            text = (
                f'<a href="{esc(cell.href)}">{esc(cell.text)}</a>' if cell.href else esc(cell.text)
            )
            note = f" <small>{esc(cell.note)}</small>" if cell.note else ""
            value = sort_key(cell.value) if column.numeric else None
            cells.append(
                f"<td{attrs(class_=classes or None, title=cell.title, data_v=value)}>"
                f"{text}{note}</td>"
            )
        body.append(f"<tr{attrs(id=ids[n] if ids else None)}>{''.join(cells)}</tr>")
    caption_html = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table class="sortable {esc(class_)}">{caption_html}'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _spread(low_high: tuple[float, float] | None, format: Any = number) -> str:
    """``[low – high]``; nothing when there is no interval or its ends print the same."""
    if not low_high or (low := format(low_high[0])) == (high := format(low_high[1])):
        return ""
    return f"[{low} – {high}]"


KEPT_COLUMNS = frozenset({"method", "median time", "status"})
"""The columns of ``case_table`` shown even when every row has the same value there."""
QUIET_COLUMNS = frozenset({"GB/s", "% bw"})
"""Columns left out without a word where no row has a value: only methods with a bytes model
fill them."""
UNSTABLE_HELP = (
    "ok, but unstable: the samples' spread (IQR over the median) is above the suite's "
    "threshold, so this time is noisy"
)


def case_table(rows: Sequence[Row], metrics: Sequence[str]) -> str:
    """A task's rows: the case, its median time and interval, achieved rate, share of the
    measured peak, quality metrics (median and, over repetitions, their min–max), status.
    Each row's id is ``rows.anchor``. A column with one value in every row (of two rows or
    more) is left out and its value said in the caption, as are the task's parameters that
    are the same in every row; a column empty in every row is left out."""
    varying_problem = _varying_problem(rows)
    body = [_case_cells(row, metrics, varying_problem) for row in rows]
    problem = {k: v for k, v in rows[0].problem.items() if k not in varying_problem} if rows else {}
    columns, body, caption = _constant_columns_to_caption(
        _case_columns(metrics), body, [f"problem {words(problem)}"] if problem else []
    )
    return table(columns, body, "cases", caption, [anchor(row) for row in rows])


def _constant_columns_to_caption(
    columns: Sequence[Column], body: Sequence[Sequence[Cell]], same: list[str]
) -> tuple[list[Column], list[list[Cell]], str]:
    """``columns`` and ``body`` without the columns (but ``KEPT_COLUMNS``) whose cells all
    say the same, or ``-`` (not measured) in some rows; the caption naming what is the same
    in every row: ``same``, then the values of those columns."""
    if len(body) < 2:
        return list(columns), [list(row) for row in body], _in_every_row(same)
    keep, same = [], list(same)
    for i, column in enumerate(columns):
        texts = {(row[i].text, row[i].note) for row in body}
        values = texts - {("-", "")}
        if column.name in KEPT_COLUMNS or len(values) > 1:
            keep.append(i)
        elif not values:
            if column.name not in QUIET_COLUMNS:
                same.append(f"{column.name} not measured")
        elif text := next(iter(values))[0]:  # a column empty in every row goes unsaid
            gaps = " (where measured)" if len(texts) > 1 else ""
            same.append(f"{column.name} {text}{gaps}")
    return [columns[i] for i in keep], [[row[i] for i in keep] for row in body], _in_every_row(same)


def _in_every_row(same: Sequence[str]) -> str:
    return f"In every row: {', '.join(same)}." if same else ""


def _case_columns(metrics: Sequence[str]) -> list[Column]:
    """The columns of ``case_table``: the case, its timing and rate, the ``metrics``,
    status."""
    return [
        Column("method"),
        Column("params", help="those that differ between this method's rows; all on hover"),
        Column("problem", help="the task's parameters that differ between rows; all on hover"),
        Column("backend"),
        Column("dtype"),
        Column("size", numeric=True, help="sorted by the number of elements"),
        Column("reps", numeric=True, help="repetitions merged into this row"),
        Column(
            "median time",
            numeric=True,
            help="median over samples (over repetitions: of "
            "their medians); below it the order-statistic 95% interval of the median (none "
            "with fewer than six samples), or the repetitions' "
            "min–max",
        ),
        Column("GFLOP/s", numeric=True),
        Column("% peak", numeric=True, help="achieved GFLOP/s over the measured GEMM rate"),
        Column("GB/s", numeric=True, help="bytes moved (the method's bytes model) per second"),
        Column("% bw", numeric=True, help="achieved GB/s over the measured memory bandwidth"),
        *(Column(m.replace("_", " "), numeric=True) for m in metrics),
        Column("status"),
    ]


def _varying_problem(rows: Sequence[Row]) -> list[str]:
    """The task parameters whose values differ between ``rows`` (the others go unshown)."""
    return [
        name
        for name in dict.fromkeys(k for row in rows for k in row.problem)
        if len({repr(row.problem.get(name)) for row in rows}) > 1
    ]


def _case_cells(row: Row, metrics: Sequence[str], varying_problem: Sequence[str]) -> list[Cell]:
    """One row of ``case_table``; of the task's parameters only ``varying_problem`` are shown
    (all of them, and all the method's, on hover)."""
    share = row.bandwidth_fraction
    return [
        Cell(row.method),
        Cell(
            words({k: row.params[k] for k in row.shown_params if k in row.params}),
            title=words(row.params) or None,
        ),
        Cell(
            words({k: row.problem[k] for k in varying_problem if k in row.problem}),
            title=words(row.problem) or None,
        ),
        Cell(row.backend),
        Cell(row.dtype),
        Cell(row.size_text, row.size_elements),
        Cell(str(row.repetitions), row.repetitions),
        _time_cell(row),
        Cell(number(row.gflops, ".1f"), row.gflops),
        _peak_cell(row),
        Cell(number(row.gbs, ".2f"), row.gbs),
        Cell(number(share and share * 100, ".0f"), share),
        *(
            Cell(number(row.metric(m)), row.metric(m), note=_spread(row.metric_range(m)))
            for m in metrics
        ),
        _status_cell(row),
    ]


def _time_cell(row: Row) -> Cell:
    """The median time, its interval below it (or, for one case with fewer than six
    samples, that it has none), what the interval is on hover."""
    if row.median_s is None:
        return Cell("-")
    interval = row.interval
    note = _spread(interval, seconds) if interval else "too few samples"
    return Cell(seconds(row.median_s), row.median_s, note=note, title=row.interval_kind)


ABOVE_PEAK_HELP = (
    "above the measured peak: the roofline's GEMM probe missed a faster kernel for this "
    "shape and dtype, so this share is not a share of the machine's peak"
)


def _peak_cell(row: Row) -> Cell:
    """The share of the measured peak; above ``roofline.ABOVE_PEAK`` a warning (⚠)."""
    peak = row.peak_fraction
    text = number(peak and peak * 100, ".0f")
    if not row.above_peak:
        return Cell(text, peak)
    return Cell(f"⚠ {text}", peak, title=ABOVE_PEAK_HELP, class_="above-peak")


def _status_cell(row: Row) -> Cell:
    """The row's status, with its message; an ``ok`` row that is unstable is a warning
    (class ``ok unstable``, marked ⚠), never plain ``ok``."""
    skipped = row.status in DID_NOT_RUN
    warning = row.unstable and row.status == Status.OK
    return Cell(
        f"⚠ {row.status_text}" if warning else row.status_text,
        note="" if skipped else row.message,
        title=UNSTABLE_HELP if warning else row.message if skipped else None,
        class_=f"{row.status} unstable" if warning else row.status,
    )


def did_not_run(rows: Sequence[Row]) -> str:
    """The rows that did not run, one line per status and reason with their count and what
    they were (backends, methods, sizes, dtypes); each line's id is ``did-not-run-N``."""
    reasons: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        reasons.setdefault((row.status, row.message), []).append(row)
    lines = []
    for n, ((status, message), same) in enumerate(reasons.items(), start=1):
        what = "; ".join(
            f"{name} {', '.join(dict.fromkeys(values))}"
            for name, values in (
                ("backend", [r.backend for r in same]),
                ("method", [r.label for r in same]),
                ("size", [r.size_text for r in same]),
                ("dtype", [r.dtype for r in same]),
            )
        )
        lines.append(
            f'<li id="did-not-run-{n}"><span class="count">{len(same)}</span> '
            f'{"case" if len(same) == 1 else "cases"} <span class="{esc(status)}">'
            f"{esc(status)}</span>: {esc(message or 'no reason given')} "
            f"<small>({esc(what)})</small></li>"
        )
    return f'<ul class="did-not-run">{"".join(lines)}</ul>'


def backend_table(rows: Sequence[Row]) -> str:
    """Every method measured on two or more backends at one size, dtype and problem: its
    time on each, and how many times the fastest backend's that is."""
    body = []
    for title, group in problem_groups(rows).items():
        same: dict[tuple[str, str], list[tuple[Row, float]]] = {}
        for row in group:
            if (median_s := row.median_s) is not None:
                same.setdefault((row.label, row.dtype), []).append((row, median_s))
        for entries in same.values():
            if len({r.backend for r, _ in entries}) < 2:
                continue
            fastest = min(t for _, t in entries)
            for row, median_s in entries:
                ratio = median_s / fastest
                body.append(
                    [
                        Cell(title),
                        Cell(row.label),
                        Cell(row.dtype),
                        Cell(row.backend),
                        Cell(seconds(median_s), median_s, note=_spread(row.interval, seconds)),
                        Cell(f"{ratio:.2f}×", ratio, class_="best" if ratio == 1 else None),
                    ]
                )
    columns = [
        Column("size and problem"),
        Column("method"),
        Column("dtype"),
        Column("backend"),
        Column("median time", numeric=True),
        Column("× fastest", numeric=True, help="time over the fastest backend's time"),
    ]
    return table(columns, body, "backends")


def failure_table(rows: Sequence[Row], task_pages: dict[str, str]) -> str:
    """The rows that failed, with their messages, each linked to its line on its task's
    page (``task_pages``: task name -> page file)."""
    columns = [Column(n) for n in ("task", "method", "params", "backend", "dtype", "size")]
    body = [
        [
            Cell(r.task, href=task_pages[r.task]),
            Cell(r.method, href=f"{task_pages[r.task]}#{anchor(r)}"),
            Cell(words(r.params)),
            Cell(r.backend),
            Cell(r.dtype),
            Cell(r.size_text),
            Cell(r.status_text, note=r.message, class_=r.status),
        ]
        for r in rows
    ]
    return table([*columns, Column("status")], body, "failures")


def backends_table(backends: dict[str, dict[str, Any]], rows: Sequence[Row]) -> str:
    """Every backend the run named: its library, device and BLAS (from the run's metadata,
    for those that could run), how many of its rows ran, and why the others did not."""
    columns = [
        Column("backend"),
        Column("library"),
        Column("device"),
        Column("BLAS"),
        Column("rows", numeric=True),
        Column("ok", numeric=True),
        Column("did not run", numeric=True),
        Column("why not"),
    ]
    body = []
    for name in dict.fromkeys([*backends, *(r.backend for r in rows)]):
        info = backends.get(name, {})
        mine = [r for r in rows if r.backend == name]
        ok = sum(r.status == Status.OK for r in mine)
        skipped = [r for r in mine if r.status in DID_NOT_RUN]
        blas = ", ".join(
            f"{p.get('internal_api')} {p.get('version') or ''} {p.get('num_threads')} threads"
            for p in info.get("blas", [])
            if p.get("user_api") == "blas"
        )
        body.append(
            [
                Cell(name),
                Cell(" ".join(str(info[k]) for k in ("library", "version") if info.get(k))),
                Cell(str(info.get("gpu") or info.get("device") or "")),
                Cell(blas),
                Cell(str(len(mine)), len(mine)),
                Cell(str(ok), ok),
                Cell(str(len(skipped)), len(skipped)),
                Cell("; ".join(dict.fromkeys(r.message for r in skipped if r.message))),
            ]
        )
    return table(columns, body, "backends")


def roofline_table(roofline: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The machine's measured GEMM rate and memory bandwidth per backend and dtype."""
    columns = [
        Column("backend"),
        Column("dtype"),
        Column(
            "GEMM GFLOP/s",
            numeric=True,
            help="best rate of C = A B over square, wide-Gram and square-times-wide shapes",
        ),
        Column("at m×k×n", help="the shape of the best product: A m×k, B k×n"),
        Column("copy GB/s", numeric=True),
        Column("triad GB/s", numeric=True, help="a = b + s·c, counted as 3 words per element"),
        Column("measured"),
    ]
    body = [
        [
            Cell(backend),
            Cell(dtype),
            Cell(number(m.get("gemm_gflops"), ".1f"), m.get("gemm_gflops")),
            Cell(str(m.get("gemm_shape") or m.get("gemm_n") or "-")),
            Cell(number(m.get("copy_gbs"), ".1f"), m.get("copy_gbs")),
            Cell(number(m.get("triad_gbs"), ".1f"), m.get("triad_gbs")),
            Cell(str(m.get("measured_at", ""))),
        ]
        for backend, dtypes in roofline.items()
        for dtype, m in dtypes.items()
    ]
    return table(columns, body, "roofline")


def history_table(rows_by_commit: dict[str, list[Row]]) -> str:
    """Median time of each case (size, problem and series) at each commit, oldest first,
    and the last commit's time over the first's."""
    commits = list(rows_by_commit)
    times: dict[tuple[str, str], dict[str, float]] = {}
    for commit, rows in rows_by_commit.items():
        per_case: dict[tuple[str, str], list[float]] = {}
        for title, group in problem_groups(rows).items():
            for row in group:
                if row.median_s is not None:
                    key = (title, f"{row.label} · {row.backend} · {row.dtype}")
                    per_case.setdefault(key, []).append(row.median_s)
        for key, values in per_case.items():
            times.setdefault(key, {})[commit] = statistics.median(values)
    columns = [
        Column("size and problem"),
        Column("case"),
        *(Column(c, numeric=True) for c in commits),
        Column("last / first", numeric=True, help="time at the newest commit over the oldest"),
    ]
    body = []
    for (title, name), by_commit in times.items():
        present = [by_commit[c] for c in commits if c in by_commit]
        ratio = present[-1] / present[0] if len(present) > 1 else None
        body.append(
            [
                Cell(title),
                Cell(name),
                *(Cell(seconds(by_commit.get(c)), by_commit.get(c)) for c in commits),
                Cell(number(ratio, ".2f"), ratio),
            ]
        )
    return table(columns, body, "history")


def _median_cell(record: StoredCase | None) -> Cell:
    """One run's median time of a compared case; with a bytes model, its GB/s below it."""
    if record is None:
        return Cell("-")
    if record.status != Status.OK or record.median_s is None:
        return Cell(record.status, class_=record.status)
    gbs = record.gbs
    note = f"{gbs:.3g} GB/s" if gbs is not None else ""
    return Cell(seconds(record.median_s), record.median_s, note=note)


def comparison_table(rows: Sequence[CaseComparison]) -> str:
    """Every case of two compared runs (``harness.results.compare``): its verdict, the time ratio
    new/base with its bootstrap interval and the Mann–Whitney p-value, both medians, and the
    quality metrics that changed beyond the tolerance."""
    body = [_comparison_cells(row) for row in rows]
    return table(_comparison_columns(), body, "comparison")


def _comparison_columns() -> list[Column]:
    """The columns of ``comparison_table``: the case, the verdict and its evidence."""
    return [
        Column("task"),
        Column("method"),
        Column("params", help="every parameter of the method, defaults included"),
        Column("problem"),
        Column("backend"),
        Column("dtype"),
        Column("size", numeric=True),
        Column("verdict"),
        Column(
            "new / base",
            numeric=True,
            help="ratio of median times; in brackets the bootstrap interval",
        ),
        Column("p", numeric=True, help="two-sided Mann–Whitney U test on the raw samples"),
        Column("base", numeric=True),
        Column("new", numeric=True),
        Column("metrics changed", help="beyond the tolerance; red: worse"),
    ]


def _comparison_cells(row: CaseComparison) -> list[Cell]:
    """One row of ``comparison_table``: the case, its verdict, the ratio with its interval,
    the p-value, both medians and the metrics that changed."""
    identity = row.identity
    size = 1
    for dim in identity["sizes"].values():
        size *= dim
    changes = "; ".join(
        f"{c.name}{' (higher is better)' if c.higher_is_better else ''} "
        f"{number(c.base)} → {number(c.new)}{' (worse)' if c.worse else ''}"
        for c in row.metric_changes
    )
    verdict = row.verdict + (" · less accurate" if row.accuracy_regressed else "")
    return [
        Cell(identity["task"]),
        Cell(identity["method"]),
        Cell(words(identity["params"])),
        Cell(words(identity["problem"])),
        Cell(identity["backend"]),
        Cell(identity["dtype"]),
        Cell("×".join(map(str, identity["sizes"].values())), size),
        Cell(
            verdict,
            note=row.note or "",
            class_="regressed" if row.regressed else row.verdict.replace(" ", "-"),
        ),
        Cell(
            f"{row.ratio:.3f}" if row.ratio is not None else "-",
            row.ratio,
            note=_spread(row.interval, lambda v: f"{v:.3f}"),
        ),
        Cell(number(row.p_value, ".2g"), row.p_value),
        _median_cell(row.base),
        _median_cell(row.new),
        Cell(changes, class_="regressed" if row.accuracy_regressed else None),
    ]
