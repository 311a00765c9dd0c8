"""Suite files: reading one (safe YAML loader only, keeping the line of every key and item),
following its ``extends:`` chain, and collecting the problems found in any of them, each
reported as ``file:line: field: message``.

``extends: VALUE`` names the parent: a VALUE ending in ``.yaml`` or ``.yml`` is a path
relative to the extending file's folder; any other VALUE is the name of a shipped suite
(``suites/VALUE.yaml``, installed as ``harness.suites``). A file that extends one of its own
descendants is an error at its ``extends:`` line, as is a parent that cannot be read; a
parent's own problems are reported at the parent's file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from harness.registry import UnknownNameError
from harness.suite_schema import Path_, schema_issues

SUFFIXES = (".yaml", ".yml")


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
        self.issues = sorted(issues, key=lambda issue: (issue.file, issue.line))
        super().__init__("\n".join(map(str, self.issues)))


def field_name(path: Path_) -> str:
    """``benchmarks[0].methods[1].params`` for a path; ``(top)`` for the whole file."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


@dataclass
class SuiteFile:
    """One parsed suite file: its text, the YAML document, and the line of every key and item."""

    path: str
    text: str
    data: Any
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int:
        """The line of ``path``, or of its closest ancestor that has one."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def shipped_suites() -> list[str]:
    """The names of the suites shipped with the harness."""
    return sorted(
        p.name.removesuffix(".yaml")
        for p in resources.files("harness.suites").iterdir()
        if p.name.endswith(".yaml")
    )


def resolve(name_or_path: str) -> Path:
    """A suite file: a path, or the name of a suite shipped with the harness (``smoke``)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix in SUFFIXES:
        return path
    shipped = resources.files("harness.suites") / f"{name_or_path}.yaml"
    if shipped.is_file():
        return Path(str(shipped))
    raise UnknownNameError("suite", name_or_path, shipped_suites())


def parent_path(value: str, child: Path) -> Path:
    """The file ``extends: value`` in ``child`` names (see the module docstring)."""
    if value.endswith(SUFFIXES):
        return child.parent / value
    shipped = resources.files("harness.suites") / f"{value}.yaml"
    if shipped.is_file():
        return Path(str(shipped))
    raise UnknownNameError("suite", value, shipped_suites())


def parse(file: str, text: str) -> SuiteFile:
    """The YAML document (safe loader only) with the 1-based line of every key and item."""
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
            line = n.start_mark.line + 1
            issue = SuiteIssue(file, line, field_name(path), "a YAML alias refers to itself")
            raise SuiteError([issue])
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
    return SuiteFile(file, text, data, lines)


def read(path: Path) -> SuiteFile:
    """Read and parse one suite file; ``SuiteError`` if it cannot be read or is not YAML."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        message = getattr(exc, "strerror", None) or str(exc)
        raise SuiteError([SuiteIssue(str(path), 0, "(file)", message)]) from None
    return parse(str(path), text)


@dataclass
class Issues:
    """The problems found so far in a suite and the files it extends.

    The schema's generic message for a field (``must be an integer``) gives way to the
    registry-aware one for the same field or one that contains it (``a size is 2 positive
    integers (m, n)``), so each problem is reported once, in the most precise words.
    """

    schema: list[tuple[SuiteFile, Path_, str]] = field(default_factory=list)
    checks: list[tuple[SuiteFile, Path_, str]] = field(default_factory=list)
    other: list[SuiteIssue] = field(default_factory=list)

    def add(self, file: SuiteFile, path: Path_, message: str) -> None:
        """A problem found by checking against the registry (or the chain of files)."""
        self.checks.append((file, path, message))

    def add_schema(self, file: SuiteFile) -> None:
        """Every way ``file`` breaks the JSON Schema."""
        self.schema += [(file, path, message) for path, message in schema_issues(file.data)]

    def __bool__(self) -> bool:
        return bool(self.schema or self.checks or self.other)

    def all(self) -> list[SuiteIssue]:
        def superseded(file: SuiteFile, path: Path_) -> bool:
            return any(f is file and p and path[: len(p)] == p for f, p, _ in self.checks)

        found = [(f, p, m) for f, p, m in self.schema if not superseded(f, p)] + self.checks
        issues = [SuiteIssue(f.path, f.line(p), field_name(p), m) for f, p, m in found]
        return list(dict.fromkeys(issues + self.other))


def read_chain(path: Path, issues: Issues) -> list[SuiteFile]:
    """``path``'s file and every file it extends, the furthest ancestor first; the problems
    of each (unreadable, not YAML, against the schema, a cycle) go to ``issues``."""
    chain: list[SuiteFile] = []
    seen: list[Path] = []
    child: SuiteFile | None = None
    while True:
        try:
            file = read(path)
        except SuiteError as exc:
            if child is not None and not path.is_file():
                issues.add(child, ("extends",), f"no suite file {str(path)!r}")
            else:  # the parent's own problems, at the parent's file and line
                issues.other += exc.issues
            break
        issues.add_schema(file)
        chain.insert(0, file)
        seen.append(path.resolve())
        value = file.data.get("extends") if isinstance(file.data, dict) else None
        if not isinstance(value, str) or not value:
            break
        try:
            path = parent_path(value, Path(file.path))
        except UnknownNameError as exc:
            issues.add(file, ("extends",), str(exc))
            break
        if path.resolve() in seen:
            cycle = " -> ".join(f.path for f in reversed(chain))
            issues.add(file, ("extends",), f"extends itself: {cycle} -> {path}")
            break
        child = file
    return chain
