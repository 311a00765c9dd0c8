"""Typed parameters, read from a function's keyword-only arguments.

A method or task declares its parameters the way a Python function does: keyword-only
arguments with a type annotation and a default. ``Literal[...]`` annotations become choices.
The suite loader coerces the values a YAML file gives into these types, and reports a value
that does not fit with the parameter's name, type and choices.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_SCALARS: tuple[type, ...] = (bool, int, float, str)


@dataclass(frozen=True)
class Param:
    """One named, typed parameter with a default."""

    name: str
    type: type
    default: Any
    choices: tuple[Any, ...] | None = None

    def coerce(self, value: Any) -> Any:
        """Return ``value`` as this parameter's type, or raise ``ValueError`` saying why."""
        if self.choices is not None:
            if value not in self.choices:
                options = ", ".join(repr(c) for c in self.choices)
                raise ValueError(f"{value!r} is not one of {options}")
            return value
        if self.type is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if self.type is tuple and isinstance(value, list | tuple):
            return tuple(value)
        if isinstance(value, self.type) and not (self.type is int and isinstance(value, bool)):
            return value
        raise ValueError(f"{value!r} is not of type {self.type.__name__}")

    def describe(self) -> str:
        kind = "|".join(repr(c) for c in self.choices) if self.choices else self.type.__name__
        return f"{self.name}: {kind} = {self.default!r}"


def params_from_signature(
    fn: Callable[..., Any], *, skip: tuple[str, ...] = ()
) -> tuple[Param, ...]:
    """The typed parameters of ``fn``: its keyword-only arguments, less those named in ``skip``.

    Every such argument needs an annotation (a scalar type, ``tuple`` or a ``Literal``) and a
    default, so that a suite can leave it out.
    """
    hints = typing.get_type_hints(fn)
    params = []
    for arg in inspect.signature(fn).parameters.values():
        if arg.kind is not inspect.Parameter.KEYWORD_ONLY or arg.name in skip:
            continue
        if arg.default is inspect.Parameter.empty:
            raise TypeError(f"{fn.__qualname__}: parameter {arg.name!r} needs a default")
        hint = hints.get(arg.name)
        if typing.get_origin(hint) is typing.Literal:
            choices = typing.get_args(hint)
            params.append(Param(arg.name, type(choices[0]), arg.default, choices))
        elif hint in (*_SCALARS, tuple) or typing.get_origin(hint) is tuple:
            params.append(Param(arg.name, typing.get_origin(hint) or hint, arg.default))
        else:
            raise TypeError(
                f"{fn.__qualname__}: parameter {arg.name!r} needs a type annotation "
                f"(bool, int, float, str, tuple or Literal[...]), got {hint!r}"
            )
    return tuple(params)


def bind(params: tuple[Param, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overridden by ``values``; an unknown name or ill-typed value raises ValueError."""
    known = {p.name: p for p in params}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}")
    return {p.name: p.coerce(values[p.name]) if p.name in values else p.default for p in params}
