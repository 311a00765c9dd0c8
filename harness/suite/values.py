"""Values a suite may not hold: numbers that are not finite, and text that acts on a terminal.

- **Numbers.** NaN and ±infinity (YAML ``.nan``, ``.inf``, ``-.inf``, or a float too large
  to hold, ``1.0e400``) are refused wherever a number is given: a timing option, or a task's
  or method's parameter, alone or inside a tuple. A parameter takes them when its default is
  one (``tol: float = math.inf``): that is how a plugin declares it.
- **Text.** Control characters (C0 and C1, DEL: ESC starts the ANSI escape sequences a
  terminal obeys) and Unicode bidirectional controls (U+061C, U+200E, U+200F,
  U+202A-U+202E, U+2066-U+2069: they reorder what a terminal shows) and lone surrogates
  (``"\ud800"``: no text encoding can hold them) are refused in every key and string of a
  suite file; a description may hold tabs and line breaks.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from harness.model.params import Param

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SURROGATE = re.compile("[\ud800-\udfff]")
"""Halves of a UTF-16 pair, alone: no text can hold them (a database refuses to store one)."""
UNSAFE = re.compile(f"{CONTROL.pattern}|{BIDI.pattern}|{SURROGATE.pattern}")
MULTILINE = "\t\n"
"""The control characters a multi-line text (a description) may hold."""


def character(char: str) -> str:
    """``a control character U+001B``, ``a bidirectional control U+202E (RIGHT-TO-LEFT
    OVERRIDE)`` or ``the character U+FFFE``: what ``char`` is, in words."""
    code = f"U+{ord(char):04X}"
    if CONTROL.fullmatch(char):
        return f"a control character {code}"
    if BIDI.fullmatch(char):
        return f"a bidirectional control {code} ({unicodedata.name(char)})"
    if SURROGATE.fullmatch(char):
        return f"a lone surrogate {code}"
    return f"the character {code}"


def unsafe_text(text: str, allowed: str = "") -> str | None:
    """``contains a control character U+001B`` for the first character of ``text`` that a
    terminal would act on (see the module docstring), except those in ``allowed``; or None."""
    for match in UNSAFE.finditer(text):
        if match.group() not in allowed:
            return f"contains {character(match.group())}"
    return None


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(map(_finite, value))
    return True


def takes_nonfinite(param: Param) -> bool:
    """Whether ``param`` takes NaN and ±infinity: its default is (or holds) one."""
    return not _finite(param.default)


def nonfinite(value: Any, param: Param) -> str | None:
    """``must be a finite number, got nan`` when ``value`` (given for ``param``) is or holds
    NaN or ±infinity and ``param`` does not take them; else None."""
    if _finite(value) or takes_nonfinite(param):
        return None
    kind = "hold finite numbers" if isinstance(value, list | tuple) else "be a finite number"
    return f"must {kind}, got {value!r} (NaN and infinity are refused)"
