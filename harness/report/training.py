"""A training task's section of its page: validation loss against wall-clock seconds and
against steps, one line per optimizer and kernel with its seeds merged, and a table of final
losses that says which differences are larger than seed noise (docs/training.md).

A task's cases are **training runs** for the report when their convergence curves record
``val_loss`` at each evaluation, as every ``harness.Loop`` task built in does (its curve rows
are ``step, seconds, train_loss, val_loss, kernel_seconds``, and the kernel's accuracy).

**Lines.** The stored cases of one workload (size and problem, ``optimizer`` aside) that
differ only in their seed are one line: the seeds are the repetitions of a training run. A
line is named by its optimizer and kernel (``muon · newton_schulz coefficients=muon``), or by
its optimizer alone when the kernel was never called (``kernel_calls`` 0: a baseline, whose
method only labels the case), by its kernel alone when the suite left the task's default
optimizer; backend and dtype are added where they vary in the workload.
The baselines and the kernels therefore share each plot.

**Merged curve.** At each evaluation step that every seed reached, the median over the seeds
of the validation loss and of the training seconds to that step; the band is the seeds'
min–max of the loss. A seed whose run stopped (``diverged_at_step``, ``kernel_failed_at_step``)
ends the line there, and the table says so.

**Seed noise.** A line is *beyond seed noise* of the best line (the lowest median final loss)
when the ranges of their seeds' final losses do not overlap; otherwise *within seed noise*.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.report import svg
from harness.report.figure import figure
from harness.report.markup import esc, number, seconds
from harness.report.rows import ERROR_WORDS, Row
from harness.report.tables import Cell, Column, table
from harness.results.records import StoredCase

LOSS = "val_loss"
STOPS = ("diverged_at_step", "kernel_failed_at_step")
"""Metrics that say a run stopped early, and at which step."""
BAND_OPACITY_NOTE = "line: median over seeds; band: their min–max"


def is_training(rows: Sequence[Row]) -> bool:
    """Whether ``rows`` are training runs: some case's curve records ``val_loss``."""
    return any(LOSS in point for row in rows for curve in row.curves for point in curve)


@dataclass(frozen=True)
class Line:
    """One optimizer and kernel on one workload: its runs, one per seed."""

    name: str
    runs: tuple[StoredCase, ...]

    def values(self, metric: str) -> list[float]:
        found = ((r.metrics or {}).get(metric) for r in self.runs)
        return [v for v in found if v is not None]

    def median(self, metric: str) -> float | None:
        values = self.values(metric)
        return statistics.median(values) if values else None

    def span(self, metric: str) -> tuple[float, float] | None:
        values = self.values(metric)
        return (min(values), max(values)) if values else None

    def curve(self) -> list[tuple[float, float, float, float, float]]:
        """``(step, median seconds, median loss, lowest loss, highest loss)`` at each
        evaluation step every seed's curve has."""
        curves = [
            {p["step"]: p for p in r.curve or [] if p.get(LOSS) is not None} for r in self.runs
        ]
        steps = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
        merged = []
        for step in steps:
            losses = [c[step][LOSS] for c in curves]
            times = [c[step].get("seconds") or 0.0 for c in curves]
            median = statistics.median(losses)
            merged.append((step, statistics.median(times), median, min(losses), max(losses)))
        return merged


def workloads(rows: Sequence[Row]) -> dict[str, list[Line]]:
    """The lines of each workload, titled ``64×200 workload=charlm eval_every=10``, each
    workload's lines sorted by median final loss (stopped runs last)."""
    grouped: dict[str, dict[tuple[str, str, str], list[StoredCase]]] = {}
    for row in rows:
        for run in row.ok:
            problem = {k: v for k, v in run.problem.items() if k != "optimizer"}
            title = " ".join([row.size_text, *(f"{k}={v}" for k, v in problem.items())])
            key = (_base_name(row, run), run.backend, run.dtype)
            grouped.setdefault(title, {}).setdefault(key, []).append(run)
    out = {}
    for title, by_key in grouped.items():
        varying = [i for i in (1, 2) if len({key[i] for key in by_key}) > 1]
        lines = [
            Line(" · ".join([key[0], *(key[i] for i in varying)]), tuple(runs))
            for key, runs in by_key.items()
        ]
        out[title] = sorted(lines, key=_rank)
    return out


def _base_name(row: Row, run: StoredCase) -> str:
    optimizer = str(run.problem.get("optimizer", ""))
    if not (run.metrics or {}).get("kernel_calls"):
        return optimizer or row.label
    return " · ".join(filter(None, [optimizer, row.label]))


def _rank(line: Line) -> tuple[float, str]:
    loss = line.median(LOSS)
    return (loss if loss is not None else float("inf"), line.name)


def section(rows: Sequence[Row]) -> str:
    """The section's HTML: per workload, the loss plots and the final-loss table."""
    parts = [
        f'<p class="note">Each case is one training run; its seed is the repetition. '
        f"Per workload: validation loss against training seconds and against steps ("
        f"{BAND_OPACITY_NOTE}), then the final losses, best first.</p>"
    ]
    for title, lines in workloads(rows).items():
        styles = {line.name: _style(i) for i, line in enumerate(lines)}
        figures = "".join(_loss_plot(lines, styles, title, along) for along in ("seconds", "step"))
        parts.append(
            f'<h3>{esc(title)}</h3><div class="charts">{figures}</div>{final_loss_table(lines)}'
        )
    return "".join(parts)


def _style(index: int) -> svg.Style:
    palette, dashes = svg.PALETTE, svg.DASHES
    return svg.Style(palette[index % len(palette)], dash=dashes[index // len(palette) % 4])


def _loss_plot(lines: Sequence[Line], styles: dict[str, svg.Style], title: str, along: str) -> str:
    """Validation loss of each line against ``along`` (``seconds`` or ``step``), the band
    its seeds' min–max."""
    series = []
    for line in lines:
        curve = line.curve()
        if not curve:
            continue
        x_of = (lambda p: p[1]) if along == "seconds" else (lambda p: p[0])
        points = [
            svg.Point(
                x_of(p),
                p[2],
                f"step {p[0]:g}, {seconds(p[1])}: {p[2]:.4g} [{p[3]:.4g} – {p[4]:.4g}]",
            )
            for p in curve
        ]
        band = tuple((x_of(p), p[4]) for p in curve) + tuple((x_of(p), p[3]) for p in curve[::-1])
        series.append(
            svg.Series(
                line.name,
                styles[line.name],
                points,
                line="straight",
                markers=len(points) <= 40,
                areas=[band] if len(line.runs) > 1 else [],
            )
        )
    values = [p for s in series for p in s.points]
    if not values:
        return ""
    x = svg.Axis.fit(
        "training seconds" if along == "seconds" else "step",
        [p.x for p in values],
        log=False,
        format=seconds if along == "seconds" else number,
    )
    bands = [b for s in series for area in s.areas for _, b in area]
    y = svg.Axis.fit("validation loss", [p.y for p in values] + bands)
    return figure(
        series,
        x,
        y,
        f"validation loss against {along}, {title}",
        f"{title}: validation loss against {along} ({BAND_OPACITY_NOTE}).",
        svg.legend([(s.name, s.style) for s in series], lines=True),
    )


def _accuracy_metric(lines: Sequence[Line]) -> str | None:
    """The kernel's accuracy on what it saw (``orthogonality_error``, ``root_residual``)."""
    names = dict.fromkeys(m for line in lines for r in line.runs for m in r.metrics or {})
    return next(
        (n for n in names if any(w in n for w in ERROR_WORDS) and not n.endswith("_max")), None
    )


def _median_cell(line: Line, metric: str, show: Callable[[float | None], str] = number) -> Cell:
    """The median over seeds with ``[min – max]``, and how many seeds have the metric."""
    median, span = line.median(metric), line.span(metric)
    if median is None or span is None:
        return Cell("-")
    count = len(line.values(metric))
    note = f"[{show(span[0])} – {show(span[1])}]" if count > 1 else ""
    if count < len(line.runs):
        note += f" {count} of {len(line.runs)} seeds"
    return Cell(show(median), median, note.strip())


def _noise_cell(line: Line, best: Line) -> Cell:
    span, best_span = line.span(LOSS), best.span(LOSS)
    if span is None or best_span is None:
        return Cell("-")
    if line is best:
        return Cell("best")
    if len(line.runs) < 2 or len(best.runs) < 2:
        return Cell("one seed: cannot say", title="run three or more seeds to see seed noise")
    beyond = span[0] > best_span[1]
    return Cell(
        "beyond seed noise" if beyond else "within seed noise",
        title="the seeds' final losses do not overlap with the best line's"
        if beyond
        else "the seeds' final losses overlap with the best line's",
    )


def _loss_cell(line: Line) -> Cell:
    cell = _median_cell(line, LOSS)
    stops = Counter(
        f"{name.split('_at_')[0].replace('_', ' ')} at step {value:g}"
        for name in STOPS
        for value in line.values(name)
    )
    stopped = [f"{stop} ({n} seeds)" if n > 1 else stop for stop, n in stops.items()]
    if not stopped:
        return cell
    return Cell(cell.text, cell.value, "; ".join(filter(None, [cell.note, *stopped])))


def final_loss_table(lines: Sequence[Line]) -> str:
    """Per line: seeds, final validation loss (median [min – max]), whether it is beyond
    seed noise of the best, steps and seconds to the target loss, time per step, the
    kernel's share of it and its accuracy."""
    if not lines:
        return ""
    ranked = [line for line in lines if line.median(LOSS) is not None]
    best = ranked[0] if ranked else lines[0]
    accuracy = _accuracy_metric(lines)
    columns = [
        Column("optimizer · kernel"),
        Column("seeds", numeric=True),
        Column("val loss", numeric=True, help="at the last step: median over seeds [min – max]"),
        Column("against the best", help="whether the seeds' ranges of final loss overlap"),
        Column("steps to target", numeric=True, help="first evaluation at the target loss"),
        Column("s to target", numeric=True, help="training seconds to the target loss"),
        Column("per step", numeric=True, help="training seconds per step, median over seeds"),
        Column("kernel share", numeric=True, help="share of the step inside the method"),
    ]
    if accuracy:
        columns.append(Column(accuracy.replace("_", " "), numeric=True, help="kernel accuracy"))
    body = []
    for line in lines:
        cells = [
            Cell(line.name),
            Cell(str(len(line.runs)), len(line.runs)),
            _loss_cell(line),
            _noise_cell(line, best),
            _median_cell(line, "steps_to_target"),
            _median_cell(line, "seconds_to_target", seconds),
            _median_cell(line, "step_seconds", seconds),
            _median_cell(line, "kernel_share"),
        ]
        if accuracy:
            cells.append(_median_cell(line, accuracy))
        body.append(cells)
    return table(
        columns,
        body,
        "training",
        "Final losses, best first. A '-' under the target: no seed reached it.",
    )
