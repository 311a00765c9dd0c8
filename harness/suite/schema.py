"""The suite file format as a JSON Schema: the one source of the format's structure.

``schema()`` is the schema; docs/suite.schema.json is it written out (regenerate it with
``python -m harness.suite.schema > docs/suite.schema.json``; a test checks they agree), for
editors and for anyone who wants to check a suite without the harness. ``schema_issues``
validates a parsed file against it and words each violation the way the rest of the suite
loader does, with the path of the field.

The schema checks structure: the keys, their types, the tiers, dtypes and timing options.
What it cannot know — which tasks, methods and backends the installed plugins provide, and
the types of their parameters — ``harness.suite.loader`` checks against the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from harness.model.backend import DTYPES
from harness.model.params import Param, params_from_dataclass
from harness.names import did_you_mean
from harness.plugins.registry import UnknownNameError
from harness.run.case import RunOptions
from harness.run.timing import TimingOptions

Path_ = tuple[Any, ...]
"""Where a value sits in a parsed file: mapping keys and list indices from the top."""

TIERS = ("smoke", "ci", "full", "gpu")
"""The tiers a benchmark can belong to; ``--tier`` picks the benchmarks of one."""

INT64_MAX = 2**63 - 1
MAX_REPETITIONS = 1000

TIMING_PARAMS: tuple[Param, ...] = params_from_dataclass(TimingOptions) + params_from_dataclass(
    RunOptions, skip=("timing",)
)
"""The ``timing:`` block sets the fields of TimingOptions and RunOptions, in one flat mapping."""

TIMING_MINIMUM = {
    "warmup": 0,
    "min_time": 0,
    "min_samples": 1,
    "max_samples": 1,
    "budget": 0,
    "adaptive": 0,
    "unstable_above": 0,
    "timeout": 0.001,
    "memory_limit_mb": 1,
    "threads": 1,
    "rounds": 1,
}

WEEK_S = 7 * 24 * 3600.0
TIMING_MAXIMUM = {"min_time": WEEK_S, "budget": WEEK_S, "timeout": WEEK_S, "rounds": 1000}
"""Seconds past which a timing option is a mistake (and past which clocks overflow)."""

TIMING_DESCRIPTIONS = {
    "warmup": "Untimed calls before timing.",
    "min_time": "Seconds one sample lasts at least (calls per sample are calibrated).",
    "min_samples": "Samples taken at least ...",
    "max_samples": "... and never more than this.",
    "budget": "Seconds spent sampling at least, once min_samples are taken.",
    "adaptive": "Stop early once IQR/median is below this (0: off).",
    "cache": "warm, or cold: flush the caches (untimed) before every sample of one call.",
    "unstable_above": "Flag a case `unstable` when IQR/median exceeds this.",
    "isolation": "process: a fresh process per case; inline: in the harness (debugging).",
    "timeout": "Seconds before a case's worker is killed (status `timeout`).",
    "memory_limit_mb": "Kill a worker whose resident memory passes this (status `crashed`).",
    "threads": "BLAS/OpenMP threads while a case runs (threadpoolctl); null: the default.",
    "roofline": "Measure (or read the cached) GEMM rate and bandwidth of the run's backends.",
    "concurrent_timing": "Distributed runs: let workers on one machine time cases at once.",
    "curves": "Iterative methods' convergence curves: every step, steps 1, 2, 4, ... and the "
    "last (sparse), or none.",
    "memory": "traced: the peak memory and the tracemalloc peak of one extra call; rss: the "
    "peak memory alone.",
    "rounds": "Run the cases this many times over, each round a share of every case's samples, "
    "so that drift hits every case alike.",
}

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _timing_property(param: Param) -> dict[str, Any]:
    prop: dict[str, Any] = {"description": TIMING_DESCRIPTIONS.get(param.name, "")}
    if param.choices is not None:
        prop["enum"] = [*param.choices, *([None] if param.optional else [])]
    else:
        json_type = _JSON_TYPES[param.type]
        prop["type"] = [json_type, "null"] if param.optional else json_type
    if param.name in TIMING_MINIMUM:
        prop["minimum"] = TIMING_MINIMUM[param.name]
    if param.name in TIMING_MAXIMUM:
        prop["maximum"] = TIMING_MAXIMUM[param.name]
    prop["default"] = param.default
    return prop


def _names(what: str) -> dict[str, Any]:
    return {
        "description": f"A {what} name, or a list of them (any of).",
        "type": ["string", "array"],
        "minItems": 1,
        "items": {"type": "string"},
    }


def _list_of(items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "type": "array", "minItems": 1, "items": items}


def _settings_properties() -> dict[str, Any]:
    """The settings a file and each of its benchmarks can give: seeds, repetitions, tiers and
    the include/exclude rules (a benchmark's own override the file's)."""
    seed = {"type": "integer", "minimum": 0, "maximum": INT64_MAX}
    return {
        "seed": {
            "description": "Seed of the problem generator; a list sweeps it.",
            "type": ["integer", "array"],
            "minimum": 0,
            "maximum": INT64_MAX,
            "minItems": 1,
            "uniqueItems": True,
            "items": seed,
            "default": 0,
        },
        "repetitions": {
            "description": "Run each case this many times (Case.repetition 0, 1, ...); with "
            "more than one, a method's `seed` parameter the suite leaves unset is the "
            "repetition, so a randomised method is measured over that many seeds.",
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_REPETITIONS,
            "default": 1,
        },
        "tiers": {
            "description": "The tiers a benchmark belongs to (`--tier` picks one); at the top "
            "of a file, those of the file's benchmarks that do not list their own.",
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"title": "tier", "enum": list(TIERS)},
        },
        "include": {"$ref": "#/$defs/rules"},
        "exclude": {"$ref": "#/$defs/rules"},
    }


def _timing_schema() -> dict[str, Any]:
    """The ``timing:`` block: one property per field of TimingOptions and RunOptions."""
    return {
        "description": "How every case is timed and run; one value per option.",
        "type": "object",
        "additionalProperties": False,
        "properties": {p.name: _timing_property(p) for p in TIMING_PARAMS},
    }


def _file_properties(settings: dict[str, Any]) -> dict[str, Any]:
    """The keys at the top of a suite file: its name, what it extends, timing, the shared
    ``settings`` and the benchmarks."""
    return {
        "name": {
            "description": "The suite's name (default: the file name); not inherited.",
            "type": "string",
            "minLength": 1,
        },
        "description": {"description": "Free text; not inherited.", "type": "string"},
        "extends": {
            "description": "A suite this one inherits from: a path (ending in .yaml or "
            ".yml) relative to this file, or the name of a shipped suite.",
            "type": "string",
            "minLength": 1,
        },
        "timing": _timing_schema(),
        **settings,
        "benchmarks": _list_of(
            {"$ref": "#/$defs/benchmark"},
            "Appended to those of the suite this one extends.",
        ),
    }


def _benchmark_schema(settings: dict[str, Any]) -> dict[str, Any]:
    """One entry of ``benchmarks:``: a task, its sizes and problem sweep, the methods,
    backends and dtypes, and the shared ``settings``."""
    return {
        "title": "a benchmark",
        "description": "Expands to sizes x problem sweep x seeds x repetitions x "
        "methods (with their sweeps) x backends x dtypes cases, less the excluded.",
        "type": "object",
        "additionalProperties": False,
        "required": ["task", "sizes", "methods"],
        "properties": {
            "task": {"description": "A task name (`harness plugins`).", "type": "string"},
            "problem": {"$ref": "#/$defs/grid"},
            "problem_zip": {"$ref": "#/$defs/zip"},
            "sizes": _list_of(
                {"$ref": "#/$defs/size"}, "One entry per size, in the task's dimensions."
            ),
            "methods": _list_of({"$ref": "#/$defs/method"}, "The methods to run."),
            "backends": _list_of(
                {"type": "string"}, "Backend names (default: every registered backend)."
            ),
            "dtypes": _list_of(
                {"title": "dtype", "enum": list(DTYPES)},
                "Default: float32 and float64.",
            ),
            **settings,
        },
    }


def _size_schema() -> dict[str, Any]:
    """One entry of a benchmark's ``sizes:``."""
    return {
        "description": "Positive integers, one per dimension of the task (m, n); a "
        "bare integer for a task of one dimension.",
        "type": ["integer", "array"],
        "minimum": 1,
        "items": {"type": "integer", "minimum": 1},
    }


def _method_schema() -> dict[str, Any]:
    """One entry of a benchmark's ``methods:``: a name, or a name with a parameter sweep."""
    return {
        "title": "a method entry",
        "description": "A method name (default parameters), or a name with parameters.",
        "type": ["string", "object"],
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "params": {"$ref": "#/$defs/grid"},
            "zip": {"$ref": "#/$defs/zip"},
        },
    }


def _sweep_definitions() -> dict[str, Any]:
    """The two ways to sweep parameters: a ``grid`` (cartesian product) and a ``zip``
    (values taken together)."""
    return {
        "grid": {
            "description": "Parameter name -> value, typed by the task or method that "
            "declares it; a list is a sweep (the cases are the cartesian product), except "
            "that a flat list is one value of a tuple parameter.",
            "type": "object",
        },
        "zip": {
            "description": "Parameter name -> list of values, all lists of one length: "
            "the k-th values go together (one case each), crossed with the other sweeps.",
            "type": "object",
            "additionalProperties": {"type": "array", "minItems": 1},
        },
    }


def _rule_definitions() -> dict[str, Any]:
    """``include:``/``exclude:`` (lists of rules) and one rule: the conditions on a case."""
    return {
        "rules": _list_of(
            {"$ref": "#/$defs/rule"},
            "include: keep only the cases that match one of these; exclude: drop the "
            "cases that match any. At the top of a file they apply to every benchmark, "
            "inherited ones included.",
        ),
        "rule": {
            "title": "a rule",
            "description": "Matches a case when every condition given holds.",
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "task": _names("task"),
                "method": _names("method"),
                "backend": _names("backend"),
                "dtype": _names("dtype"),
                "params": {
                    "description": "Method parameter -> value or list of values (any of); "
                    "defaults count.",
                    "type": "object",
                },
                "problem": {
                    "description": "Task parameter -> value or list of values (any of); "
                    "defaults count.",
                    "type": "object",
                },
                "size_above": {
                    "description": "An integer: the case's largest dimension exceeds it; "
                    "a mapping dimension -> integer: each named dimension exceeds its bound.",
                    "type": ["integer", "object"],
                    "minimum": 0,
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
            },
        },
    }


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a suite file."""
    settings = _settings_properties()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "suite.schema.json",
        "title": "a suite",
        "description": "A linalg-harness benchmark suite (docs/suites.md). The tasks, methods, "
        "backends and parameters it names are checked against the installed plugins by "
        "`harness validate`.",
        "type": "object",
        "additionalProperties": False,
        "properties": _file_properties(settings),
        "$defs": {
            "benchmark": _benchmark_schema(settings),
            "size": _size_schema(),
            "method": _method_schema(),
            **_sweep_definitions(),
            **_rule_definitions(),
        },
    }


def listed(value: Any, param: Param) -> list[Any]:
    """The values a suite gives a parameter: a list is several (a sweep, or any of them in a
    rule), except that a flat list is one value of a ``tuple`` parameter."""
    if isinstance(value, list) and not (
        param.type is tuple and not any(isinstance(v, list) for v in value)
    ):
        return value
    return [value]


def _is_integer(checker: Any, instance: Any) -> bool:
    """YAML tells 3 from 3.0: only the first is an integer (and a boolean is not one)."""
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)
_VALIDATOR = _Validator(schema())

_KINDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def kind(value: Any) -> str:
    """What a parsed YAML value is, in the words of ``_KINDS``."""
    for name, python in (
        ("null", type(None)),
        ("boolean", bool),
        ("integer", int),
        ("number", float),
        ("string", str),
        ("array", list),
        ("object", dict),
    ):
        if isinstance(value, python):
            return _KINDS[name]
    return type(value).__name__


def unknown_key(key: Any, allowed: list[str]) -> str:
    """The message for a key the format does not have, with the closest allowed key."""
    return f"unknown key {key!r}" + (
        did_you_mean(key, allowed, n=1) or f" (allowed: {', '.join(allowed)})"
    )


def _number(value: Any) -> str:
    return "2**63 - 1" if value == INT64_MAX else repr(value)


def _messages(error: ValidationError) -> Iterator[tuple[Path_, str]]:
    path = tuple(error.absolute_path)
    # the subschema that refused the value (each in ``schema()`` is an object), and the value
    sub: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    value: Any = error.instance
    title = f"{sub['title']} " if "title" in sub else ""
    if error.validator == "additionalProperties" and "properties" in sub:
        allowed = list(sub["properties"])
        for key in value:
            if key not in allowed:
                yield (*path, key), unknown_key(key, allowed)
    elif error.validator == "required":
        for key in sub["required"]:
            if key not in value:
                yield path, f"{title}needs {key!r}"
    elif error.validator == "type":
        types = [sub["type"]] if isinstance(sub["type"], str) else sub["type"]
        wanted = " or ".join(_KINDS[t] for t in types)
        yield path, f"{title}must be {wanted}, got {kind(value)}"
    elif error.validator == "enum":
        if "title" in sub:
            yield path, str(UnknownNameError(sub["title"], str(value), sub["enum"]))
        else:
            yield path, f"{value!r} is not one of {', '.join(map(repr, sub['enum']))}"
    elif error.validator in ("minimum", "maximum"):
        low, high = sub.get("minimum"), sub.get("maximum")
        if low is not None and high is not None:
            yield path, f"must be from {_number(low)} to {_number(high)}, got {value!r}"
        elif low is not None:
            yield path, f"must be at least {_number(low)}, got {value!r}"
        else:
            yield path, f"must be at most {_number(high)}, got {value!r}"
    elif error.validator == "minItems":
        yield path, f"must be a non-empty list, got {value!r}"
    elif error.validator == "minProperties":
        yield path, f"{title}needs at least one of: {', '.join(sub['properties'])}"
    elif error.validator == "minLength":
        yield path, "must not be empty"
    elif error.validator == "uniqueItems":
        yield path, f"lists a value twice: {value!r}"
    else:
        yield path, error.message


def schema_issues(data: Any) -> list[tuple[Path_, str]]:
    """Every way ``data`` (one parsed suite file) breaks the schema: (path, message) pairs."""
    found: dict[tuple[Path_, str], None] = {}
    for error in _VALIDATOR.iter_errors(data):
        found.update(dict.fromkeys(_messages(error)))
    return list(found)


if __name__ == "__main__":
    print(json.dumps(schema(), indent=2))
