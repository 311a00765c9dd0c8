"""Include and exclude rules: which of a suite's expanded cases run.

A rule is a mapping of conditions and matches a case when every condition holds:

- ``task``, ``method``, ``backend``, ``dtype``: a name, or a list of names (any of);
- ``params``: method parameter -> value, or a list of values (any of); the method's
  defaults count, so ``{steps: 5}`` matches a Newton-Schulz case that leaves ``steps`` at 5;
- ``problem``: task parameter -> value or list of values, likewise;
- ``size_above``: an integer N (the case's largest dimension exceeds N), or a mapping
  dimension -> N (each dimension named exceeds its N).

Rules come in levels: the top of a suite file (applying to every benchmark of the suite,
inherited ones included) and a benchmark. A case runs when, at every level that has
``include`` rules, it matches at least one of them, and it matches no ``exclude`` rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.model.backend import DTYPES
from harness.model.method import Method
from harness.model.params import Param
from harness.model.task import Task
from harness.names import did_you_mean
from harness.plugins.registry import DuplicateNameError, Registry, UnknownNameError
from harness.run.case import Case
from harness.suite.schema import Path_, listed
from harness.suite.values import nonfinite

NAME_FIELDS = ("task", "method", "backend", "dtype")

Report = Callable[[Path_, str], None]
"""Where a rule's problems go: (path of the field, message)."""


@dataclass(frozen=True)
class Rule:
    """One include or exclude rule, its values checked and typed."""

    names: dict[str, frozenset[str]] = field(default_factory=dict)
    params: dict[str, list[Any]] = field(default_factory=dict)
    problem: dict[str, list[Any]] = field(default_factory=dict)
    size_above: int | dict[str, int] | None = None

    def matches(self, case: Case, params: dict[str, Any], problem: dict[str, Any]) -> bool:
        """Whether ``case`` (with its method's and task's ``params`` and ``problem``,
        defaults included) meets every condition."""
        if any(getattr(case, name) not in allowed for name, allowed in self.names.items()):
            return False
        for values, given in ((params, self.params), (problem, self.problem)):
            if any(
                name not in values or values[name] not in allowed for name, allowed in given.items()
            ):
                return False
        if isinstance(self.size_above, int):
            return max(case.sizes.values()) > self.size_above
        if isinstance(self.size_above, dict):
            return all(case.sizes.get(dim, 0) > bound for dim, bound in self.size_above.items())
        return True


@dataclass
class Rules:
    """The rules of one level (the top of a suite file, or one benchmark)."""

    include: list[Rule] = field(default_factory=list)
    exclude: list[Rule] = field(default_factory=list)


def keeps(levels: Iterable[Rules], case: Case, method: Method, task: Task) -> bool:
    """Whether ``case`` runs under the rules of ``levels`` (see the module docstring)."""
    params = {p.name: p.default for p in method.params} | case.params
    problem = {p.name: p.default for p in task.params} | case.problem
    levels = list(levels)
    return all(
        not level.include or any(rule.matches(case, params, problem) for rule in level.include)
        for level in levels
    ) and not any(rule.matches(case, params, problem) for level in levels for rule in level.exclude)


def _names(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _typed(
    given: dict[str, Any], params: list[Param], path: Path_, owners: str, report: Report
) -> dict[str, list[Any]]:
    """``given``'s values typed by the first of ``params`` of each name (any of a list)."""
    known: dict[str, Param] = {}
    for param in params:
        known.setdefault(param.name, param)
    typed = {}
    for name, value in given.items():
        if name not in known:
            report(
                (*path, name),
                f"no {owners} has a parameter {name!r}{did_you_mean(name, known, n=2)}",
            )
            continue
        values = []
        for v in listed(value, known[name]):
            try:
                typed_value = known[name].coerce(v)
            except ValueError as exc:
                report((*path, name), str(exc))
                continue
            if (problem := nonfinite(typed_value, known[name])) is not None:
                report((*path, name), problem)
            values.append(typed_value)
        typed[name] = values
    return typed


def read_rule(
    value: Any,
    path: Path_,
    registry: Registry,
    tasks: list[Task],
    methods: list[Method],
    report: Report,
) -> Rule | None:
    """The rule a suite gives at ``path``, checked against the registry; ``tasks`` and
    ``methods`` are those of the benchmarks it applies to. ``None`` if the schema refused it."""
    if not isinstance(value, dict):
        return None
    names: dict[str, frozenset[str]] = {}
    for name in NAME_FIELDS:
        if not isinstance(value.get(name), str | list):
            continue
        entries = _names(value[name])
        for j, entry in enumerate(entries):
            where = (*path, name, j) if isinstance(value[name], list) else (*path, name)
            if not isinstance(entry, str):
                continue
            if name == "dtype":
                if entry not in DTYPES:
                    report(where, str(UnknownNameError("dtype", entry, DTYPES)))
                continue
            try:
                registry.get(name, entry)
            except (UnknownNameError, DuplicateNameError) as exc:
                report(where, str(exc))
        names[name] = frozenset(e for e in entries if isinstance(e, str))
    if "method" in names:
        methods = [registry.methods[m] for m in sorted(names["method"]) if m in registry.methods]
    if "task" in names:
        tasks = [registry.tasks[t] for t in sorted(names["task"]) if t in registry.tasks]
    if ("method" in names and not methods) or ("task" in names and not tasks):
        return Rule(names)  # an unknown name, reported above: nothing to type the rest by
    typed: dict[str, dict[str, Any]] = {"params": {}, "problem": {}}
    for key, kind, owners in (("params", "method", methods), ("problem", "task", tasks)):
        if isinstance(value.get(key), dict):
            typed[key] = _typed(
                value[key],
                [p for owner in owners for p in owner.params],
                (*path, key),
                f"{kind} " + " or ".join(repr(o.name) for o in owners) if owners else kind,
                report,
            )
    size_above = value.get("size_above")
    if isinstance(size_above, dict):
        dims = list(dict.fromkeys(d for t in tasks for d in t.size_names))
        for dim in size_above:
            if dim not in dims:
                report(
                    (*path, "size_above", dim),
                    f"no dimension {dim!r}{did_you_mean(dim, dims, n=2)} "
                    f"(dimensions: {', '.join(dims)})",
                )
    elif not isinstance(size_above, int) or isinstance(size_above, bool):
        size_above = None
    return Rule(names, typed["params"], typed["problem"], size_above)
