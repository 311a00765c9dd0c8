"""A figure as a page places it: the plot on log axes and on linear ones with a button
between them, the plot's data as a CSV download, a legend and a caption.

Everything is in the figure's HTML, so a page only places figures and a report stays one
self-contained file per page that works offline: the linear plot is drawn in Python beside
the log one (``hidden`` until the button shows it; ``static/report.js``, which also gives its
marks the log plot's tips), and the data are
a ``data:text/csv`` URL on a link with a ``download`` name. The caption says where a log
axis drew values at its floor (``svg.Axis``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.report import svg
from harness.report.markup import attrs, esc, slug

DIGITS = 10
"""Significant digits of a number in a figure's CSV: beyond a timer's resolution and any
metric's meaning, without the float's last-bit noise (4.7741500000000004e-05)."""
SMALL = (420, 260)
"""The drawing size of a small figure (the overview's)."""


@dataclass(frozen=True)
class Table:
    """A figure's data: a header and rows, one row per point (or raw sample)."""

    header: tuple[str, ...]
    rows: list[tuple[object, ...]] = field(default_factory=list)


def csv_text(table: Table) -> str:
    """``table`` as CSV (quoted where needed; LF line ends, which a browser keeps as they
    are when it saves a data URL); floats to ``DIGITS`` significant digits, a missing value
    empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(
            "" if v is None else f"{v:.{DIGITS}g}" if isinstance(v, float) else v for v in row
        )
    return out.getvalue()


URL_ESCAPES = str.maketrans({"%": "%25", "#": "%23", "\n": "%0A", "\r": "%0D", "\t": "%09"})
"""The characters a URL's parser would read as an escape or a fragment, or drop."""


def data_url(text: str) -> str:
    """A ``data:`` URL of CSV ``text``, percent-encoding only ``URL_ESCAPES``: the browser
    percent-encodes the rest (spaces, non-ASCII as UTF-8) as it parses the URL, so the page
    holds the text nearly as it is."""
    return "data:text/csv;charset=utf-8," + text.translate(URL_ESCAPES)


def series_table(series: Sequence[svg.Series], x: svg.Axis, y: svg.Axis) -> Table:
    """The marks of ``series`` as a table: series, x, y, and the ends of their bars (a
    category axis gives the category's name)."""

    def value(axis: svg.Axis, v: float) -> object:
        return axis.categories[round(v)] if axis.scale == "category" else v

    marked = [s for s in series if s.markers]
    points = [p for s in marked for p in s.points]
    header = ["series", x.label, y.label]
    x_bars, y_bars = any(p.x_range for p in points), any(p.y_range for p in points)
    header += [f"{x.label} low", f"{x.label} high"] * x_bars
    header += [f"{y.label} low", f"{y.label} high"] * y_bars
    rows = []
    for s in marked:
        for p in s.points:
            row: list[object] = [s.name, value(x, p.x), value(y, p.y)]
            row += list(p.x_range or (None, None)) * x_bars
            row += list(p.y_range or (None, None)) * y_bars
            rows.append(tuple(row))
    return Table(tuple(header), rows)


def _floor_note(axes: Sequence[svg.Axis]) -> str:
    notes = []
    for axis in axes:
        if axis.floor is not None:
            lowest = min(axis.data)
            notes.append(
                f" On the log axes, {axis.label} values at or below {axis.format(axis.floor)} "
                f"(down to {axis.format(lowest)}) are drawn at {axis.format(axis.floor)}, "
                "the dotted line."
            )
    return "".join(notes)


def figure(
    series: Sequence[svg.Series],
    x: svg.Axis,
    y: svg.Axis,
    title: str,
    caption: str,
    legend_html: str = "",
    table: Table | None = None,
    size: tuple[int, int] = (svg.WIDTH, svg.HEIGHT),
    **attributes: object,
) -> str:
    """A ``<figure>``: the plot of ``series`` on ``x`` and ``y`` (labelled ``title``),
    with a log/linear button where an axis is log, a link downloading ``table`` (by
    default ``series_table``) as CSV, ``legend_html`` and ``caption``; drawn ``size`` units
    (``SMALL``: a small figure)."""
    log = svg.plot(series, x, y, title, size)
    linear_x, linear_y = x.linear(), y.linear()
    toggles = (linear_x, linear_y) != (x, y)
    variants = f'<div class="variant"{attrs(data_scale="log" if toggles else None)}>{log}</div>'
    if toggles:
        linear = svg.plot(series, linear_x, linear_y, f"{title} (linear axes)", size, tips=False)
        variants += f'<div class="variant" data-scale="linear" hidden>{linear}</div>'
    data = csv_text(table or series_table(series, x, y))
    button = (
        '<button type="button" class="scale-toggle" aria-pressed="false" hidden>linear axes'
        "</button>"
    )
    link = f'<a class="csv"{attrs(href=data_url(data), download=slug(title) + ".csv")}>'
    tools = (button if toggles else "") + link + "data (CSV)</a>"
    kind = "chart small" if size == SMALL else "chart"
    return (
        f'<figure{attrs(class_=kind, **attributes)}><div class="chart-tools">{tools}</div>'
        f"{variants}{legend_html}"
        f"<figcaption>{esc(caption + _floor_note([x, y]))}</figcaption></figure>"
    )
