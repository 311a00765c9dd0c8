"""YAML benchmark suites: loading, validation with file/line/field errors, and expansion.

A suite lists benchmarks; each names a task, its problem parameters and sizes, the methods
(with parameters), backends and dtypes to run. A list-valued parameter is a sweep; a ``zip:``
mapping gives lists whose k-th values go together. A benchmark expands to

    sizes × problem sweep × seeds × repetitions × methods (× their sweeps) × backends × dtypes

cases, less those its include/exclude rules (``harness.suite.rules``) drop. A suite can
``extends:`` another (``harness.suite.files``), and tag benchmarks with tiers (smoke, ci,
full, gpu) so that ``load(..., tier="ci")`` expands only the benchmarks of one tier.
docs/suites.md describes the format; docs/suite.schema.json is its JSON Schema.

Validation first checks each file against the schema (``harness.suite.schema``: keys, types,
ranges), then every name against the registry and every parameter against its declared type.
Every problem is reported at once, each with its file, line and field, and close matches for
unknown names. Nothing runs, and nothing is written, unless all is valid. What a file may
expand to is bounded before it is built: its YAML (``harness.suite.files``) and its cases
(``max_cases``, counted before the include/exclude rules); values that are not finite, or
text a terminal would act on, are refused (``harness.suite.values``).

Merging along ``extends:`` (the parent first, then the child):

- ``name`` and ``description`` belong to a file and are not inherited;
- ``seed``, ``repetitions`` and each ``timing`` option: the child's value replaces the parent's;
- ``benchmarks``: the child's are appended to the parent's;
- ``include`` and ``exclude`` at the top of a file apply to every benchmark of the suite,
  inherited ones included; a benchmark's own rules apply to it alone;
- ``tiers`` at the top of a file are the tiers of the benchmarks written in that file that
  do not list their own.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from harness.model.backend import DTYPES
from harness.model.method import Method
from harness.model.params import Param, params_from_dataclass
from harness.model.task import Task
from harness.names import did_you_mean
from harness.plugins.registry import DuplicateNameError, Registry, UnknownNameError
from harness.run.case import Case, RunOptions
from harness.run.timing import TimingOptions
from harness.suite.files import (
    Issues,
    SuiteError,
    SuiteFile,
    SuiteIssue,
    field_name,
    read_chain,
    resolve,
)
from harness.suite.rules import Rules, keeps, read_rule
from harness.suite.schema import MAX_REPETITIONS, TIERS, TIMING_PARAMS, Path_, listed
from harness.suite.values import nonfinite, unsafe_text

__all__ = ["MAX_CASES", "Suite", "SuiteError", "SuiteIssue", "load", "resolve"]

DEFAULT_DTYPES = ("float32", "float64")
MAX_CASES = 100_000
"""The most cases a suite may expand to (before its include/exclude rules), unless
``load(..., max_cases=N)`` (``--max-cases N``) allows more."""
TIMING_FIELDS = frozenset(p.name for p in params_from_dataclass(TimingOptions))


@dataclass
class Suite:
    name: str
    path: str
    text: str
    """The file's text, then that of each file it extends, as further YAML documents."""
    seed: int
    """The suite's problem seed (the first, when it sweeps several)."""
    options: RunOptions = field(default_factory=RunOptions)
    cases: list[Case] = field(default_factory=list)
    tier: str | None = None
    """The tier whose benchmarks ``cases`` come from; ``None``: every benchmark."""


def load(
    name_or_path: str,
    registry: Registry,
    *,
    tier: str | None = None,
    max_cases: int = MAX_CASES,
) -> Suite:
    """Read, validate and expand a suite (the benchmarks of ``tier`` only, when given);
    raise ``SuiteError`` listing every problem, a suite of more than ``max_cases`` cases
    (counted before the include/exclude rules, and before any is built) among them."""
    if tier is not None and tier not in TIERS:
        raise UnknownNameError("tier", tier, TIERS)
    return _Validator(resolve(name_or_path), registry, tier, max_cases).suite()


@dataclass(frozen=True)
class _At:
    """A value as a file gives it, and where."""

    file: SuiteFile
    path: Path_
    value: Any


@dataclass(frozen=True)
class _Grid:
    """The parameter values of a ``problem:`` (or a method's ``params:``) mapping, typed:
    the sweeps, crossed with the rows of the zipped lists; counted before they are built."""

    sweeps: dict[str, list[Any]]
    rows: list[dict[str, Any]]
    labels: tuple[str, str]
    """The fields of its sweeps and of its zipped lists, within the benchmark (``problem``
    and ``problem_zip``, or ``methods[0].params`` and ``methods[0].zip``)."""

    def __len__(self) -> int:
        return math.prod(map(len, self.sweeps.values())) * len(self.rows)

    def factors(self) -> list[tuple[str, int]]:
        """What multiplies its length: ``(problem.NAME, values)`` per sweep, then
        ``(problem_zip, rows)``."""
        sweeps, zipped = self.labels
        out = [(f"{sweeps}.{name}", len(values)) for name, values in self.sweeps.items()]
        return [*out, (zipped, len(self.rows))]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for combo in itertools.product(*self.sweeps.values()):
            for row in self.rows:
                yield dict(zip(self.sweeps, combo, strict=True)) | row


@dataclass
class _Benchmark:
    """One benchmark, its values checked: what its cases are made of, before they are built,
    and what the rules need."""

    at: _At
    tiers: tuple[str, ...]
    task: Task
    sizes: list[dict[str, int]]
    problems: _Grid
    seeds: list[int]
    repetitions: int
    methods: list[tuple[Method, _Grid]]
    backends: list[str]
    dtypes: list[str]
    rules: Rules

    def __len__(self) -> int:
        """Its number of cases, before the rules; none is built to count them."""
        methods = sum(len(grid) for _, grid in self.methods)
        counts = (len(self.sizes), len(self.problems), len(self.seeds), self.repetitions)
        return math.prod(counts) * methods * len(self.backends) * len(self.dtypes)

    def factors(self) -> list[tuple[str, int]]:
        """What multiplies its number of cases, ``(what, how many)``: the sizes, each sweep,
        ..., the dtypes; the cases of several methods add up."""
        if len(self.methods) == 1:
            methods = self.methods[0][1].factors()
        else:
            each = " + ".join(f"{method.name} {len(grid):,}" for method, grid in self.methods)
            methods = [(f"methods ({each})", sum(len(grid) for _, grid in self.methods))]
        return [
            ("sizes", len(self.sizes)),
            *self.problems.factors(),
            ("seeds", len(self.seeds)),
            ("repetitions", self.repetitions),
            *methods,
            ("backends", len(self.backends)),
            ("dtypes", len(self.dtypes)),
        ]

    def cases(self) -> Iterator[Case]:
        """Its cases, before the rules."""
        methods = [(method, params) for method, grid in self.methods for params in grid]
        for size, problem, seed, rep, (method, params), backend, dtype in itertools.product(
            self.sizes,
            self.problems,
            self.seeds,
            range(self.repetitions),
            methods,
            self.backends,
            self.dtypes,
        ):
            if (
                self.repetitions > 1
                and "seed" not in params
                and any(p.name == "seed" and p.type is int for p in method.params)
            ):
                params = {**params, "seed": rep}
            yield Case(
                self.task.name, method.name, backend, dtype, size, problem, params, seed, rep
            )


def _too_many(count: int, parts: str, max_cases: int) -> str:
    """``1,000,000 cases (PARTS, before the include/exclude rules): above ...``."""
    return (
        f"{count:,} cases ({parts}, before the include/exclude rules): "
        f"above the limit of {max_cases:,} (--max-cases)"
    )


def _text(chain: list[SuiteFile]) -> str:
    """The suite file's text, then each file it extends as a further YAML document."""
    text = chain[-1].text
    for file in reversed(chain[:-1]):
        text += ("" if text.endswith("\n") else "\n") + f"--- # extends: {file.path}\n{file.text}"
    return text


def _yaml_float_hint(param: Param, value: Any) -> str:
    """YAML 1.1 reads ``1e-7`` (no dot) and ``1.0e7`` (no sign) as strings: say how to
    write the number."""
    if param.type is not float or not isinstance(value, str) or "e" not in value.lower():
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    if not math.isfinite(float(value)):
        return ""
    mantissa, exponent = value.lower().split("e")
    dotted = mantissa if "." in mantissa else f"{mantissa}.0"
    signed = exponent if exponent.startswith(("+", "-")) else f"+{exponent}"
    return f" (YAML reads {value} as text; write {dotted}e{signed})"


def _merged_settings(files: list[SuiteFile]) -> tuple[dict[str, Any], dict[str, _At]]:
    """The ``seed`` and ``repetitions`` of a chain of files, and its ``timing:`` options
    (each where it was set), the child's overriding the parent's."""
    settings: dict[str, Any] = {}
    timing: dict[str, _At] = {}
    for f in files:
        settings |= {k: f.data[k] for k in ("seed", "repetitions") if k in f.data}
        if isinstance(f.data.get("timing"), dict):
            timing |= {k: _At(f, ("timing", k), v) for k, v in f.data["timing"].items()}
    return settings, timing


class _Validator:
    """Walks a suite and the files it extends, collecting every issue, and builds the cases
    if there are none."""

    def __init__(self, path: Path, registry: Registry, tier: str | None, max_cases: int):
        self.registry, self.tier, self.max_cases = registry, tier, max_cases
        self.issues = Issues()
        self.chain = read_chain(path, self.issues)

    def issue(self, at: _At | SuiteFile, path: Path_, message: str) -> None:
        self.issues.add(at.file if isinstance(at, _At) else at, path, message)

    def suite(self) -> Suite:
        """The suite the chain describes with its cases; ``SuiteError`` with every issue
        found when there are any, or when it expands to no case."""
        files = [f for f in self.chain if isinstance(f.data, dict)]
        if not self.chain or len(files) < len(self.chain):  # the schema said why
            raise SuiteError(self.issues.all())
        top = files[-1]
        settings, timing = _merged_settings(files)
        seeds = self.seeds(settings.get("seed"), [0])
        repetitions = self.repetitions(settings.get("repetitions"), 1)
        benchmarks = self.benchmarks(files, seeds, repetitions)
        suite_rules = self.rules(
            [_At(f, (), f.data) for f in files],
            list({b.task.name: b.task for b in benchmarks}.values()),
            list({m.name: m for b in benchmarks for m, _ in b.methods}.values()),
        )
        name = str(top.data.get("name") or Path(top.path).stem)
        if "name" not in top.data and (problem := unsafe_text(name)) is not None:
            self.issue(top, (), f"the suite's name (its file's name) {problem}; give a name:")
        suite = Suite(
            name=name,
            path=top.path,
            text=_text(self.chain),
            seed=seeds[0],
            options=self.options(timing),
            tier=self.tier,
        )
        selected = [b for b in benchmarks if self.tier is None or self.tier in b.tiers]
        self.bound(selected, top)
        if self.issues:
            raise SuiteError(self.issues.all())
        suite.cases = self.cases(selected, suite_rules)
        if not suite.cases:
            raise self.nothing_to_run(top, selected, benchmarks)
        return suite

    def benchmarks(
        self, files: list[SuiteFile], seeds: list[int], repetitions: int
    ) -> list[_Benchmark]:
        """The valid benchmarks of every file of the chain, the parent's first; an issue when
        the chain has none at all."""
        top = files[-1]
        benchmarks: list[_Benchmark] = []
        for f in files:
            default_tiers = self.tiers(f.data.get("tiers"), ())
            entries = f.data.get("benchmarks")
            for i, bench in enumerate(entries if isinstance(entries, list) else []):
                at = _At(f, ("benchmarks", i), bench)
                found = self.benchmark(at, seeds, repetitions, default_tiers)
                benchmarks += [found] if found else []
        if not any("benchmarks" in f.data for f in files) and "extends" not in files[0].data:
            self.issue(top, (), "a suite needs a non-empty list of benchmarks (or to extend one)")
        return benchmarks

    def cases(self, selected: list[_Benchmark], suite_rules: Rules) -> list[Case]:
        """The cases of the ``selected`` benchmarks that the suite's and their own rules
        keep, each once."""
        unique: dict[str, Case] = {}  # a case two benchmarks (e.g. of two tiers) share runs once
        for b in selected:
            methods = {method.name: method for method, _ in b.methods}
            for case in b.cases():
                if keeps([suite_rules, b.rules], case, methods[case.method], b.task):
                    unique.setdefault(case.key(), case)
        return list(unique.values())

    def nothing_to_run(
        self, top: SuiteFile, selected: list[_Benchmark], benchmarks: list[_Benchmark]
    ) -> SuiteError:
        """The error of a suite that expands to no case: no benchmark in the tier asked for,
        or rules that drop every case."""
        if selected:
            message = "the include/exclude rules leave no case to run"
        else:
            tiers = sorted({t for b in benchmarks for t in b.tiers}, key=TIERS.index)
            message = f"no benchmark is in tier {self.tier!r} (this suite's tiers: " + (
                f"{', '.join(tiers)})" if tiers else "none; see docs/suites.md, Tiers)"
            )
        return SuiteError(
            [SuiteIssue(top.path, 1, "(tier)" if not selected else "(suite)", message)]
        )

    def bound(self, benchmarks: list[_Benchmark], top: SuiteFile) -> None:
        """An issue for each benchmark, or else for the suite, of more than ``max_cases``
        cases, counted before any is built."""
        above = [b for b in benchmarks if len(b) > self.max_cases]
        for b in above:
            product = " × ".join(f"{what} {n:,}" for what, n in b.factors() if n != 1)
            self.issue(b.at, b.at.path, _too_many(len(b), product, self.max_cases))
        total = sum(map(len, benchmarks))
        if not above and total > self.max_cases:
            each = " + ".join(
                f"{'' if b.at.file is top else b.at.file.path + ':'}"
                f"{field_name(b.at.path)} {len(b):,}"
                for b in benchmarks
            )
            message = _too_many(total, each, self.max_cases)
            self.issue(top, (), f"the benchmarks expand to {message}")

    # --- values the schema has checked; these only pick out the valid ones

    @staticmethod
    def seeds(value: Any, default: list[int]) -> list[int]:
        values = value if isinstance(value, list) else [value]
        return [v for v in values if isinstance(v, int) and not isinstance(v, bool)] or default

    @staticmethod
    def repetitions(value: Any, default: int) -> int:
        """The repetitions asked for; ``default`` where the value is not one (the schema says
        why), so that counting the cases never meets an impossible number."""
        valid = isinstance(value, int) and not isinstance(value, bool)
        return value if valid and 1 <= value <= MAX_REPETITIONS else default

    @staticmethod
    def tiers(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(t for t in value if t in TIERS) if isinstance(value, list) else default

    def options(self, timing: dict[str, _At]) -> RunOptions:
        """The run options the ``timing:`` blocks of the chain set, the child's last."""
        known = {p.name: p for p in TIMING_PARAMS}
        values: dict[str, Any] = {}
        for name, at in timing.items():
            if name not in known:
                continue
            try:
                value = known[name].coerce(at.value)
            except ValueError:
                continue
            if (problem := nonfinite(value, known[name])) is not None:
                self.issue(at, at.path, problem)
                continue
            values[name] = value
        merged = {p.name: p.default for p in TIMING_PARAMS} | values
        if merged["max_samples"] < merged["min_samples"]:
            at = timing.get("max_samples") or timing["min_samples"]
            self.issue(at, ("timing", "max_samples"), "must be at least min_samples")
        return RunOptions(
            timing=TimingOptions(**{k: v for k, v in values.items() if k in TIMING_FIELDS}),
            **{k: v for k, v in values.items() if k not in TIMING_FIELDS},
        )

    # --- registry-aware checks

    def lookup(self, at: _At, kind: str, name: Any, path: Path_) -> Any:
        if not isinstance(name, str):
            return None  # the schema said so
        try:
            return self.registry.get(kind, name)
        except (UnknownNameError, DuplicateNameError) as exc:
            self.issue(at, path, str(exc))
            return None

    def coerce(self, at: _At, path: Path_, param: Param, values: list[Any]) -> list[Any] | None:
        """``values`` as ``param``'s type; ``None`` (and an issue) if one does not fit, or is
        not finite where ``param`` takes only finite numbers."""
        out = []
        for value in values:
            try:
                out.append(param.coerce(value))
            except ValueError as exc:
                self.issue(at, path, str(exc) + _yaml_float_hint(param, value))
                return None
            if (problem := nonfinite(out[-1], param)) is not None:
                self.issue(at, path, problem)
                return None
        return out

    def grid(self, at: _At, key: str, zip_key: str, params: tuple[Param, ...], owner: str) -> _Grid:
        """``at.value[key]``'s sweeps, to be crossed with the rows of ``at.value[zip_key]``
        (whose k-th values go together), typed by ``params``."""
        known = {p.name: p for p in params}

        def param(name: Any, path: Path_) -> Param | None:
            if name not in known:
                listed_params = ", ".join(p.describe() for p in params) or "none"
                self.issue(
                    at,
                    path,
                    f"{owner} has no parameter {name!r}{did_you_mean(name, known, n=2)} "
                    f"(parameters: {listed_params})",
                )
            return known.get(name)

        swept, zipped = at.value.get(key), at.value.get(zip_key)
        sweeps: dict[str, list[Any]] = {}
        for name, value in swept.items() if isinstance(swept, dict) else []:
            path = (*at.path, key, name)
            if (p := param(name, path)) is None:
                continue
            if listed(value, p) == []:
                self.issue(at, path, "an empty list sweeps over nothing")
            sweeps[name] = self.coerce(at, path, p, listed(value, p)) or []
        rows: list[dict[str, Any]] = [{}]
        columns: dict[str, list[Any]] = {}
        for name, values in zipped.items() if isinstance(zipped, dict) else []:
            path = (*at.path, zip_key, name)
            if not isinstance(values, list) or (p := param(name, path)) is None:
                continue
            if isinstance(swept, dict) and name in swept:
                self.issue(at, path, f"{name!r} is in {key!r} too; give it in one of them")
                continue
            if (column := self.coerce(at, path, p, values)) is not None:
                columns[name] = column
        if len({len(column) for column in columns.values()}) > 1:
            lengths = ", ".join(f"{name} has {len(column)}" for name, column in columns.items())
            self.issue(at, (*at.path, zip_key), f"zipped lists differ in length: {lengths}")
        elif columns:
            rows = [
                dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)
            ]
        within = at.path[2:]  # the path below benchmarks[i]
        return _Grid(sweeps, rows, (field_name((*within, key)), field_name((*within, zip_key))))

    def size(
        self, at: _At, value: Any, names: tuple[str, ...], path: Path_
    ) -> dict[str, int] | None:
        if not isinstance(value, int | list):
            return None  # the schema said so
        value = value if isinstance(value, list) else [value]
        if len(value) != len(names) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            self.issue(
                at,
                path,
                f"a size is {len(names)} positive integers ({', '.join(names)}), got {value!r}",
            )
            return None
        return dict(zip(names, value, strict=True))

    def names(self, at: _At, key: str, kind: str, default: list[str]) -> list[str]:
        """The backends (or dtypes) a benchmark names that exist; ``default`` if it names none."""
        value = at.value.get(key)
        if not isinstance(value, list):
            return default
        found = []
        for j, name in enumerate(value):
            if kind == "dtype":
                ok = name in DTYPES  # the schema reported the others
            else:
                ok = self.lookup(at, kind, name, (*at.path, key, j)) is not None
            found += [name] if ok else []
        return found

    def rules(self, levels: list[_At], tasks: list[Task], methods: list[Method]) -> Rules:
        """The include and exclude rules of ``levels`` (the top of each file, or a benchmark)."""
        rules = Rules()
        for at in levels:
            for kind in ("include", "exclude"):
                entries = at.value.get(kind)
                for i, entry in enumerate(entries if isinstance(entries, list) else []):
                    rule = read_rule(
                        entry,
                        (*at.path, kind, i),
                        self.registry,
                        tasks,
                        methods,
                        partial(self.issue, at),
                    )
                    if rule is not None:
                        getattr(rules, kind).append(rule)
        return rules

    def benchmark(
        self, at: _At, seeds: list[int], repetitions: int, default_tiers: tuple[str, ...]
    ) -> _Benchmark | None:
        bench, path = at.value, at.path
        if not isinstance(bench, dict):
            return None
        task = self.lookup(at, "task", bench.get("task"), (*path, "task"))
        if task is None:
            return None
        problems = self.grid(at, "problem", "problem_zip", task.params, f"task {task.name!r}")
        listed_sizes = bench.get("sizes")
        sizes = [
            self.size(at, s, task.size_names, (*path, "sizes", j))
            for j, s in enumerate(listed_sizes if isinstance(listed_sizes, list) else [])
        ]
        backends = self.names(at, "backends", "backend", sorted(self.registry.backends))
        dtypes = self.names(at, "dtypes", "dtype", list(DEFAULT_DTYPES))
        entries = bench.get("methods")
        methods = [
            found
            for j, entry in enumerate(entries if isinstance(entries, list) else [])
            if (found := self.method_entry(_At(at.file, (*path, "methods", j), entry), task))
        ]
        used = list({method.name: method for method, _ in methods}.values())
        return _Benchmark(
            at=at,
            tiers=self.tiers(bench.get("tiers"), default_tiers),
            task=task,
            sizes=[s for s in sizes if s],
            problems=problems,
            seeds=self.seeds(bench.get("seed"), seeds),
            repetitions=self.repetitions(bench.get("repetitions"), repetitions),
            methods=methods,
            backends=backends,
            dtypes=dtypes,
            rules=self.rules([at], [task], used),
        )

    def method_entry(self, at: _At, task: Task) -> tuple[Method, _Grid] | None:
        entry = {"name": at.value} if isinstance(at.value, str) else at.value
        if not isinstance(entry, dict):
            return None
        name_path = at.path if isinstance(at.value, str) else (*at.path, "name")
        method = self.lookup(at, "method", entry.get("name"), name_path)
        if method is None:
            return None
        if method.family != task.family:
            self.issue(
                at,
                name_path,
                f"method {method.name!r} is of family {method.family!r}, but task "
                f"{task.name!r} takes methods of family {task.family!r}",
            )
            return None
        if not method.fits(task):  # among its tasks (or the task a training loop takes)
            self.issue(
                at,
                name_path,
                f"method {method.name!r} runs on task(s) {', '.join(sorted(method.tasks))}, "
                f"not on {task.name!r}",
            )
            return None
        at = _At(at.file, at.path, entry)
        return method, self.grid(at, "params", "zip", method.params, f"method {method.name!r}")
