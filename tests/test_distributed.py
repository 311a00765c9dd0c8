"""Distributed runs on a real Dask cluster of worker processes on loopback (no mocks).

The cluster has two workers: ``cpu`` (a timing slot) and ``fake-gpu`` (a timing slot and a
``GPU`` resource it does not really have, this machine has no GPU). This module is also the
plugin the tests register (workers import it by name): a numpy backend that claims a GPU
device (``numpy-fake-gpu``), and a method that kills the Dask worker running it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import psutil  # noqa: E402 - a dependency of distributed
from conftest import run_cli  # noqa: E402
from distributed import Nanny, Scheduler, SpecCluster  # noqa: E402
from harness_builtins.backends.numpy_backend import NumpyBackend  # noqa: E402

from harness import hookimpl, method  # noqa: E402
from harness.plugins.registry import Registry  # noqa: E402
from harness.results.db import ResultsDB  # noqa: E402
from harness.run.case import CaseResult  # noqa: E402
from harness.run.dask_executor import GPU, LOCAL_CLUSTER_CONFIG, SLOT, DaskExecutor  # noqa: E402
from harness.run.executors import LocalExecutor  # noqa: E402
from harness.run.runner import run_suite  # noqa: E402
from harness.suite.loader import Suite, load  # noqa: E402

TIMING = "timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, roofline: false, threads: 1}"


class FakeGPUBackend(NumpyBackend):
    """numpy on the CPU, claiming a GPU device: its cases need a worker with a GPU."""

    name = "numpy-fake-gpu"
    device = "fake-gpu"


@method(family="orthogonalizer")
def kills_its_worker(G, *, xp, marker: str = "", kills: int = 1):
    """Kills the Dask worker running it (the worker starts the fork server, which forks the
    worker's case server, which forks the case process) on its first ``kills`` attempts,
    counted as lines in ``marker``; then returns the polar factor."""
    attempts = Path(marker).read_text().count("\n") if Path(marker).exists() else 0
    if attempts < kills:
        with open(marker, "a") as out:
            out.write(f"{os.getpid()}\n")
        os.kill(psutil.Process().parent().parent().parent().pid, signal.SIGKILL)
        os._exit(0)  # at once: the next call would find another ancestor
    u, _, vh = xp.linalg.svd(G, full_matrices=False)
    return u @ vh


@hookimpl
def harness_backends():
    return [FakeGPUBackend()]


@hookimpl
def harness_methods():
    return [kills_its_worker]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load(extra=[("distributed_test", sys.modules[__name__])])


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    """Two worker processes on loopback, configured as ``DaskExecutor.local`` configures
    its own; the executor connects to them by address, as to a remote cluster."""
    workers = {"cpu": {SLOT: 1}, "fake-gpu": {SLOT: 1, GPU: 1}}
    with (
        dask.config.set(LOCAL_CLUSTER_CONFIG),
        SpecCluster(
            scheduler={"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard": False}},
            workers={
                name: {
                    "cls": Nanny,
                    "options": {"nthreads": 1, "resources": resources, "host": "127.0.0.1"},
                }
                for name, resources in workers.items()
            },
            silence_logs=logging.CRITICAL,
        ) as spec,
        DaskExecutor.connect(spec.scheduler_address) as executor,
    ):
        executor.client.wait_for_workers(2)
        yield executor


def suite(tmp_path: Path, registry: Registry, benchmark: str) -> Suite:
    path = tmp_path / "suite.yaml"
    path.write_text(f"{TIMING}\nbenchmarks:\n  - task: orthogonalize\n{benchmark}")
    return load(str(path), registry)


def worker_names(executor: DaskExecutor) -> dict[str, str]:
    return {a: w["name"] for a, w in executor.client.scheduler_info()["workers"].items()}


def summary(result: CaseResult) -> tuple:
    c = result.case
    return (c.method, c.dtype, tuple(c.sizes.values()), result.status, result.metrics)


def test_a_suite_spread_over_workers_gives_the_local_results(tmp_path, registry, cluster):
    spread = suite(
        tmp_path,
        registry,
        "    sizes: [[16, 32], [24, 24]]\n    methods: [newton_schulz, svd_polar]\n"
        "    backends: [numpy]\n    dtypes: [float64]\n",
    )
    local = list(LocalExecutor().run(spread.cases, registry, spread.options))
    distributed = list(cluster.run(spread.cases, registry, spread.options))
    assert len(distributed) == len(spread.cases) == 4
    assert sorted(map(summary, distributed)) == sorted(map(summary, local))
    assert all(r.status == "ok" for r in distributed)
    names = worker_names(cluster)
    assert {names[r.machine["worker"]] for r in distributed} == {"cpu", "fake-gpu"}
    assert len({r.machine["fingerprint"] for r in distributed}) == 1  # one machine here
    assert all(r.machine["fingerprint"] for r in local)


def test_fake_gpu_cases_go_only_to_the_worker_with_the_gpu_resource(tmp_path, registry, cluster):
    mixed = suite(
        tmp_path,
        registry,
        "    sizes: [[16, 16], [16, 24], [24, 24]]\n    methods: [svd_polar]\n"
        "    backends: [numpy, numpy-fake-gpu]\n    dtypes: [float64]\n",
    )
    results = list(cluster.run(mixed.cases, registry, mixed.options))
    names = worker_names(cluster)
    ran_on = {(r.case.backend, names[r.machine["worker"]]) for r in results}
    assert all(r.status == "ok" for r in results) and len(results) == 6
    assert {worker for backend, worker in ran_on if backend == "numpy-fake-gpu"} == {"fake-gpu"}


def test_fake_gpu_cases_are_unavailable_on_a_local_cluster_without_gpu_workers(tmp_path, registry):
    mixed = suite(
        tmp_path,
        registry,
        "    sizes: [[16, 16]]\n    methods: [svd_polar]\n"
        "    backends: [numpy, numpy-fake-gpu]\n    dtypes: [float64]\n",
    )
    with DaskExecutor.local(1) as executor:
        assert executor.describe()["workers"].popitem()[1]["resources"] == {SLOT: 1}
        results = {r.case.backend: r for r in executor.run(mixed.cases, registry, mixed.options)}
    assert results["numpy"].status == "ok"
    assert results["numpy-fake-gpu"].status == "unavailable"
    assert "no worker of the Dask cluster has the GPU resource" in results["numpy-fake-gpu"].message


@pytest.mark.slow
def test_a_killed_worker_loses_no_result_and_its_case_is_retried_once(tmp_path, registry, cluster):
    once, twice = tmp_path / "once", tmp_path / "twice"
    run = suite(
        tmp_path,
        registry,
        "    sizes: [[16, 16]]\n    backends: [numpy]\n    dtypes: [float64]\n"
        "    methods:\n      - newton_schulz\n      - svd_polar\n"
        f"      - {{name: kills_its_worker, params: {{marker: '{once}', kills: 1}}}}\n"
        f"      - {{name: kills_its_worker, params: {{marker: '{twice}', kills: 2}}}}\n",
    )
    db = ResultsDB(tmp_path / "r.sqlite")
    run_id = run_suite(run, registry, db, executor=cluster)
    stored = db.cases(run_id)
    got = {(c.method, c.params.get("kills")): c for c in stored}
    assert len(stored) == len(got) == 4  # every case stored, once
    assert got[("newton_schulz", None)].status == got[("svd_polar", None)].status == "ok"
    assert got[("kills_its_worker", 1)].status == "ok"  # killed once, then ran elsewhere
    assert len(once.read_text().split()) == 1
    crashed = got[("kills_its_worker", 2)]
    assert crashed.status == "crashed"
    assert crashed.message == "the Dask worker running it died, 2 times"
    assert len(twice.read_text().split()) == 2
    assert db.run(run_id).status == "finished"
    assert got[("svd_polar", None)].machine["worker"].startswith("tcp://127.0.0.1:")


@pytest.mark.slow
def test_harness_run_on_a_local_cluster_stores_every_case_with_its_machine(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"{TIMING}\nbenchmarks:\n  - task: orthogonalize\n    sizes: [[16, 16], [16, 24]]\n"
        "    methods: [svd_polar]\n    backends: [numpy]\n    dtypes: [float64]\n"
    )
    done = run_cli(
        "run", str(path), "--cluster", "local:2", "--db", str(tmp_path / "r.sqlite"), "--json"
    )
    assert done.returncode == 0, done.stderr
    cases = json.loads(done.stdout)["cases"]
    assert [c["status"] for c in cases] == ["ok", "ok"]
    assert all(c["machine"]["worker"] and c["machine"]["fingerprint"] for c in cases)
    run = ResultsDB(tmp_path / "r.sqlite").run(json.loads(done.stdout)["run_id"])
    (executor,) = run.metadata["executors"]  # where the run's cases ran
    assert executor["kind"] == "dask" and len(executor["workers"]) == 2
    refused = run_cli("run", str(path), "--cluster", "remote:2", "--db", str(tmp_path / "r"))
    assert refused.returncode == 2 and "expected local:N" in refused.stderr
