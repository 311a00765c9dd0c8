"""Distributed runs on Dask: one run's cases spread over the workers of a Dask cluster.

The client (the ``harness run`` process) submits the cases; each worker runs its case exactly
as a local run does (``harness.run.executors.CaseRunner``): it loads the registry from the
installed plugins (and the run's extra plugin modules), generates the problem from the seed,
runs the case in a fresh process forked from the worker's own case server
(``harness.run.isolation``: a crash or a timeout ends that case alone; the server, the
registry and the last problem are kept from case to case, as is the calls-per-sample
calibration of each method and size) and stamps the result with its own machine:
fingerprint, roofline (measured there, once per machine), and its address. Results come
back as they finish (``as_completed``) and only the client writes them to the database.

Measurement rules, with Dask worker resources:

- every case needs one ``timing_slot``: a worker times one case at a time, whatever its
  thread count; workers without that resource get no cases;
- a case on a GPU backend (a device other than ``cpu``) needs one ``GPU`` too, so it goes
  only to GPU workers; with no GPU worker in the cluster it is ``unavailable``;
- workers that share a machine hold a machine-wide lock (a file lock in the temporary
  folder) while they run a case, so their timings do not disturb each other, unless the
  suite sets ``concurrent_timing: true``.

The client hands out two cases per timing slot at a time (one running, one waiting on the
worker); the rest wait on the client. When a worker dies (killed, out of memory), the
scheduler gives its cases to other workers. Each case counts, on the scheduler (a Dask
``Variable``), how often it has started on a worker: one that starts a third time has had
two workers die under it and is recorded as ``crashed`` without running again. Dask's own
limit, ``distributed.scheduler.allowed-failures`` (default 3), counts a death against every
case the dying worker held, running or waiting; it must be at least 2, and a case that
passes it is recorded as ``crashed`` too.

``--cluster local:N`` starts a ``LocalCluster`` of N worker processes on this machine;
``--scheduler tcp://HOST:8786`` connects to a running cluster (see docs/distributed.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import logging
import multiprocessing
import os
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dask
from dask.typing import Key
from distributed import (
    Client,
    Future,
    LocalCluster,
    Variable,
    as_completed,
    get_client,
    get_worker,
)
from distributed.scheduler import KilledWorker

from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry
from harness.run.case import Case, CaseResult, RunOptions, Status
from harness.run.executors import CaseRunner, Executor, OnStart, start_case_workers

SLOT = "timing_slot"
GPU = "GPU"
TIMING_LOCK = Path(tempfile.gettempdir()) / f"linalg-harness-timing-{os.getuid()}.lock"
LOCAL_CLUSTER_CONFIG = {
    # Workers start a process per case, which daemonic processes may not do.
    "distributed.worker.daemon": False,
    # Workers keep this process's environment: Dask would set OMP/MKL/OPENBLAS_NUM_THREADS=1.
    "distributed.nanny.pre-spawn-environ": {},
}
SLOTS_REFRESH_SECONDS = 1.0
IN_FLIGHT_PER_SLOT = 2
"""Cases handed out per timing slot: the one running and the next, waiting on the worker, so
that a worker does not idle for a Dask round trip (some 20 ms) between two cases."""
STARTS_BEFORE_CRASHED = 2
"""A case that starts on a worker after this many starts whose workers died is crashed."""
WAIT_FOR_WORKERS_SECONDS = 60.0
CONNECT_SECONDS = 10.0
"""How long ``--scheduler ADDRESS`` tries to reach a scheduler before saying it cannot."""


def on_gpu(registry: Registry, backend: str) -> bool:
    return registry.backend(backend).device != "cpu"


def resources(registry: Registry, case: Case) -> dict[str, int]:
    """The worker resources a case needs: a timing slot, and a GPU for a GPU backend."""
    return {SLOT: 1, **({GPU: 1} if on_gpu(registry, case.backend) else {})}


class DaskExecutor(Executor):
    """The cases on the workers of a Dask cluster (``connect`` or ``local``)."""

    def __init__(
        self,
        client: Client,
        cluster: LocalCluster | None = None,
        config: contextlib.AbstractContextManager[Any] | None = None,
    ):
        self.client = client
        self.cluster = cluster
        self._config = config
        self._slots: tuple[float, int, int] = (0.0, 0, 0)
        try:
            self._check_workers()
        except BaseException:
            self.close()
            raise

    @classmethod
    def connect(cls, address: str, timeout: float = WAIT_FOR_WORKERS_SECONDS) -> DaskExecutor:
        """A running cluster's scheduler, e.g. ``tcp://HOST:8786`` (given up after
        ``CONNECT_SECONDS``); waits up to ``timeout`` for a worker."""
        client = Client(address, timeout=CONNECT_SECONDS)
        try:
            client.wait_for_workers(1, timeout=timeout)
        except BaseException:
            client.close()
            raise
        return cls(client)

    @classmethod
    def local(cls, workers: int, gpu: bool = False) -> DaskExecutor:
        """A ``LocalCluster`` of ``workers`` processes on this machine, one thread and one
        timing slot each (and a ``GPU`` each where ``gpu``: the machine lock keeps their
        timed cases apart)."""
        config = dask.config.set(LOCAL_CLUSTER_CONFIG)  # kept while the cluster lives: the
        # nannies read it again when they restart a worker
        try:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                resources={SLOT: 1, **({GPU: 1} if gpu else {})},
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
        except BaseException:
            config.__exit__(None, None, None)
            raise
        return cls(Client(cluster), cluster, config)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self._config is not None:
            self._config.__exit__(None, None, None)
            self._config = None

    def describe(self) -> dict[str, Any]:
        workers = self.client.scheduler_info()["workers"]
        return {
            "kind": "dask",
            "scheduler": self._scheduler_address(),
            "workers": {
                address: {k: info.get(k) for k in ("host", "nthreads", "resources")}
                for address, info in sorted(workers.items())
            },
        }

    def slots(self) -> tuple[int, int]:
        """The cluster's timing slots, and those on GPU workers (refreshed once a second)."""
        at, total, gpu = self._slots
        if time.monotonic() - at > SLOTS_REFRESH_SECONDS:
            total = gpu = 0
            for info in self.client.scheduler_info()["workers"].values():
                has = info.get("resources", {})
                total += int(has.get(SLOT, 0))
                gpu += min(int(has.get(SLOT, 0)), int(has.get(GPU, 0)))
            self._slots = (time.monotonic(), total, gpu)
        return self._slots[1], self._slots[2]

    def _scheduler_address(self) -> str:
        scheduler = self.client.scheduler
        address = None if scheduler is None else scheduler.address
        if address is None:  # only before a client connects, and ours are connected
            raise RuntimeError("the Dask client is not connected to a scheduler")
        return address

    def _check_workers(self) -> None:
        """Refuse a cluster without a timing slot, or with daemonic workers (which cannot
        start a process per case)."""
        if not self.slots()[0]:
            address = self._scheduler_address()
            raise RuntimeError(
                f"no worker of the Dask cluster at {address} has the {SLOT} resource: "
                f"start workers with `dask worker {address} --nthreads 1 --resources {SLOT}=1`"
            )
        daemonic = sorted(a for a, d in self.client.run(_is_daemonic).items() if d)
        if daemonic:
            raise RuntimeError(
                f"Dask workers {', '.join(daemonic)} are daemonic processes, which cannot "
                "start a process per case: start them with the environment variable "
                "DASK_DISTRIBUTED__WORKER__DAEMON=False"
            )

    def run(
        self,
        cases: Sequence[Case],
        registry: Registry,
        options: RunOptions,
        on_start: OnStart = lambda case: None,
    ) -> Iterator[CaseResult]:
        if not cases:
            return
        extra = registry.extra_modules()
        backends = sorted({case.backend for case in cases})
        token = uuid.uuid4().hex[:8]
        queues: dict[bool, deque[tuple[int, Case]]] = {True: deque(), False: deque()}
        for index, case in enumerate(cases):
            if on_gpu(registry, case.backend) and not self.slots()[1]:
                yield CaseResult(
                    case,
                    Status.UNAVAILABLE,
                    f"no worker of the Dask cluster has the {GPU} resource "
                    f"(start GPU workers with --resources {SLOT}=1,{GPU}=1)",
                )
            else:
                queues[on_gpu(registry, case.backend)].append((index, case))
        running: dict[Future, Case] = {}
        finished = as_completed()
        while queues[True] or queues[False] or running:
            for index, case in self._free_slot_cases(queues, running, registry):
                on_start(case)
                key = f"harness-case-{token}-{index}"
                Variable(_starts_name(key), client=self.client).set(0)
                future = self.client.submit(
                    run_on_worker,
                    case,
                    options,
                    extra,
                    backends,
                    key=key,
                    resources=resources(registry, case),
                    pure=False,
                )
                running[future] = case
                finished.add(future)
            if not running:  # every worker gone for now (restarting): wait for one
                time.sleep(SLOTS_REFRESH_SECONDS)
                continue
            future = next(finished)
            yield _collect(future, running.pop(future))

    def _free_slot_cases(
        self,
        queues: dict[bool, deque[tuple[int, Case]]],
        running: dict[Future, Case],
        registry: Registry,
    ) -> list[tuple[int, Case]]:
        """Pending cases to hand out now, up to ``IN_FLIGHT_PER_SLOT`` per timing slot, GPU
        cases first while GPU slots are free; the others wait here, not on a worker."""
        total, gpu = self.slots()
        free = IN_FLIGHT_PER_SLOT * total - len(running)
        free_gpu = IN_FLIGHT_PER_SLOT * gpu - sum(
            on_gpu(registry, case.backend) for case in running.values()
        )
        taken = []
        while free > 0 and (queues[False] or (queues[True] and free_gpu > 0)):
            gpu_case = bool(queues[True]) and free_gpu > 0
            taken.append(queues[gpu_case].popleft())
            free -= 1
            free_gpu -= gpu_case
        return taken


def _collect(future: Future, case: Case) -> CaseResult:
    """A finished future's result; a worker's death or failure is the case's result. A
    cancelled future (the scheduler gone) raises: the run stops, to be resumed."""
    try:
        return future.result()
    except KilledWorker as exc:
        return CaseResult(
            case,
            Status.CRASHED,
            f"{exc.allowed_failures + 1} Dask workers died while it was assigned to them "
            f"(last: {exc.last_worker.address})",
        )
    except Exception as exc:  # the harness failing on the worker (e.g. a plugin import)
        return CaseResult(case, Status.ERROR, f"on the Dask worker: {describe_exception(exc)}")
    finally:
        Variable(_starts_name(future.key), client=future.client).delete()  # no wait
        future.release()


def _starts_name(key: Key) -> str:
    return f"{key}-starts"


def _count_start(key: Key) -> int:
    """Count one more start of the task ``key`` in its variable on the scheduler (set to 0 by
    the client, and outliving the workers); return how many starts came before this one."""
    starts = Variable(_starts_name(key), client=get_client())
    before = int(starts.get())
    starts.set(before + 1)
    return before


def _is_daemonic() -> bool:
    return multiprocessing.current_process().daemon


@contextlib.contextmanager
def machine_lock() -> Iterator[None]:
    """Held while a case runs: the workers on this machine (of this user) run their cases one
    at a time. The operating system releases it when its holder dies."""
    with open(TIMING_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


_runners: dict[tuple[tuple[str, str], ...], CaseRunner] = {}
"""This worker process's case runner for each set of extra plugin modules."""


def run_on_worker(
    case: Case, options: RunOptions, extra: list[tuple[str, str]], backends: list[str]
) -> CaseResult:
    """The Dask task: one case on this worker, as a local run would run it here; or, when
    workers died under it twice already, its ``crashed`` result."""
    key = tuple(extra)
    if key not in _runners:
        plugins = [(name, importlib.import_module(module)) for name, module in extra]
        _runners[key] = CaseRunner(Registry.load(extra=plugins))
    runner = _runners[key]
    if options.isolation == "process":
        start_case_workers(runner.registry, backends)
    worker = get_worker()
    with contextlib.nullcontext() if options.concurrent_timing else machine_lock():
        died = _count_start(worker.get_current_task())
        if died >= STARTS_BEFORE_CRASHED:
            return CaseResult(
                case, Status.CRASHED, f"the Dask worker running it died, {died} times"
            )
        result = runner.run(case, options)
    result.machine["worker"] = worker.address
    return result
