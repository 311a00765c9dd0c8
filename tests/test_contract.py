"""The plugin contract: what ``@method`` refuses when it runs, ``supports`` and ``requires``
(unsupported, not error), hooks that return the wrong thing, ``harness describe`` and
``harness plugins --verbose``, and docs/writing-plugins.md naming everything a plugin author
can use."""

from __future__ import annotations

import inspect
import json
import re
import tomllib
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import REPO, run_cli, run_one

from harness import Backend, hookimpl, method, task
from harness.cli import main
from harness.model.sparse import SparseOperator
from harness.plugins.registry import Registry

DOC = (REPO / "docs" / "writing-plugins.md").read_text()


def _polar(G: Any, xp: Any) -> Any:
    U, _, Vh = xp.linalg.svd(G, full_matrices=False)
    return U @ Vh


def _tall_only(G: Any) -> str | None:
    return "needs a tall G" if G.shape[0] < G.shape[1] else None


@method(family="orthogonalizer", supports=_tall_only)
def tall_only(G: Any, *, xp: Any) -> Any:
    """The polar factor, of tall matrices only."""
    return _polar(G, xp)


def _echo(G: Any, *, backend: Any, dtype: str, sizes: dict, params: dict) -> str:
    return f"{backend.name} {dtype} {sizes['m']}x{sizes['n']} steps={params['steps']}"


@method(family="orthogonalizer", supports=_echo)
def echo_refusal(G: Any, *, xp: Any, steps: int = 3) -> Any:
    """Refuses every problem, saying what supports() was given."""
    return G


@method(family="orthogonalizer", supports=lambda G: 1 / 0)
def broken_supports(G: Any, *, xp: Any) -> Any:
    """Its supports() raises."""
    return G


@method(family="orthogonalizer", requires=["harness_no_such_module"])
def needs_missing(G: Any, *, xp: Any) -> Any:
    """Requires a module that is not installed."""
    return G


@method(family="orthogonalizer", requires={"numpy": "pip install numpy", "harness_nope": "ask"})
def needs_one_of_two(G: Any, *, xp: Any) -> Any:
    """Requires numpy (installed) and another module (not)."""
    return G


@method(family="orthogonalizer", requires=["numpy"])
def needs_present(G: Any, *, xp: Any) -> Any:
    """Requires numpy, which is installed."""
    return _polar(G, xp)


def _plugin(name: str, **hooks: Any) -> ModuleType:
    """A plugin module made on the fly, with these hook functions."""
    plugin = ModuleType(name)
    for hook, function in hooks.items():
        setattr(plugin, hook, hookimpl(function))
    return plugin


CONTRACT = _plugin(
    "contract",
    harness_methods=lambda: [
        tall_only,
        echo_refusal,
        broken_supports,
        needs_missing,
        needs_one_of_two,
        needs_present,
    ],
)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load(extra=[("contract", CONTRACT)])


def _orthogonalize(registry: Registry, name: str, m: int = 16, n: int = 8) -> Any:
    return run_one("orthogonalize", name, {"m": m, "n": n}, registry=registry)


# The decorator


def test_generator_without_iterative_is_refused_when_decorated():
    with pytest.raises(TypeError, match=r"'steps' is a generator function.*iterative=True"):

        @method(family="orthogonalizer")
        def steps(G, *, xp):
            yield G


def test_iterative_without_a_generator_is_refused_when_decorated():
    with pytest.raises(TypeError, match="'plain' is declared iterative=True but is not a gen"):

        @method(family="orthogonalizer", iterative=True)
        def plain(G, *, xp):
            return G


def test_supports_asking_for_an_unknown_keyword_is_refused_when_decorated():
    with pytest.raises(TypeError, match="supports\\(\\) asks for 'device'; it may ask for"):

        @method(family="orthogonalizer", supports=lambda G, *, device: None)
        def picky(G, *, xp):
            return G


# supports= and requires=


def test_supports_refusal_is_unsupported_with_its_reason(registry):
    wide = _orthogonalize(registry, "tall_only", m=8, n=16)
    assert (wide.status, wide.message) == ("unsupported", "needs a tall G")
    assert _orthogonalize(registry, "tall_only").status == "ok"


def test_supports_gets_the_keywords_it_asks_for(registry):
    result = _orthogonalize(registry, "echo_refusal")
    assert (result.status, result.message) == ("unsupported", "numpy float64 16x8 steps=3")


def test_supports_that_raises_is_the_case_error(registry):
    result = _orthogonalize(registry, "broken_supports")
    assert result.status == "error"
    assert result.message.startswith("supports() raised ZeroDivisionError")


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        (
            "needs_missing",
            "unsupported",
            "needs_missing needs harness_no_such_module, which is not installed "
            "(pip install harness_no_such_module)",
        ),
        ("needs_one_of_two", "unsupported", "needs harness_nope, which is not installed (ask)"),
        ("needs_present", "ok", None),
    ],
)
def test_requires_missing_is_unsupported_with_the_install_hint(registry, name, status, message):
    result = _orthogonalize(registry, name)
    assert result.status == status
    assert result.message == message or message in result.message


def test_builtins_declare_their_optional_libraries():
    registry = Registry.load()
    assert [m for m, _ in registry.method("amg_cg").requires] == ["pyamg"]
    for name in ("sklearn_randomized_svd", "sklearn_gaussian_projection"):
        assert [m for m, _ in registry.method(name).requires] == ["sklearn"]


def test_unsupported_cases_leave_the_run_exit_status_0(site, tmp_path):
    site.add(
        "harness-contract",
        "contract_plugin",
        """
        from harness import hookimpl

        from harness import method

        @method(family="orthogonalizer", supports=lambda G: "never")
        def refuses(G, *, xp):
            '''Refuses every problem.'''
            return G

        @method(family="orthogonalizer", requires={"harness_nope": "pip install nope"})
        def needs_nope(G, *, xp):
            '''Needs a missing module.'''
            return G

        @hookimpl
        def harness_methods():
            return [refuses, needs_nope]
        """,
        entry_point="contract",
    )
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: s\nbenchmarks:\n  - task: orthogonalize\n    sizes: [[8, 4]]\n"
        "    methods: [refuses, needs_nope]\n    backends: [numpy]\n    dtypes: [float64]\n"
    )
    env = site.env()
    proc = run_cli("run", str(suite), "--db", str(tmp_path / "r.sqlite"), "--inline", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = json.loads(run_cli("plugins", "--json", env=env).stdout)
    contract = next(p for p in listed["plugins"] if p["name"] == "contract")
    assert contract["unsupported_methods"] == {
        "needs_nope": "needs_nope needs harness_nope, which is not installed (pip install nope)"
    }


# Hooks


@pytest.mark.parametrize(
    ("returned", "error"),
    [
        ("abc", "harness_methods returned 'abc', not a list of Method"),
        (None, "harness_methods returned None, not a list of Method"),
        (42, "harness_methods returned 42, not a list of Method"),
    ],
)
def test_a_hook_returning_a_non_list_is_one_error(returned, error):
    plugin = _plugin("odd", harness_methods=lambda: returned)
    registry = Registry.load(extra=[("odd", plugin)])
    record = next(r for r in registry.plugins if r.name == "odd")
    assert (record.status, record.errors) == ("failed", [error])


def test_a_hook_may_return_a_tuple():
    plugin = _plugin("tuple", harness_methods=lambda: (needs_present,))
    registry = Registry.load(extra=[("tuple", plugin)])
    assert registry.method("needs_present") is needs_present


# describe and plugins --verbose


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_describe_shows_a_method_in_full():
    result = _invoke("describe", "newton_schulz")
    assert result.exit_code == 0
    for text in ("method newton_schulz", "family", "orthogonalizer", "orthogonalize", "steps: int"):
        assert text in result.output
    doc = Registry.load().method("newton_schulz").doc
    assert doc.splitlines()[0] in result.output


@pytest.mark.parametrize(
    ("name", "kind", "keys"),
    [
        ("orthogonalize", "task", {"sizes", "example_sizes", "methods", "parameters", "doc"}),
        ("numpy", "backend", {"library", "device", "dtypes", "sparse", "available", "doc"}),
        ("amg_cg", "method", {"family", "tasks", "dtypes", "backends", "requires", "parameters"}),
    ],
)
def test_describe_json_for_each_kind(name, kind, keys):
    result = _invoke("describe", name, "--json")
    assert result.exit_code == 0
    [info] = json.loads(result.output)
    assert info["kind"] == kind and info["name"] == name and keys <= set(info)


def test_describe_unknown_name_is_bad_input_with_close_matches():
    proc = run_cli("describe", "newton_shulz")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: unknown method, task or backend 'newton_shulz'")
    assert "did you mean 'newton_schulz'" in proc.stderr


def test_plugins_verbose_describes_every_method_task_and_backend():
    registry = Registry.load()
    text = _invoke("plugins", "--verbose").output
    assert "method newton_schulz (plugin orthogonalizers)" in text
    assert "parameter" in text and "task orthogonalize" in text and "backend numpy" in text
    info = json.loads(_invoke("plugins", "--json", "--verbose").output)
    assert {m["name"] for m in info["methods"]} == set(registry.methods)
    assert {t["name"] for t in info["tasks"]} == set(registry.tasks)
    assert {b["name"] for b in info["backends"]} == set(registry.backends)
    newton = next(m for m in info["methods"] if m["name"] == "newton_schulz")
    assert newton["family"] == "orthogonalizer" and "orthogonalize" in newton["tasks"]
    steps = next(p for p in newton["parameters"] if p["name"] == "steps")
    assert steps["type"] == "int" and steps["default"] is not None
    assert "methods" not in json.loads(_invoke("plugins", "--json").output)


# The docs name everything a plugin author can use (as datasette tests its hook docs)


def _documented(name: str) -> bool:
    return re.search(rf"`{re.escape(name)}[`(=]", DOC) is not None


@pytest.mark.parametrize("decorator", [method, task], ids=["method", "task"])
def test_every_decorator_argument_is_documented(decorator):
    missing = [p for p in inspect.signature(decorator).parameters if not _documented(p)]
    assert not missing, f"docs/writing-plugins.md does not document {missing}"


@pytest.mark.parametrize(
    ("cls", "base"), [(Backend, object), (SparseOperator, object)], ids=["Backend", "Sparse"]
)
def test_every_public_backend_and_sparse_method_is_documented(cls, base):
    public = [n for n in vars(cls) if not n.startswith("_")]
    missing = [n for n in public if not _documented(n)]
    assert not missing, f"docs/writing-plugins.md does not document {cls.__name__}.{missing}"


def test_the_number_of_builtin_entry_points_is_true():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    count = len(pyproject["project"]["entry-points"]["harness"])
    assert f"declares {count} entry points" in DOC
