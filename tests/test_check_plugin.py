"""``harness check-plugin``: the conformance checks pass on the example third-party plugin and
fail, each with its reason, on a plugin broken on purpose (tests/nonconforming_plugin.py)."""

from __future__ import annotations

import json
from pathlib import Path

import nonconforming_plugin
import pytest
from conftest import REPO, SitePackages, run_cli

from harness.plugins.conformance import Check, check_plugin
from harness.plugins.registry import Registry

EXAMPLE = REPO / "examples" / "thirdparty-plugin" / "src" / "harness_cubic_ns" / "__init__.py"
RUN = "runs on orthogonalize, numpy, float64"


@pytest.fixture(scope="module")
def broken() -> dict[tuple[str, str, str], Check]:
    registry = Registry.load(extra=[("broken", nonconforming_plugin)])
    return {(c.kind, c.name, c.check): c for c in check_plugin(registry, "broken")}


@pytest.mark.parametrize(
    ("kind", "name", "check", "reason"),
    [
        ("plugin", "broken", "loads and registers", "returned 'not a method', not a named Method"),
        ("backend", "leaky", "dtypes", "unknown dtype name(s) 'float80'"),
        ("backend", "leaky", "round trip float64", "to_numpy gave ndarray of float32"),
        ("backend", "leaky", "timer", "timer().stop() gave -1.0"),
        ("backend", "leaky", "peak memory", "peak_memory_bytes() gave 'a lot'"),
        ("backend", "leaky", "metadata", "not JSON-able"),
        ("task", "unseeded", "sizes named", "distinct identifiers"),
        ("task", "unseeded", "deterministic from the seed", "draw from the rng it is given"),
        ("task", "unseeded", "metrics on the exact answer", "not finite on the perturbed answer"),
        ("method", "raises", RUN, "error: ValueError: broken on purpose"),
        ("method", "single_precision", RUN, "output of dtype float32 in a float64 case"),
        ("method", "scribbles", RUN, "it wrote into its inputs"),
        ("method", "unseeded_noise", RUN, "gave different results"),
        ("method", "no_steps", "yields iterates", "its generator yielded no iterate"),
        ("method", "overcounted", "flops below peak", "above the measured peak"),
        ("method", "undocumented", "documented", "no docstring"),
    ],
)
def test_each_break_fails_its_check_with_the_reason(broken, kind, name, check, reason):
    result = broken[(kind, name, check)]
    assert result.status == "fail"
    assert reason in result.reason


def test_a_declared_unsupported_case_is_no_failure(broken):
    rows = [c for (kind, name, _), c in broken.items() if name == "needs_missing"]
    assert rows and all(c.status in ("pass", "skip") for c in rows)
    run = broken[("method", "needs_missing", RUN)]
    assert "needs harness_no_such_module, which is not installed" in run.reason
    assert "pip install harness_no_such_module" in run.reason


def test_builtin_plugins_pass():
    registry = Registry.load()
    checks = [
        c for name in ("numpy", "torch", "least_squares") for c in check_plugin(registry, name)
    ]
    assert {c.status for c in checks} <= {"pass", "skip"}, [c for c in checks if c.status == "fail"]


def _example(site: SitePackages) -> dict[str, str]:
    site.add("harness-cubic-ns", "harness_cubic_ns", EXAMPLE.read_text(), entry_point="cubic_ns")
    return site.env()


def test_cli_passes_on_the_example_plugin_by_distribution_name(site):
    proc = run_cli("check-plugin", "harness-cubic-ns", "--json", env=_example(site))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["failed"] == 0 and report["passed"] > 0
    rows = {(c["name"], c["check"]): c for c in report["checks"]}
    assert rows[("cubic_newton_schulz", RUN)]["status"] == "pass"
    assert rows[("cubic_newton_schulz", "flops below peak")]["status"] == "pass"
    assert rows[("cubic_ns", "loads and registers")]["status"] == "pass"


def test_cli_fails_on_the_broken_plugin_with_a_table_of_reasons(site):
    source = Path(nonconforming_plugin.__file__).read_text()
    site.add("harness-broken", "broken_copy", source, entry_point="broken")
    proc = run_cli("check-plugin", "broken", env=site.env())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for text in ("harness check-plugin broken", "broken on purpose", "fail", "failed"):
        assert text in proc.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("orthogonalizer", "unknown plugin 'orthogonalizer'; did you mean 'orthogonalizers'"),
        ("zzz-nothing", "unknown plugin 'zzz-nothing'"),
    ],
)
def test_cli_unknown_name_is_bad_input(name, message):
    proc = run_cli("check-plugin", name)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and message in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_plugin_that_fails_to_import_or_is_blocked_fails_to_load(site, monkeypatch):
    site.add("harness-unimportable", "unimportable", "import harness_no_such_module\n")
    site.add("harness-blocked", "blocked_plugin", "")
    monkeypatch.setenv("HARNESS_BLOCK_PLUGINS", "blocked_plugin")
    registry = Registry.load()
    [unimportable] = check_plugin(registry, "harness-unimportable")[:1]
    assert unimportable.status == "fail"
    assert "import failed: ModuleNotFoundError" in unimportable.reason
    [blocked] = check_plugin(registry, "blocked_plugin")[:1]
    assert (blocked.status, blocked.reason) == ("fail", "blocked by HARNESS_BLOCK_PLUGINS")
