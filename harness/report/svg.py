"""Plots as inline SVG, drawn in Python: axes (log, linear or categorical), series of
markers with interval bars, lines through them, and an HTML legend.

Every mark is a ``<path class="mark">`` with a ``<title>`` saying what the point is (the
browser's own tooltip); its series' name is said once, on the ``<g class="series">`` around
it (``data-name``), and the report's script shows both in its tooltip. Every string is
escaped. Coordinates are rounded
to a tenth of a pixel, which keeps a plot of a few dozen marks to a few kilobytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

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
WIDTH, HEIGHT = 600, 340
MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM = 12, 18, 46


@dataclass(frozen=True)
class Style:
    """How one series looks: colour, marker shape, filled or hollow marker."""

    color: str
    marker: str = "circle"
    filled: bool = True


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    tip: str
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    highlight: bool = False
    """Drawn larger, with a black ring (a point on the Pareto front)."""


@dataclass
class Series:
    name: str
    style: Style
    points: list[Point] = field(default_factory=list)
    line: Literal["none", "straight", "step"] = "none"
    """Join the points in order; ``step`` goes across, then down (a Pareto front)."""
    markers: bool = True
    dashed: bool = False


def _nice_step(span: float, count: int = 5) -> float:
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


@dataclass(frozen=True)
class Axis:
    """One axis: a label, a scale and its range (categories sit at 0, 1, 2, ...)."""

    label: str
    scale: Literal["log", "linear", "category"]
    low: float
    high: float
    categories: tuple[str, ...] = ()
    format: Callable[[float], str] = number

    @classmethod
    def fit(
        cls,
        label: str,
        values: Sequence[float],
        log: bool = True,
        format: Callable[[float], str] = number,
    ) -> Axis:
        """An axis spanning ``values`` with a margin; log scale when asked and no value is
        negative (a zero, such as an exact method's error, sits on the axis's low end), else
        linear."""
        finite = [v for v in values if math.isfinite(v)]
        positive = [v for v in finite if v > 0]
        log = log and bool(positive) and all(v >= 0 for v in finite)
        if not finite:
            return cls(label, "log" if log else "linear", 1.0, 10.0, format=format)
        low, high = (min(positive), max(positive)) if log else (min(finite), max(finite))
        if log:
            a, b = math.log10(low), math.log10(high)
            pad = max((b - a) * 0.06, 0.15)
            return cls(label, "log", 10 ** (a - pad), 10 ** (b + pad), format=format)
        pad = (high - low) * 0.06 or abs(high) * 0.1 or 1.0
        return cls(label, "linear", low - pad, high + pad, format=format)

    @classmethod
    def categorical(cls, label: str, names: Sequence[str]) -> Axis:
        return cls(label, "category", -0.5, len(names) - 0.5, tuple(names))

    def fraction(self, value: float) -> float:
        """Where ``value`` falls between the axis's ends, 0 to 1."""
        if self.scale == "log":
            value = max(value, self.low)
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
    return attrs(fill=style.color if style.filled else "#fff", stroke=style.color)


def plot(series: Sequence[Series], x: Axis, y: Axis, title: str) -> str:
    """An SVG plot of ``series`` on the axes ``x`` and ``y``; ``title`` labels it for screen
    readers."""
    label_width = max((len(c) for c in y.categories), default=0) * 6.2
    left = max(64.0, min(label_width + 14, 240.0))
    inner_w, inner_h = WIDTH - left - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def px(v: float) -> float:  # inside the frame: an interval bar may reach beyond the axis
        return left + min(max(x.fraction(v), 0.0), 1.0) * inner_w

    def py(v: float) -> float:
        return MARGIN_TOP + (1 - min(max(y.fraction(v), 0.0), 1.0)) * inner_h

    bottom, right = MARGIN_TOP + inner_h, left + inner_w
    out = [
        f'<svg class="plot"{attrs(viewBox=f"0 0 {WIDTH} {HEIGHT}", role="img", aria_label=title)}>',
        f'<rect class="frame" x="{left:.1f}" y="{MARGIN_TOP}" width="{inner_w:.1f}" '
        f'height="{inner_h:.1f}"/>',
    ]
    for value, text in x.ticks():
        at = px(value)
        out.append(
            f'<path class="grid" d="M{at:.1f} {MARGIN_TOP}V{bottom:.1f}"/>'
            f'<text class="tick" x="{at:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">'
            f"{esc(text)}</text>"
        )
    for value, text in y.ticks():
        at = py(value)
        out.append(
            f'<path class="grid" d="M{left:.1f} {at:.1f}H{right:.1f}"/>'
            f'<text class="tick" x="{left - 5:.1f}" y="{at + 4:.1f}" text-anchor="end">'
            f"{esc(text)}</text>"
        )
    out.append(
        f'<text class="axis-label" x="{left + inner_w / 2:.1f}" y="{HEIGHT - 8}" '
        f'text-anchor="middle">{esc(x.label)}</text>'
    )
    if y.scale != "category":
        out.append(
            f'<text class="axis-label" transform="translate(13 {MARGIN_TOP + inner_h / 2:.1f}) '
            f'rotate(-90)" text-anchor="middle">{esc(y.label)}</text>'
        )
    for s in series:
        out.append(f'<g class="series"{attrs(data_name=s.name)}{_paint(s.style)}>')
        coords = [(px(p.x), py(p.y)) for p in s.points]
        if s.line != "none" and len(coords) > 1:
            steps = "".join(
                f"H{cx:.1f}V{cy:.1f}" if s.line == "step" else f"L{cx:.1f} {cy:.1f}"
                for cx, cy in coords[1:]
            )
            out.append(
                f'<path class="line"{attrs(stroke_dasharray="5 3" if s.dashed else None)} '
                f'd="M{coords[0][0]:.1f} {coords[0][1]:.1f}{steps}"/>'
            )
        if s.markers:
            for p, (cx, cy) in zip(s.points, coords, strict=True):
                out.append(_mark(p, cx, cy, s.style.marker, px, py))
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _mark(
    p: Point,
    cx: float,
    cy: float,
    marker: str,
    px: Callable[[float], float],
    py: Callable[[float], float],
) -> str:
    """One point: its interval bars, then its marker with its ``<title>``."""
    bars = ""
    if p.x_range:
        bars += f"M{px(p.x_range[0]):.1f} {cy:.1f}H{px(p.x_range[1]):.1f}"
    if p.y_range:
        bars += f"M{cx:.1f} {py(p.y_range[0]):.1f}V{py(p.y_range[1]):.1f}"
    bar = f'<path class="bar" d="{bars}"/>' if bars else ""
    tag, geometry = _shape(marker, cx, cy, 5.5 if p.highlight else 4)
    ring = " highlight" if p.highlight else ""
    return f'{bar}<{tag} class="mark{ring}"{geometry}><title>{esc(p.tip)}</title></{tag}>'


def legend(entries: Sequence[tuple[str, Style]], lines: bool = False) -> str:
    """An HTML list of ``(name, style)`` swatches, one per distinct name."""
    items = []
    for name, style in dict(entries).items():
        line = f'<path d="M0 7H16"{attrs(stroke=style.color)}/>' if lines else ""
        tag, geometry = _shape(style.marker, 8, 7, 4)
        swatch = f"{line}<{tag}{_paint(style)}{geometry}/>"
        items.append(
            f'<li><svg class="swatch" viewBox="0 0 16 14" width="16" height="14">{swatch}</svg>'
            f"{esc(name)}</li>"
        )
    return f'<ul class="legend">{"".join(items)}</ul>'


def figure(svg: str, caption: str, legend_html: str = "", **attributes: object) -> str:
    """A plot with its caption (and a legend of its own, where the page's does not do), as
    one ``<figure>``."""
    return (
        f'<figure class="chart"{attrs(**attributes)}>{svg}{legend_html}'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )
