"""Where a run's cases run, as the CLI's options say: this machine (``LocalExecutor``), the
Dask cluster at ``--scheduler ADDRESS``, or a local Dask cluster of ``--cluster local:N``
workers. Dask is optional: it is imported only when a cluster is asked for."""

from __future__ import annotations

import os

from harness.model.backend import probe
from harness.plugins.registry import Registry
from harness.run.executors import Executor, LocalExecutor

LOCAL_WORKERS_PER_CORE = 4
"""``--cluster local:N`` starts at most this many workers per core."""


def parse_cluster(spec: str) -> int:
    """The number of workers in ``--cluster local:N``."""
    kind, _, count = spec.partition(":")
    if kind != "local" or not count.isdigit() or int(count) < 1:
        raise ValueError(f"expected local:N, N workers (e.g. local:4), got {spec!r}")
    most = LOCAL_WORKERS_PER_CORE * (os.cpu_count() or 1)
    if int(count) > most:
        raise ValueError(
            f"{spec}: at most {most} worker processes on this machine "
            f"({LOCAL_WORKERS_PER_CORE} per core; each is a Python process with the plugins loaded)"
        )
    return int(count)


def make_executor(
    registry: Registry, scheduler: str | None = None, cluster: str | None = None
) -> Executor:
    """The executor the CLI's options ask for: a Dask cluster at ``scheduler``
    (``tcp://HOST:8786``), a local Dask cluster (``cluster``: ``local:N``), or this machine."""
    if scheduler is not None and not scheduler.strip():
        raise ValueError("--scheduler needs the scheduler's address, e.g. tcp://HOST:8786")
    if scheduler and cluster:
        raise ValueError("--scheduler and --cluster exclude each other: name one cluster")
    if not scheduler and not cluster:
        return LocalExecutor()
    try:
        from harness.run.dask_executor import DaskExecutor
    except ImportError as exc:
        raise ValueError(
            f"distributed runs need Dask ({exc}): pip install 'linalg-harness[dask]'"
        ) from None
    if scheduler:
        return DaskExecutor.connect(scheduler)
    return DaskExecutor.local(parse_cluster(cluster or ""), gpu=has_gpu(registry))


def has_gpu(registry: Registry) -> bool:
    """Whether a backend on a GPU (a device other than the CPU) can run on this machine."""
    return any(
        backend.device != "cpu" and probe(backend).available
        for backend in registry.entries["backend"].values()
    )
