"""The layout docs/ARCHITECTURE.md describes: no import cycle among the host's modules, the
host imports no built-in plugin, and every module of the tree is named in the document."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "harness"
ARCHITECTURE = HARNESS.parent / "docs" / "ARCHITECTURE.md"


def module_name(path: Path) -> str:
    parts = path.relative_to(HARNESS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The host modules ``path`` imports when it is imported (module level, not inside a
    function: those run later and cannot form an import cycle)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                found.add(dotted if dotted in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in modules}


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in HARNESS.rglob("*.py")}
    return {name: imports(path, set(paths)) - {name} for name, path in paths.items()}


def test_the_host_has_no_import_cycle():
    edges = graph()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for target in sorted(edges[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(edges):
        visit(name, [])


def test_the_host_imports_no_built_in_plugin():
    for path in HARNESS.rglob("*.py"):
        assert "harness_builtins" not in path.read_text(), path


def test_every_module_is_named_in_the_architecture():
    text = ARCHITECTURE.read_text()
    for path in [*HARNESS.rglob("*.py"), *(HARNESS.parent / "plugins").rglob("*.py")]:
        if path.name != "__init__.py":
            assert path.stem in text, f"{path} is not in docs/ARCHITECTURE.md"
