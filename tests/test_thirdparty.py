"""A third-party plugin installed the way a user would: in a fresh virtual environment.

Builds a new venv (no system site packages), pip-installs linalg-harness and the example
plugin in examples/thirdparty-plugin (both non-editable, without torch), then checks through
the installed ``harness`` command that the plugin is discovered by entry point, that the torch
backends say why they cannot run, that the plugin passes ``harness check-plugin`` (as its own
tests check), and that the plugin's method runs a suite correctly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "thirdparty-plugin"

# Never copied: environments, caches and build outputs anywhere (copying the sources keeps the
# in-tree build's build/ and *.egg-info out of the checkout), and the checkout's own results,
# reports and examples (only at its top: harness/results/ is source).
EVERYWHERE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".asv",
    "build",
    "dist",
    "*.egg-info",
)
AT_THE_TOP = {"results", "reports", "examples"}


def never_copied(folder: str, names: list[str]) -> set[str]:
    """What ``shutil.copytree`` leaves out of the copy of ``folder``."""
    top = Path(folder) in (ROOT, PLUGIN)
    return set(EVERYWHERE(folder, names)) | (AT_THE_TOP & set(names) if top else set())


def _run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run a command; on failure, fail the test with its output."""
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | dict[str, str]]:
    """A fresh venv with linalg-harness and harness-cubic-ns installed from copies."""
    tmp = tmp_path_factory.mktemp("thirdparty")
    host_src = tmp / "src" / "linalg-harness"
    plugin_src = tmp / "src" / "thirdparty-plugin"
    shutil.copytree(ROOT, host_src, ignore=never_copied)
    shutil.copytree(PLUGIN, plugin_src, ignore=never_copied)

    # Nothing from the outer environment may decide what the new venv sees.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HARNESS_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"))
    }
    env_dir = tmp / "venv"
    _run([sys.executable, "-m", "venv", env_dir], cwd=tmp, env=env, timeout=120)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    env["VIRTUAL_ENV"] = str(env_dir)
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    _run(
        [bin_dir / "python", "-m", "pip", "install", "--quiet", host_src, plugin_src],
        cwd=tmp,
        env=env,
        timeout=300,
    )
    return {"tmp": tmp, "bin": bin_dir, "env": env}


@pytest.mark.slow
def test_thirdparty_plugin_in_fresh_venv(venv: dict) -> None:
    tmp: Path = venv["tmp"]
    bin_dir: Path = venv["bin"]
    env: dict[str, str] = venv["env"]

    # The venv's own copies are the ones in use, and torch is not among them.
    where = _run(
        [
            bin_dir / "python",
            "-c",
            "import importlib.util, harness, harness_cubic_ns;"
            "print(harness.__file__); print(harness_cubic_ns.__file__);"
            "print(importlib.util.find_spec('torch') is None)",
        ],
        cwd=tmp,
        env=env,
        timeout=60,
    ).splitlines()
    assert all(Path(p).is_relative_to(tmp / "venv") for p in where[:2]), where
    assert where[2] == "True", "torch must not be installed in the fresh venv"

    # Discovery: the plugin comes from its distribution's entry point.
    info = json.loads(
        _run([bin_dir / "harness", "plugins", "--json"], cwd=tmp, env=env, timeout=60)
    )
    plugins = {p["name"]: p for p in info["plugins"]}
    assert "cubic_ns" in plugins, sorted(plugins)
    cubic = plugins["cubic_ns"]
    assert cubic["distribution"] == "harness-cubic-ns"
    assert cubic["version"] == "0.1.0"
    assert cubic["status"] == "loaded", cubic["errors"]
    assert cubic["errors"] == []
    assert cubic["methods"] == ["cubic_newton_schulz"]
    assert info["conflicts"] == []

    # Without torch the torch backends are still listed, unavailable, saying why.
    backends = {b["name"]: b for p in info["plugins"] for b in p["backends"]}
    for name in ("torch", "torch-cuda"):
        assert name in backends, sorted(backends)
        assert backends[name]["available"] is False
        assert "torch is not installed" in backends[name]["reason"]
    assert backends["numpy"]["available"] is True

    # The plugin passes the conformance checks its own tests run (examples/.../tests).
    report = json.loads(
        _run(
            [bin_dir / "harness", "check-plugin", "harness-cubic-ns", "--json"],
            cwd=tmp,
            env=env,
            timeout=300,
        )
    )
    assert report["failed"] == 0 and report["passed"] > 0, report

    # The plugin's method runs next to a built-in one from the example suite.
    suite = PLUGIN / "suite.yaml"
    db = tmp / "r.sqlite"
    out = json.loads(
        _run(
            [bin_dir / "harness", "run", suite, "--db", db, "--json"], cwd=tmp, env=env, timeout=120
        )
    )
    cases = out["cases"]
    assert db.exists()
    assert {c["method"] for c in cases} == {"cubic_newton_schulz", "svd_polar"}
    cubic_cases = [c for c in cases if c["method"] == "cubic_newton_schulz"]
    assert {c["dtype"] for c in cubic_cases} == {"float32", "float64"}
    for case in cubic_cases:
        assert case["status"] == "ok", case
        assert case["flops"] and case["flops"] > 0, case
        if case["dtype"] == "float64":
            assert case["metrics"]["orthogonality_error"] < 1e-6, case
