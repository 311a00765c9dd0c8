"""Text into HTML: escaping and the number formats every page shares.

Every string that reaches a page goes through ``esc`` (element text and attribute values
alike: ``&``, ``<``, ``>`` and both quotes are replaced), so a method name, parameter, problem
or message from a plugin or a suite can never open a tag or end an attribute.
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any


def esc(value: Any) -> str:
    """``value`` as text, safe in element content and in a double- or single-quoted attribute."""
    return escape(str(value), quote=True)


def attrs(**values: Any) -> str:
    """`` name="value"`` pairs, escaped; ``None`` and ``False`` leave an attribute out, ``True``
    writes it bare. A trailing underscore is dropped (``class_``), other ``_`` become ``-``."""
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    return "".join(parts)


def seconds(value: float | None) -> str:
    """A duration with three significant digits in the unit that suits it: 812 µs, 1.25 s."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def number(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def count(value: float) -> str:
    """A size on an axis: 512, 16k, 4M."""
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def sort_key(value: float | None) -> str:
    """The ``data-v`` a table cell sorts by: the full-precision number, or empty (sorts last)."""
    return "" if value is None or not math.isfinite(value) else repr(float(value))


def words(mapping: dict[str, Any]) -> str:
    """``{"steps": 5, "coefficients": "muon"}`` as ``steps=5 coefficients=muon``."""
    return " ".join(f"{k}={v}" for k, v in mapping.items())


def slug(text: str) -> str:
    """A file-name-safe form of ``text`` (letters, digits, ``-``, ``_``, ``.``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "x"
