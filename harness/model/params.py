"""Typed parameters, read from a function's keyword-only arguments.

A method or task declares its parameters the way a Python function does: keyword-only
arguments with a type annotation and a default. ``Literal[...]`` annotations become choices.
The suite loader coerces the values a YAML file gives into these types, and reports a value
that does not fit with the parameter's name, type and choices.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
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
    optional: bool = False
    """Whether ``None`` is a value (an ``X | None`` annotation)."""

    def coerce(self, value: Any) -> Any:
        """Return ``value`` as this parameter's type, or raise ``ValueError`` saying why."""
        if value is None and self.optional:
            return None
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

    def type_name(self) -> str:
        """The type as a suite author reads it: ``int``, ``'a'|'b'``, ``float | None``."""
        kind = "|".join(repr(c) for c in self.choices) if self.choices else self.type.__name__
        return f"{kind} | None" if self.optional else kind

    def describe(self) -> str:
        return f"{self.name}: {self.type_name()} = {self.default!r}"

    def as_dict(self) -> dict[str, Any]:
        """Name, type, default and choices, JSON-able (tuples as lists); ``text`` is
        ``describe()``."""
        return {
            "name": self.name,
            "text": self.describe(),
            "type": self.type.__name__,
            "optional": self.optional,
            "default": list(self.default) if isinstance(self.default, tuple) else self.default,
            "choices": list(self.choices) if self.choices is not None else None,
        }


def _param(owner: str, name: str, hint: Any, default: Any) -> Param:
    """A ``Param`` from a type annotation: a scalar, ``tuple``, ``Literal[...]``, or ``X | None``
    with a ``None`` default."""
    optional = False
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(members) == 1 and default is None:
            hint, optional = members[0], True
    if typing.get_origin(hint) is typing.Literal:
        choices = typing.get_args(hint)
        return Param(name, type(choices[0]), default, choices, optional)
    if hint in (*_SCALARS, tuple) or typing.get_origin(hint) is tuple:
        return Param(name, typing.get_origin(hint) or hint, default, optional=optional)
    raise TypeError(
        f"{owner}: parameter {name!r} needs a type annotation "
        f"(bool, int, float, str, tuple, Literal[...] or X | None), got {hint!r}"
    )


def params_from_signature(
    fn: Callable[..., Any], *, skip: tuple[str, ...] = ()
) -> tuple[Param, ...]:
    """The typed parameters of ``fn``: its keyword-only arguments, less those named in ``skip``.

    Every such argument needs an annotation (a scalar type, ``tuple``, a ``Literal``, or
    ``X | None``) and a default, so that a suite can leave it out.
    """
    hints = typing.get_type_hints(fn)
    params = []
    for arg in inspect.signature(fn).parameters.values():
        if arg.kind is not inspect.Parameter.KEYWORD_ONLY or arg.name in skip:
            continue
        if arg.default is inspect.Parameter.empty:
            raise TypeError(f"{fn.__qualname__}: parameter {arg.name!r} needs a default")
        params.append(_param(fn.__qualname__, arg.name, hints.get(arg.name), arg.default))
    return tuple(params)


def params_from_dataclass(cls: type, *, skip: tuple[str, ...] = ()) -> tuple[Param, ...]:
    """The typed parameters of an options dataclass: its fields (each needs a default)."""
    hints = typing.get_type_hints(cls)
    return tuple(
        _param(cls.__qualname__, f.name, hints[f.name], f.default)
        for f in dataclasses.fields(cls)
        if f.name not in skip
    )


def bind(params: tuple[Param, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overridden by ``values``; an unknown name or ill-typed value raises ValueError."""
    known = {p.name: p for p in params}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}")
    return {p.name: p.coerce(values[p.name]) if p.name in values else p.default for p in params}
