"""Plots as inline SVG, drawn in Python: axes (log, linear or categorical), series of
markers with interval bars, lines through them, filled areas (a violin, a box), and an HTML
legend.

Every mark is a ``<path class="mark">`` (or ``<circle>``) with a ``<title>`` saying what the
point is (the browser's own tooltip); its series' name is said once, on the ``<g
class="series">`` around it (``data-name``), and the report's script shows both in its
tooltip. Every string is escaped. A plot's ``viewBox`` is its drawing size and its width
is 100% of what the page gives it. Coordinates are rounded to a tenth of a pixel, which
keeps a plot of a few dozen marks to a few kilobytes.

A log axis draws the values that are zero or nearly so (an exact method's error, or
``-2e-16`` from rounding) at a floor a decade below the smallest positive value
(``analysis.log_floor``), marks the floor with a dotted line, and the figure says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from harness.report.analysis import log_floor
from harness.report.markup import attrs, esc, number

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
MARKERS = ("circle", "square", "triangle", "diamond", "down", "plus")
Fill = Literal["solid", "hollow", "dot", "light"]
FILLS: tuple[Fill, ...] = ("solid", "hollow", "dot", "light")
"""How a marker is filled: with its colour, white, white with a dot of its colour in the
middle, a light tint of its colour."""
DASHES = (None, "6 3", "1.5 2.5", "7 2.5 1.5 2.5")
"""A line's dash pattern: solid, dashed, dotted, dash-dot."""
WIDTH, HEIGHT = 640, 340
MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM = 12, 18, 46
CHAR_WIDTH, LABELS_WIDTH = 6.2, 300.0
"""A tick label's character width, and the most a category axis's labels take: a longer
label is shortened in the middle, whole on hover."""


@dataclass(frozen=True)
class Style:
    """How one series looks: colour, marker shape, marker fill and line dash."""

    color: str
    marker: str = "circle"
    fill: Fill = "solid"
    dash: str | None = None


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    tip: str
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    highlight: bool = False
    """Drawn larger (a point on the Pareto front), in its series' colours."""


Polygon = tuple[tuple[float, float], ...]


@dataclass
class Series:
    name: str
    style: Style
    points: list[Point] = field(default_factory=list)
    line: Literal["none", "straight", "step"] = "none"
    """Join the points in order; ``step`` goes across, then down (a Pareto front)."""
    markers: bool = True
    dashed: bool = False
    """A dashed line whatever the style's dash (a fitted line, a reference)."""
    areas: list[Polygon] = field(default_factory=list)
    """Closed shapes in data coordinates, tinted with the series' colour, under its marks."""
    role: str = "series"
    """The line's class beside ``line``: ``front`` for a Pareto front, ``fit`` for a fit."""


def _nice_step(span: float, count: int = 5) -> float:
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


@dataclass(frozen=True)
class Axis:
    """One axis: a label, a scale and its range (categories sit at 0, 1, 2, ...).

    ``floor``: on a log axis, where the values at or below it are drawn. ``data`` and
    ``log_asked`` keep what the axis was fitted to, so ``linear()`` can refit it."""

    label: str
    scale: Literal["log", "linear", "category"]
    low: float
    high: float
    categories: tuple[str, ...] = ()
    format: Callable[[float], str] = number
    floor: float | None = None
    data: tuple[float, ...] = field(default=(), compare=False, repr=False)
    log_asked: bool = False

    @classmethod
    def fit(
        cls,
        label: str,
        values: Sequence[float],
        log: bool = True,
        format: Callable[[float], str] = number,
    ) -> Axis:
        """An axis spanning ``values`` with a margin; log scale when asked and the values
        allow it (positive, or zero and negative ones no larger than rounding: those are drawn
        at ``analysis.log_floor``), else linear."""
        finite = tuple(v for v in values if math.isfinite(v))
        positive = [v for v in finite if v > 0]
        floor = log_floor(finite) if log else None
        use_log = log and bool(positive) and (floor is not None or len(positive) == len(finite))
        if not finite:
            low, high = 1.0, 10.0
        elif use_log:
            a, b = math.log10(floor or min(positive)), math.log10(max(positive))
            pad = max((b - a) * 0.06, 0.15)
            low, high = 10 ** (a - pad), 10 ** (b + pad)
        else:
            low, high = min(finite), max(finite)
            pad = (high - low) * 0.06 or abs(high) * 0.1 or 1.0
            low, high = low - pad, high + pad
        scale: Literal["log", "linear"] = "log" if use_log else "linear"
        return cls(label, scale, low, high, format=format, floor=floor, data=finite, log_asked=log)

    @classmethod
    def categorical(cls, label: str, names: Sequence[str]) -> Axis:
        return cls(label, "category", -0.5, len(names) - 0.5, tuple(names))

    def linear(self) -> Axis:
        """The same axis on a linear scale (a categorical or linear one unchanged)."""
        if self.scale != "log":
            return self
        return replace(
            Axis.fit(self.label, self.data, log=False, format=self.format), log_asked=True
        )

    def fraction(self, value: float) -> float:
        """Where ``value`` falls between the axis's ends, 0 to 1."""
        if self.scale == "log":
            value = max(value, self.floor or self.low)
            return (math.log10(value) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low)
            )
        return (value - self.low) / (self.high - self.low)

    def ticks(self) -> list[tuple[float, str]]:
        if self.scale == "category":
            return list(enumerate(self.categories))
        values: list[float] = []
        if self.scale == "log":
            low, high = math.floor(math.log10(self.low)), math.ceil(math.log10(self.high))
            for multiples in ((1,), (1, 2, 5)):
                values = sorted(
                    m * 10.0**k
                    for k in range(low, high + 1)
                    for m in multiples
                    if self.low <= m * 10.0**k <= self.high
                )
                if len(values) >= 2:
                    break
        if len(values) < 2:  # linear, or a log axis spanning less than a factor of 2
            step = _nice_step(self.high - self.low)
            first = math.ceil(self.low / step)
            values = [k * step for k in range(first, math.floor(self.high / step) + 1)]
        stride = math.ceil(len(values) / 8)
        return [(v, self.format(v)) for v in values[::stride]]


def _shape(shape: str, x: float, y: float, r: float) -> tuple[str, str]:
    """A marker centred on (x, y) of radius about ``r``: its SVG tag and attributes."""
    if shape == "circle":
        return "circle", f' cx="{x:.1f}" cy="{y:.1f}" r="{r:g}"'

    def p(*coords: float) -> str:
        return " ".join(f"{c:.1f}" for c in coords)

    if shape == "square":
        d = f"M{p(x - r, y - r)}h{2 * r:g}v{2 * r:g}h{-2 * r:g}z"
    elif shape == "triangle":
        d = f"M{p(x, y - 1.2 * r)}L{p(x + 1.1 * r, y + 0.8 * r)}L{p(x - 1.1 * r, y + 0.8 * r)}z"
    elif shape == "down":
        d = f"M{p(x, y + 1.2 * r)}L{p(x + 1.1 * r, y - 0.8 * r)}L{p(x - 1.1 * r, y - 0.8 * r)}z"
    elif shape == "diamond":
        s = 1.3 * r
        d = f"M{p(x, y - s)}L{p(x + s, y)}L{p(x, y + s)}L{p(x - s, y)}z"
    else:  # plus
        a, b = r * 1.2, r * 0.4
        d = (
            f"M{p(x - b, y - a)}H{x + b:.1f}V{y - b:.1f}H{x + a:.1f}V{y + b:.1f}H{x + b:.1f}"
            f"V{y + a:.1f}H{x - b:.1f}V{y + b:.1f}H{x - a:.1f}V{y - b:.1f}H{x - b:.1f}z"
        )
    return "path", f' d="{d}"'


def _paint(style: Style) -> str:
    """The fill and stroke a series' ``<g>`` passes on to its marks."""
    solid = style.fill in ("solid", "light")
    return attrs(
        fill=style.color if solid else "#fff",
        fill_opacity=".35" if style.fill == "light" else None,
        stroke=style.color,
    )


def _marker(
    style: Style, x: float, y: float, r: float, inner: str = "", class_: str | None = None
) -> str:
    """A marker of ``style`` with ``inner`` (its ``<title>``), and the dot a ``dot`` fill
    puts in its middle."""
    tag, geometry = _shape(style.marker, x, y, r)
    dot = (
        f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="{r * 0.4:.2g}"'
        f'{attrs(fill=style.color)} stroke="none"/>'
        if style.fill == "dot"
        else ""
    )
    return f"<{tag}{attrs(class_=class_)}{geometry}>{inner}</{tag}>{dot}"


@dataclass(frozen=True)
class _Frame:
    """Where a plot's data go: the axes and the inner rectangle in drawing units."""

    x: Axis
    y: Axis
    left: float
    width: float
    height: float
    tips: bool = True
    """Marks with their ``<title>``."""

    @property
    def bottom(self) -> float:
        return MARGIN_TOP + self.height

    def px(self, v: float) -> float:  # inside the frame: a bar may reach beyond the axis
        return self.left + min(max(self.x.fraction(v), 0.0), 1.0) * self.width

    def py(self, v: float) -> float:
        return MARGIN_TOP + (1 - min(max(self.y.fraction(v), 0.0), 1.0)) * self.height


def plot(
    series: Sequence[Series],
    x: Axis,
    y: Axis,
    title: str,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    tips: bool = True,
) -> str:
    """An SVG plot of ``series`` on the axes ``x`` and ``y``, drawn ``size`` units wide and
    high and as wide as the page lets it be; ``title`` labels it for screen readers.
    ``tips=False`` leaves out the marks' ``<title>``s (a second drawing of the same marks,
    whose tips the page's script copies from the first)."""
    width, height = size
    label_width = max((len(c) for c in y.categories), default=0) * CHAR_WIDTH
    left = max(64.0, min(label_width + 14, LABELS_WIDTH))
    frame = _Frame(
        x, y, left, width - left - MARGIN_RIGHT, height - MARGIN_TOP - MARGIN_BOTTOM, tips
    )
    out = [
        f'<svg class="plot"'
        f"{attrs(viewBox=f'0 0 {width} {height}', width='100%', role='img', aria_label=title)}>",
        f'<rect class="frame" x="{left:.1f}" y="{MARGIN_TOP}" width="{frame.width:.1f}" '
        f'height="{frame.height:.1f}"/>',
        *_axes(frame, height),
    ]
    for s in series:
        out.append(_series(s, frame))
    out.append("</svg>")
    return "".join(out)


def _shorten(text: str, most: int) -> str:
    """``text`` in at most ``most`` characters: its start and (twice as long) its end around
    an ellipsis (the end of ``method · backend · dtype`` tells series apart)."""
    if len(text) <= most:
        return text
    tail = most * 2 // 3
    return f"{text[: most - tail - 1]}…{text[-tail:]}"


def _axes(frame: _Frame, height: float) -> list[str]:
    """Grid lines, tick labels, axis labels and the floors of log axes."""
    x, y, left, bottom = frame.x, frame.y, frame.left, frame.bottom
    right = left + frame.width
    out = []
    for value, text in x.ticks():
        at = frame.px(value)
        out.append(
            f'<path class="grid" d="M{at:.1f} {MARGIN_TOP}V{bottom:.1f}"/>'
            f'<text class="tick" x="{at:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">'
            f"{esc(text)}</text>"
        )
    for value, text in y.ticks():
        at = frame.py(value)
        shown = _shorten(text, int((left - 10) / CHAR_WIDTH))
        whole = f"<title>{esc(text)}</title>" if shown != text else ""
        out.append(
            f'<path class="grid" d="M{left:.1f} {at:.1f}H{right:.1f}"/>'
            f'<text class="tick" x="{left - 5:.1f}" y="{at + 4:.1f}" text-anchor="end">'
            f"{whole}{esc(shown)}</text>"
        )
    if x.floor is not None:
        at = frame.px(x.floor)
        out.append(f'<path class="floor" d="M{at:.1f} {MARGIN_TOP}V{bottom:.1f}"/>')
    if y.floor is not None:
        at = frame.py(y.floor)
        out.append(
            f'<path class="floor" d="M{left:.1f} {at:.1f}H{right:.1f}"/>'
            f'<text class="tick" x="{right - 3:.1f}" y="{at - 3:.1f}" text-anchor="end">'
            f"≤ {esc(y.format(y.floor))} drawn here</text>"
        )
    out.append(
        f'<text class="axis-label" x="{left + frame.width / 2:.1f}" y="{height - 8}" '
        f'text-anchor="middle">{esc(x.label)}</text>'
    )
    if y.scale != "category":
        out.append(
            f'<text class="axis-label" transform="translate(13 '
            f'{MARGIN_TOP + frame.height / 2:.1f}) rotate(-90)" text-anchor="middle">'
            f"{esc(y.label)}</text>"
        )
    return out


def _series(s: Series, frame: _Frame) -> str:
    """One series' ``<g>``: its areas, its line, then its marks."""
    out = [f'<g class="series"{attrs(data_name=s.name)}{_paint(s.style)}>']
    for polygon in s.areas:
        corners = "L".join(f"{frame.px(a):.1f} {frame.py(b):.1f}" for a, b in polygon)
        out.append(f'<path class="area" d="M{corners}z"/>')
    coords = [(frame.px(p.x), frame.py(p.y)) for p in s.points]
    if s.line != "none" and len(coords) > 1:
        steps = "".join(
            f"H{cx:.1f}V{cy:.1f}" if s.line == "step" else f"L{cx:.1f} {cy:.1f}"
            for cx, cy in coords[1:]
        )
        dash = "5 3" if s.dashed else s.style.dash
        out.append(
            f"<path{attrs(class_=f'line {s.role}', stroke_dasharray=dash)} "
            f'd="M{coords[0][0]:.1f} {coords[0][1]:.1f}{steps}"/>'
        )
    if s.markers:
        for p, (cx, cy) in zip(s.points, coords, strict=True):
            out.append(_mark(p, cx, cy, s.style, frame))
    out.append("</g>")
    return "".join(out)


def _mark(p: Point, cx: float, cy: float, style: Style, frame: _Frame) -> str:
    """One point: its interval bars, then its marker with its ``<title>``."""
    bars = ""
    if p.x_range:
        bars += f"M{frame.px(p.x_range[0]):.1f} {cy:.1f}H{frame.px(p.x_range[1]):.1f}"
    if p.y_range:
        bars += f"M{cx:.1f} {frame.py(p.y_range[0]):.1f}V{frame.py(p.y_range[1]):.1f}"
    bar = f'<path class="bar" d="{bars}"/>' if bars else ""
    r, kind = (5.5, "mark highlight") if p.highlight else (4, "mark")
    tip = f"<title>{esc(p.tip)}</title>" if frame.tips else ""
    return bar + _marker(style, cx, cy, r, tip, kind)


def legend(entries: Sequence[tuple[str, Style]], lines: bool = False, title: str = "") -> str:
    """An HTML list of ``(name, style)`` swatches, one per distinct name; ``lines`` draws
    each style's line (its dash) through its marker; ``title`` heads the list."""
    items = [f'<li class="legend-title">{esc(title)}</li>'] if title else []
    for name, style in dict(entries).items():
        line = (
            f'<path d="M0 7H22"{attrs(stroke=style.color, stroke_dasharray=style.dash)}/>'
            if lines
            else ""
        )
        swatch = f"<g{_paint(style)}>{line}{_marker(style, 11, 7, 4)}</g>"
        items.append(
            f'<li><svg class="swatch" viewBox="0 0 22 14" width="22" height="14">{swatch}</svg>'
            f"{esc(name)}</li>"
        )
    return f'<ul class="legend">{"".join(items)}</ul>'
