"""The "did you mean" hint for a name nobody knows: the known names closest to it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_names(name: object, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` names of ``known`` close to ``name``, closest first (difflib's ratio)."""
    return difflib.get_close_matches(str(name), list(known), n=n)


def did_you_mean(name: object, known: Iterable[str], n: int = 3) -> str:
    """``; did you mean 'a' or 'b'?`` with the (up to ``n``) names of ``known`` closest to
    ``name``, or ``''`` when none is close: the tail of an "unknown name" message."""
    close = close_names(name, known, n)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
