"""Run metadata: what produced a run, so that its numbers can be read later.

Project commit and dirty flag, Python and OS, CPU model, cores and memory, the environment
variables that change timings, every plugin's distribution and version, and each backend's
own metadata (library versions, BLAS vendor and kernel, threads, GPU, driver, CUDA), and what
each task of the run declares of its metrics (its main metric and which are higher-is-better),
which the report and ``harness compare`` read, since they never load the plugins.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness import __version__
from harness.model.backend import probe
from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry

TIMING_ENV_PREFIXES = (
    "OMP_",
    "MKL_",
    "OPENBLAS_",
    "CUDA_",
    "GOTO_",
    "BLIS_",
    "VECLIB_",
    "HARNESS_",
)


def git_state(folder: Path) -> dict[str, Any]:
    """Commit and dirty flag of the git checkout holding ``folder``, if it is one."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def task_declarations(registry: Registry, tasks: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``Task.metric_declaration()`` of each named task the registry has, by name, sorted."""
    declarations = {}
    for name in sorted(set(tasks)):
        try:
            declarations[name] = registry.task(name).metric_declaration()
        except LookupError:  # not here (a plan naming a task this installation lacks)
            continue
    return declarations


def collect(registry: Registry, backends: list[str], tasks: Iterable[str] = ()) -> dict[str, Any]:
    """Metadata of this machine, of the named (available) backends and of the named tasks'
    metrics (``"tasks": {name: Task.metric_declaration()}``)."""
    backend_meta: dict[str, Any] = {}
    for name in backends:
        backend = registry.backend(name)
        if probe(backend).available:
            try:
                backend_meta[name] = backend.metadata()
            except Exception as exc:  # a plugin's metadata failing must not stop the run
                backend_meta[name] = {"error": describe_exception(exc)}
    return {
        "harness_version": __version__,
        "project": git_state(Path(__file__).resolve().parent),
        "python": sys.version,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "environment": {
            k: v for k, v in sorted(os.environ.items()) if k.startswith(TIMING_ENV_PREFIXES)
        },
        "plugins": [
            {
                "name": p.name,
                "distribution": p.distribution,
                "version": p.version,
                "status": p.status,
            }
            for p in registry.plugins
        ],
        "backends": backend_meta,
        "tasks": task_declarations(registry, tasks),
    }
