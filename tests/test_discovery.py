"""Plugin discovery through real entry points: failures are reported and isolated."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from harness.plugins.registry import DuplicateNameError, Registry

METHOD_PLUGIN = """
from harness import hookimpl

from harness import method

@method(family="orthogonalizer")
def {name}(G, *, xp):
    return G

@hookimpl
def harness_methods():
    return [{name}]
"""


def records(registry: Registry) -> dict:
    return {r.name: r for r in registry.plugins}


def test_builtins_are_found_through_the_entry_point_group():
    registry = Registry.load()
    found = records(registry)
    for name in ("numpy", "torch", "cupy", "orthogonalizers", "orthogonalize"):
        assert found[name].distribution == "linalg-harness"
        assert found[name].status == "loaded"
    assert {"numpy", "torch", "torch-cuda", "cupy"} <= set(registry.backends)
    assert {"newton_schulz", "svd_polar"} <= set(registry.methods)
    assert "orthogonalize" in registry.tasks


def test_plugin_that_fails_to_import_is_reported_and_skipped(site):
    site.add("broken-plugin", "broken_plugin", "import not_a_module_anywhere\n", version="2.3")
    registry = Registry.load()
    broken = records(registry)["broken_plugin"]
    assert broken.status == "failed"
    assert (broken.distribution, broken.version) == ("broken-plugin", "2.3")
    assert "ModuleNotFoundError" in broken.errors[0] and "not_a_module_anywhere" in broken.errors[0]
    assert "numpy" in registry.backends  # the others still load


def test_hook_that_raises_is_reported_and_other_hooks_still_register(site):
    site.add(
        "raising-plugin",
        "raising_plugin",
        """
        from harness import hookimpl

        from harness import method

        @method(family="orthogonalizer")
        def fine(G, *, xp):
            return G

        @hookimpl
        def harness_methods():
            return [fine]

        @hookimpl
        def harness_tasks():
            raise RuntimeError("task table is corrupt")
    """,
    )
    registry = Registry.load()
    record = records(registry)["raising_plugin"]
    assert record.status == "failed"
    assert "harness_tasks raised RuntimeError: task table is corrupt" in record.errors[0]
    assert "fine" in registry.methods
    assert "orthogonalize" in registry.tasks


def test_hook_returning_the_wrong_objects_is_reported(site):
    site.add(
        "wrong-plugin",
        "wrong_plugin",
        """
        from harness import hookimpl

        @hookimpl
        def harness_methods():
            return ["not a method"]
    """,
    )
    record = records(Registry.load())["wrong_plugin"]
    assert record.status == "failed"
    assert "not a named Method" in record.errors[0]


def test_two_plugins_with_one_method_name_is_an_error_naming_both(site):
    site.add("first-dist", "first_plugin", METHOD_PLUGIN.format(name="twin"), version="1.1")
    site.add("second-dist", "second_plugin", METHOD_PLUGIN.format(name="twin"), version="2.2")
    registry = Registry.load()
    with pytest.raises(DuplicateNameError) as err:
        registry.method("twin")
    assert "first-dist 1.1" in str(err.value) and "second-dist 2.2" in str(err.value)
    assert "newton_schulz" in registry.methods  # the rest of the registry still works


def test_block_env_var_skips_named_plugins(monkeypatch):
    monkeypatch.setenv("HARNESS_BLOCK_PLUGINS", "cupy, orthogonalizers")
    registry = Registry.load()
    found = records(registry)
    assert found["cupy"].status == found["orthogonalizers"].status == "blocked"
    assert "cupy" not in registry.backends and "newton_schulz" not in registry.methods
    assert "numpy" in registry.backends


def test_disable_autoload_loads_only_explicit_plugins(monkeypatch):
    import harness_builtins.backends.numpy_backend as numpy_plugin

    monkeypatch.setenv("HARNESS_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry = Registry.load(extra=[("only-numpy", numpy_plugin)])
    assert [r.name for r in registry.plugins] == ["only-numpy"]
    assert list(registry.backends) == ["numpy"]


def test_plugins_command_lists_failures_and_availability_as_json(site):
    site.add("broken-plugin", "broken_plugin", "raise ImportError('needs libfoo')\n")
    result = run_cli("plugins", "--json", env=site.env())
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["broken_plugin"]["status"] == "failed"
    assert "needs libfoo" in plugins["broken_plugin"]["errors"][0]
    backends = {b["name"]: b for p in plugins.values() for b in p["backends"]}
    assert backends["numpy"]["available"] and backends["torch"]["available"]
    assert not backends["cupy"]["available"] and backends["cupy"]["reason"]
    assert {"newton_schulz", "svd_polar"} <= set(plugins["orthogonalizers"]["methods"])


def test_plugins_command_table_shows_reasons(site):
    result = run_cli("plugins", env=site.env())
    assert result.returncode == 0, result.stderr
    assert "linalg-harness" in result.stdout
    assert "unavailable" in result.stdout


def test_misspelt_hook_name_fails_the_plugin_and_says_which_was_meant(site):
    site.add(
        "typo-plugin",
        "typo_plugin",
        METHOD_PLUGIN.format(name="typo").replace("def harness_methods", "def harness_method"),
    )
    registry = Registry.load()
    record = records(registry)["typo_plugin"]
    assert record.status == "failed"
    assert record.errors == ["unknown hook 'harness_method'; did you mean 'harness_methods'?"]
    assert "typo" not in registry.methods


def test_exiting_at_import_and_nameless_objects_fail_only_their_plugin(site):
    site.add("exiting-dist", "exiting_plugin", "raise SystemExit(3)\n")
    site.add(
        "nameless-dist",
        "nameless_plugin",
        """
        from harness import hookimpl
        from harness_builtins.backends.numpy_backend import NumpyBackend

        class Nameless(NumpyBackend):
            name = None

        @hookimpl
        def harness_backends():
            return [Nameless()]
    """,
    )
    registry = Registry.load()
    found = records(registry)
    assert found["exiting_plugin"].status == "failed"
    assert "SystemExit: 3" in found["exiting_plugin"].errors[0]
    assert "not a named Backend" in found["nameless_plugin"].errors[0]
    assert "numpy" in registry.backends
