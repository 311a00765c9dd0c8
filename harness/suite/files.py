"""Suite files: reading one (safe YAML loader only, keeping the line of every key and item),
following its ``extends:`` chain, and collecting the problems found in any of them, each
reported as ``file:line: field: message``.

``extends: VALUE`` names the parent: a VALUE ending in ``.yaml`` or ``.yml`` is a path
relative to the extending file's folder; any other VALUE is the name of a shipped suite
(``suites/VALUE.yaml``, installed as ``harness.suites``). A file that extends one of its own
descendants is an error at its ``extends:`` line, as is a parent that cannot be read; a
parent's own problems are reported at the parent's file and line.

Reading is bounded: a file of at most ``MAX_BYTES`` of UTF-8 text, whose composed YAML is
walked (``check_nodes``) before any Python value is built, so that an alias bomb or a deep
nesting ends at once with an issue at its line. The walk also reports a key given twice in
a mapping (YAML would silently keep the last) and text ``harness.suite.values`` refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from harness.plugins.registry import UnknownNameError
from harness.suite.schema import Path_, schema_issues
from harness.suite.values import MULTILINE, character, unsafe_text

SUFFIXES = (".yaml", ".yml")
MAX_BYTES = 2**18
"""The largest suite file read (the shipped ones are a few KB; reading YAML in Python takes
about a second per 100 KB)."""
MAX_NODES = 100_000
"""The most values (mappings, lists, scalars) a file may expand to, YAML aliases included."""
MAX_DEPTH = 64
"""The deepest nesting of mappings and lists a file may have (a suite needs about 8)."""
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels: not a suite"
TOO_MANY = f"expands to more than {MAX_NODES} values (YAML aliases included): not a suite"
MERGE_TAG = "tag:yaml.org,2002:merge"


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
    issues: list[SuiteIssue] = field(default_factory=list)
    """Problems that did not stop the reading: keys given twice, unsafe characters."""

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
    try:
        if path.exists() or path.suffix in SUFFIXES:
            return path
    except OSError as exc:  # a name too long
        issue = SuiteIssue(name_or_path[:80], 0, "(file)", exc.strerror or str(exc))
        raise SuiteError([issue]) from None
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


def _children(node: yaml.Node) -> list[tuple[Any, yaml.Node]]:
    """A node's children, each with the part it adds to the path: a mapping's keys and
    values (a key that is not a scalar is ``(key)``), a sequence's items."""
    if isinstance(node, yaml.MappingNode):
        return [
            (key.value if isinstance(key, yaml.ScalarNode) else "(key)", child)
            for key, value in node.value
            for child in (key, value)
        ]
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    return []


def _own_issues(file: str, node: yaml.Node, path: Path_) -> list[SuiteIssue]:
    """A node's problems that do not stop the reading: a key given twice in a mapping, a
    string that holds what ``values.unsafe_text`` refuses."""
    issues = []
    if isinstance(node, yaml.ScalarNode):
        allowed = MULTILINE if path == ("description",) else ""
        if (problem := unsafe_text(node.value, allowed)) is not None:
            issues.append(SuiteIssue(file, node.start_mark.line + 1, field_name(path), problem))
    elif isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}  # a key (tag, text) -> the line it is on
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE_TAG:
                continue
            line = key.start_mark.line + 1
            if (key.tag, key.value) not in first:
                first[key.tag, key.value] = line
                continue
            issues.append(
                SuiteIssue(
                    file,
                    line,
                    field_name((*path, key.value)),
                    f"key {key.value!r} is given twice, on lines {first[key.tag, key.value]} "
                    f"and {line} (YAML would keep only the last)",
                )
            )
    return issues


@dataclass
class _Frame:
    """A node ``check_nodes`` is walking: the children left, and what it has found below."""

    node: yaml.Node
    path: Path_
    children: Iterator[tuple[Any, yaml.Node]]
    size: int = 1
    """Values it expands to so far, itself included."""
    depth: int = 1
    """Levels of nesting below it so far, itself included."""


def check_nodes(file: str, root: yaml.Node) -> list[SuiteIssue]:
    """Walk the composed document before any Python object is built (iteratively, each node
    once, however many aliases refer to it) and return the problems of its nodes
    (``_own_issues``). Raise ``SuiteError`` for what would not end, or would end only after
    minutes and gigabytes: an alias to one of its own ancestors, a document that expands
    (through aliases) to more than ``MAX_NODES`` values, or one nested deeper than
    ``MAX_DEPTH`` levels."""
    issues: list[SuiteIssue] = []
    done: dict[int, tuple[int, int]] = {}  # id -> (size, depth) of a node walked already

    def enter(node: yaml.Node, path: Path_) -> _Frame:
        issues.extend(_own_issues(file, node, path))
        return _Frame(node, path, iter(_children(node)))

    def stop(node: yaml.Node, path: Path_, message: str) -> SuiteError:
        return SuiteError([SuiteIssue(file, node.start_mark.line + 1, field_name(path), message)])

    stack = [enter(root, ())]
    while True:
        frame = stack[-1]
        part, child = next(frame.children, (None, None))
        if child is None:
            stack.pop()
            done[id(frame.node)] = (frame.size, frame.depth)
            if not stack:
                return issues
            size, depth, frame = frame.size, frame.depth, stack[-1]
        elif id(child) in done:
            size, depth = done[id(child)]
        elif any(f.node is child for f in stack):
            raise stop(child, (*frame.path, part), "a YAML alias refers to itself")
        elif len(stack) == MAX_DEPTH:
            raise stop(child, (*frame.path, part), TOO_DEEP)
        else:
            stack.append(enter(child, (*frame.path, part)))
            continue
        frame.size += size
        frame.depth = max(frame.depth, depth + 1)
        if frame.size > MAX_NODES:
            raise stop(frame.node, frame.path, TOO_MANY)
        if len(stack) - 1 + frame.depth > MAX_DEPTH:
            raise stop(frame.node, frame.path, TOO_DEEP)


def _yaml_issue(file: str, text: str, exc: yaml.YAMLError) -> SuiteIssue:
    """A YAML error as a suite issue, at its line."""
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        return SuiteIssue(file, line, "(yaml)", f"not valid YAML: {character(chr(exc.character))}")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return SuiteIssue(file, mark.line + 1 if mark else 0, "(yaml)", f"not valid YAML: {problem}")


def parse(file: str, text: str) -> SuiteFile:
    """The YAML document (safe loader only) with the 1-based line of every key and item,
    read within the limits of ``check_nodes``."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # reads (and checks) the first characters already
        try:
            node = loader.get_single_node()
        except RecursionError:  # the composer recurses once per level
            line = loader.get_mark().line + 1
            raise SuiteError([SuiteIssue(file, line, "(yaml)", TOO_DEEP)]) from None
        issues = check_nodes(file, node) if node is not None else []
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise SuiteError([_yaml_issue(file, text, exc)]) from None
    except ValueError as exc:  # a value YAML parses but Python refuses (a 5000-digit integer)
        issue = SuiteIssue(file, 0, "(yaml)", f"a value cannot be read: {exc}")
        raise SuiteError([issue]) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Path_, int] = {}

    def walk(n: yaml.Node, path: Path_) -> None:  # check_nodes bounded the depth and size
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                lines[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if node is not None:
        lines[()] = node.start_mark.line + 1
        walk(node, ())
    return SuiteFile(file, text, data, lines, issues)


def read(path: Path) -> SuiteFile:
    """Read and parse one suite file; ``SuiteError`` if it cannot be read, is a folder, is
    larger than ``MAX_BYTES``, is not UTF-8 text or not YAML."""

    def refuse(message: str) -> SuiteError:
        return SuiteError([SuiteIssue(str(path), 0, "(file)", message)])

    try:
        if path.is_dir():
            raise refuse("is a folder, not a suite file")
        if path.exists() and not path.is_file():  # a pipe or a device may block for ever
            raise refuse("is not a regular file")
    except OSError as exc:  # a name too long
        raise refuse(exc.strerror or str(exc)) from None
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)  # a device or a pipe may never end
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    if len(raw) > MAX_BYTES:
        raise refuse(f"larger than {MAX_BYTES // 2**10} KiB: not a suite file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(
            f"not a text file: byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8"
        ) from None
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


def _exists(path: Path) -> bool:
    """Whether anything is at ``path`` (False for a name the system refuses, too long)."""
    try:
        return path.exists()
    except OSError:
        return False


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
            if child is not None and not _exists(path):
                issues.add(child, ("extends",), f"no suite file {str(path)!r}")
            else:  # the parent's own problems, at the parent's file and line
                issues.other += exc.issues
            break
        issues.other += file.issues
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
