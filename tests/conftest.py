"""Shared fixtures: real installed-distribution metadata for test plugins, and a CLI runner."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.plugins.registry import Registry
from harness.run.case import Case, CaseResult, RunOptions
from harness.run.runner import ProblemCache, run_case
from harness.run.timing import TimingOptions

REPO = Path(__file__).resolve().parent.parent
HARNESS = [sys.executable, "-m", "harness"]


class SitePackages:
    """A folder on sys.path holding distributions installed the way pip leaves them:
    a module plus ``NAME-VERSION.dist-info`` with METADATA and entry_points.txt. Discovery
    goes through ``importlib.metadata`` exactly as for a pip-installed plugin."""

    def __init__(self, root: Path):
        self.root = root

    def add(
        self,
        dist: str,
        module: str,
        source: str,
        entry_point: str | None = None,
        version: str = "1.0",
    ) -> None:
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[harness]\n{entry_point or module} = {module}\n")
        importlib.invalidate_caches()

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a subprocess that sees these distributions."""
        path = os.pathsep.join(filter(None, [str(self.root), os.environ.get("PYTHONPATH")]))
        return {**os.environ, "PYTHONPATH": path, **extra}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SitePackages:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return SitePackages(root)


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m harness ARGS`` in a subprocess, as a user would run it."""
    return subprocess.run(
        [*HARNESS, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )


@pytest.fixture(autouse=True, scope="session")
def roofline_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One roofline cache for the whole test session (measured once), outside the user's home."""
    os.environ["HARNESS_CACHE"] = str(tmp_path_factory.mktemp("cache"))


QUICK = RunOptions(TimingOptions(warmup=0, min_time=0, min_samples=2, budget=0), "inline")
"""Run options for correctness tests: inline, no calibration, two samples."""


def run_one(
    task: str,
    method: str,
    sizes: dict[str, int],
    *,
    backend: str = "numpy",
    dtype: str = "float64",
    params: dict | None = None,
    registry: Registry | None = None,
    **problem: object,
) -> CaseResult:
    """One case of ``task`` through the runner (inline, quick timing), as a suite would run it."""
    registry = registry or Registry.load()
    case = Case(task, method, backend, dtype, sizes, problem, params or {}, seed=0)
    return run_case(case, registry, ProblemCache(registry), QUICK)


def run_orthogonalize(
    method: str, backend: str = "numpy", dtype: str = "float64", *, m: int, n: int, **options: Any
) -> CaseResult:
    """One ``orthogonalize`` case on an m×n input (``run_one``'s options and problem params)."""
    return run_one(
        "orthogonalize", method, {"m": m, "n": n}, backend=backend, dtype=dtype, **options
    )


class Tmpfs:
    """A real, small tmpfs mounted at ``path`` (root only): full disks and read-only folders
    as the kernel makes them, for the tests of what the harness does when storage fails."""

    def __init__(self, path: Path, size: str):
        self.path = path
        path.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")

    def remount(self, options: str) -> None:
        """E.g. ``ro``, ``rw`` or ``size=4m``."""
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def tmpfs(tmp_path: Path):
    """A factory of mounted tmpfs folders under ``tmp_path``, unmounted afterwards."""
    mounted: list[Tmpfs] = []

    def mount(name: str = "mnt", size: str = "4m") -> Tmpfs:
        mounted.append(Tmpfs(tmp_path / name, size))
        return mounted[-1]

    yield mount
    for fs in mounted:
        fs.unmount()
