"""YAML benchmark suites: loading, validation with file/line/field errors, and expansion.

A suite lists benchmarks; each names a task, its problem parameters and sizes, the methods
(with parameters), backends and dtypes to run. Every list-valued parameter is a sweep, and a
benchmark expands to the cartesian product sizes × problem sweep × methods × method sweeps ×
backends × dtypes. See docs/suites.md for the format; suites/smoke.yaml is an example.

Validation reports every problem at once, each with the file, the line and the field, and
close matches for unknown names. Nothing runs, and nothing is written, unless all is valid.
"""

from __future__ import annotations

import difflib
import itertools
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from harness.backend import DTYPES
from harness.case import Case, RunOptions
from harness.params import Param, params_from_dataclass
from harness.registry import DuplicateNameError, Registry, UnknownNameError
from harness.timing import TimingOptions

Path_ = tuple[str | int, ...]

TOP_KEYS = ("name", "description", "seed", "timing", "benchmarks")
# The ``timing:`` block sets the fields of TimingOptions and RunOptions, in one flat mapping.
TIMING_PARAMS = params_from_dataclass(TimingOptions) + params_from_dataclass(
    RunOptions, skip=("timing",)
)
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
}
BENCHMARK_KEYS = ("task", "problem", "sizes", "methods", "backends", "dtypes")
METHOD_KEYS = ("name", "params")
DEFAULT_DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class SuiteIssue:
    """One problem found in a suite file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class SuiteError(Exception):
    """A suite that cannot run; ``issues`` lists every problem found."""

    def __init__(self, issues: list[SuiteIssue]):
        self.issues = sorted(issues, key=lambda issue: issue.line)
        super().__init__("\n".join(map(str, issues)))


@dataclass
class Suite:
    name: str
    path: str
    text: str
    seed: int
    options: RunOptions = field(default_factory=RunOptions)
    cases: list[Case] = field(default_factory=list)


def resolve(name_or_path: str) -> Path:
    """A suite file: a path, or the name of a suite shipped with the harness (``smoke``)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    shipped = resources.files("harness.suites") / f"{name_or_path}.yaml"
    if shipped.is_file():
        return Path(str(shipped))
    known = sorted(
        p.name.removesuffix(".yaml")
        for p in resources.files("harness.suites").iterdir()
        if p.name.endswith(".yaml")
    )
    raise UnknownNameError("suite", name_or_path, known)


def load(name_or_path: str, registry: Registry) -> Suite:
    """Read, validate and expand a suite; raise ``SuiteError`` listing every problem."""
    path = resolve(name_or_path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        message = getattr(exc, "strerror", None) or str(exc)
        raise SuiteError([SuiteIssue(str(path), 0, "(file)", message)]) from None
    return _Validator(str(path), text, registry).suite()


def _parse(file: str, text: str) -> tuple[Any, dict[Path_, int]]:
    """The YAML document (safe loader only) and the 1-based line of every key and item."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # reads (and checks) the first characters already
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:  # MarkedYAMLError has a line; a ReaderError does not
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError([SuiteIssue(file, line, "(yaml)", f"not valid YAML: {problem}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Path_, int] = {}

    def walk(n: yaml.Node, path: Path_, above: frozenset[int] = frozenset()) -> None:
        if id(n) in above:  # an alias to one of its own ancestors
            raise SuiteError(
                [
                    SuiteIssue(
                        file, n.start_mark.line + 1, _field(path), "a YAML alias refers to itself"
                    )
                ]
            )
        above = above | {id(n)}
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                lines[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value), above)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i), above)

    if node is not None:
        lines[()] = node.start_mark.line + 1
        walk(node, ())
    return data, lines


def _field(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _sweep(value: Any, param: Param) -> list[Any]:
    """The values a suite entry sweeps over: a list is a sweep, except a flat list for a tuple."""
    if isinstance(value, list) and not (
        param.type is tuple and not any(isinstance(v, list) for v in value)
    ):
        return value
    return [value]


class _Validator:
    """Walks one parsed suite, collecting every issue, and builds the cases if there are none."""

    def __init__(self, file: str, text: str, registry: Registry):
        self.file, self.text, self.registry = file, text, registry
        self.issues: list[SuiteIssue] = []
        self.data, self.lines = _parse(file, text)

    def issue(self, path: Path_, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        self.issues.append(SuiteIssue(self.file, self.lines.get(probe, 1), _field(path), message))

    def keys(self, value: Any, path: Path_, allowed: tuple[str, ...], what: str) -> bool:
        if not isinstance(value, dict):
            self.issue(path, f"{what} must be a mapping, got {type(value).__name__}")
            return False
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f" (allowed: {', '.join(allowed)})"
                )
                self.issue((*path, key), f"unknown key {key!r}{hint}")
        return True

    def int_value(self, value: Any, path: Path_, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < 2**63:
            self.issue(path, f"must be an integer from {minimum} to 2**63 - 1, got {value!r}")
            return minimum
        return value

    def lookup(self, kind: str, name: Any, path: Path_) -> Any:
        if not isinstance(name, str):
            self.issue(path, f"{kind} name must be a string, got {name!r}")
            return None
        try:
            return self.registry.get(kind, name)
        except (UnknownNameError, DuplicateNameError) as exc:
            self.issue(path, str(exc))
            return None

    def grid(self, values: Any, params: tuple[Param, ...], path: Path_, owner: str) -> list[dict]:
        """Every combination of the swept values, each coerced to its parameter's type."""
        if values is None:
            return [{}]
        if not isinstance(values, dict):
            self.issue(path, f"must be a mapping of parameter names to values, got {values!r}")
            return []
        known = {p.name: p for p in params}
        axes: list[list[tuple[str, Any]]] = []
        for name, value in values.items():
            if name not in known:
                close = difflib.get_close_matches(str(name), list(known), n=2)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                listed = ", ".join(p.describe() for p in params) or "none"
                self.issue(
                    (*path, name), f"{owner} has no parameter {name!r}{hint} (parameters: {listed})"
                )
                continue
            axis = []
            if _sweep(value, known[name]) == []:
                self.issue((*path, name), "an empty list sweeps over nothing")
            for v in _sweep(value, known[name]):
                try:
                    axis.append((name, known[name].coerce(v)))
                except ValueError as exc:
                    self.issue((*path, name), str(exc))
            axes.append(axis)
        return [dict(combo) for combo in itertools.product(*axes)]

    def options(self, timing: Any) -> RunOptions:
        """The run options a ``timing:`` block sets; each takes one value (no sweeps)."""
        if isinstance(timing, dict):
            for name in [k for k, v in timing.items() if isinstance(v, list)]:
                self.issue(("timing", name), "timing options take one value, not a list")
                del timing[name]
        combos = self.grid(timing, TIMING_PARAMS, ("timing",), "timing")
        values = combos[0] if combos else {}
        for name, value in list(values.items()):
            if isinstance(value, float) and not math.isfinite(value):
                self.issue(("timing", name), f"must be a finite number, got {value!r}")
                del values[name]
        for name, minimum in TIMING_MINIMUM.items():
            if values.get(name) is not None and values[name] < minimum:
                self.issue(("timing", name), f"must be at least {minimum}, got {values[name]!r}")
                del values[name]
        if values.get("max_samples", 100) < values.get("min_samples", 1):
            self.issue(("timing", "max_samples"), "must be at least min_samples")
        timing_fields = {p.name for p in params_from_dataclass(TimingOptions)}
        return RunOptions(
            timing=TimingOptions(**{k: v for k, v in values.items() if k in timing_fields}),
            **{k: v for k, v in values.items() if k not in timing_fields},
        )

    def names(self, value: Any, path: Path_, default: list[str]) -> list[str]:
        if value is None:
            return default
        if not isinstance(value, list) or not value:
            self.issue(path, f"must be a non-empty list, got {value!r}")
            return []
        return value

    def suite(self) -> Suite:
        data = self.data
        if not self.keys(data, (), TOP_KEYS, "a suite"):
            raise SuiteError(self.issues)
        suite = Suite(
            name=str(data.get("name") or Path(self.file).stem),
            path=self.file,
            text=self.text,
            seed=self.int_value(data.get("seed", 0), ("seed",), 0),
            options=self.options(data.get("timing")),
        )
        benchmarks = data.get("benchmarks")
        if not isinstance(benchmarks, list) or not benchmarks:
            self.issue(("benchmarks",), "a suite needs a non-empty list of benchmarks")
            benchmarks = []
        for i, bench in enumerate(benchmarks):
            suite.cases += self.benchmark(bench, ("benchmarks", i), suite.seed)
        if self.issues:
            raise SuiteError(self.issues)
        return suite

    def benchmark(self, bench: Any, path: Path_, seed: int) -> list[Case]:
        if not self.keys(bench, path, BENCHMARK_KEYS, "a benchmark"):
            return []
        if "task" not in bench:
            self.issue(path, "a benchmark needs a 'task'")
            return []
        task = self.lookup("task", bench["task"], (*path, "task"))
        if task is None:
            return []
        problems = self.grid(
            bench.get("problem"), task.params, (*path, "problem"), f"task {task.name!r}"
        )
        sizes = [
            self.size(s, task.size_names, (*path, "sizes", j))
            for j, s in enumerate(self.names(bench.get("sizes"), (*path, "sizes"), []))
        ]
        if "sizes" not in bench:
            self.issue(path, f"a benchmark needs 'sizes' (lists of {', '.join(task.size_names)})")
        backends = self.names(
            bench.get("backends"), (*path, "backends"), sorted(self.registry.backends)
        )
        for j, name in enumerate(backends):
            self.lookup("backend", name, (*path, "backends", j))
        dtypes = self.names(bench.get("dtypes"), (*path, "dtypes"), list(DEFAULT_DTYPES))
        for j, name in enumerate(dtypes):
            if name not in DTYPES:
                self.issue((*path, "dtypes", j), str(UnknownNameError("dtype", str(name), DTYPES)))
        methods = []
        for j, entry in enumerate(self.names(bench.get("methods"), (*path, "methods"), [])):
            methods += self.method_entry(entry, (*path, "methods", j), task)
        if "methods" not in bench:
            self.issue(path, "a benchmark needs 'methods'")
        return [
            Case(task.name, method, backend, dtype, size, problem, params, seed)
            for size, problem, (method, params), backend, dtype in itertools.product(
                sizes, problems, methods, backends, dtypes
            )
        ]

    def size(self, value: Any, names: tuple[str, ...], path: Path_) -> dict[str, int]:
        value = value if isinstance(value, list) else [value]
        if len(value) != len(names) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            self.issue(
                path,
                f"a size is {len(names)} positive integers ({', '.join(names)}), got {value!r}",
            )
            return {}
        return dict(zip(names, value, strict=True))

    def method_entry(self, entry: Any, path: Path_, task: Any) -> list[tuple[str, dict]]:
        if isinstance(entry, str):
            entry = {"name": entry}
            name_path = path
        else:
            if not self.keys(entry, path, METHOD_KEYS, "a method entry"):
                return []
            name_path = (*path, "name")
        method = self.lookup("method", entry.get("name"), name_path)
        if method is None:
            return []
        if method.family != task.family:
            self.issue(
                name_path,
                f"method {method.name!r} is of family {method.family!r}, but task "
                f"{task.name!r} takes methods of family {task.family!r}",
            )
            return []
        if method.tasks is not None and task.name not in method.tasks:
            self.issue(
                name_path,
                f"method {method.name!r} runs on task(s) {', '.join(sorted(method.tasks))}, "
                f"not on {task.name!r}",
            )
            return []
        grid = self.grid(
            entry.get("params"), method.params, (*path, "params"), f"method {method.name!r}"
        )
        return [(method.name, params) for params in grid]
