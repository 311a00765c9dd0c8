"""Running one case in a fresh worker process, with a hard timeout and a memory limit.

Workers are forked from a clean server process (multiprocessing's ``forkserver``, which has
imported the harness and the array libraries but never computed or touched a GPU), so a new
process per case is cheap and safe with OpenMP and CUDA. The worker rebuilds the registry
from the installed entry points, measures the case (``harness.run.execute``) and sends the
result back through a pipe. The parent waits, and:

- kills a worker still running at the case's timeout: status ``timeout``;
- kills a worker whose resident memory passes the memory limit: status ``crashed``;
- records a worker that dies without a result (segfault, ``os._exit``, the OOM killer) as
  ``crashed``, with the signal or exit status.

The run goes on with the next case in every one of these events. A worker whose harness
process has gone (killed mid-run) ends itself: it watches a lifeline pipe.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import pickle
import signal
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any

from harness.model.task import Problem
from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry
from harness.run.case import Case, CaseResult, RunOptions, Status
from harness.run.execute import execute

MEMORY_POLL_SECONDS = 0.02
_context: Any = None


def start_workers(preload: list[str]) -> Any:
    """The multiprocessing context for workers, its server importing ``preload`` first (the
    plugin modules and array libraries a run needs, so that each worker starts warm). Only
    the first call in a process starts the server; later calls return the same context."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["harness.run.execute", *preload])
        else:  # no fork on this platform: a fresh interpreter per case
            _context = multiprocessing.get_context("spawn")
    return _context


def _work(
    conn: Connection,
    lifeline: Connection,
    case: Case,
    params: dict,
    problem: Problem,
    options: RunOptions,
    extra: list[tuple[str, str]],
) -> None:
    """Worker process body: measure the case, send the result."""
    _exit_when_cut(lifeline)
    try:
        plugins = [(name, importlib.import_module(module)) for name, module in extra]
        result = execute(case, params, problem, Registry.load(extra=plugins), options)
    except BaseException as exc:  # even KeyboardInterrupt and SystemExit go back as a result
        result = CaseResult(case, Status.ERROR, describe_exception(exc), params)
    try:
        payload = pickle.dumps(result)
    except Exception as exc:  # e.g. a metric of a type pickle cannot carry
        payload = pickle.dumps(
            CaseResult(
                case, Status.ERROR, f"result not transferable: {describe_exception(exc)}", params
            )
        )
    conn.send_bytes(payload)
    conn.close()


def _exit_when_cut(lifeline: Connection) -> None:
    """Watch the lifeline: the harness holds its only write end and never writes, so a read
    returns only when the harness process has ended (even killed), and the worker then ends
    too, rather than hold a core or a GPU for nobody. A blocked thread: no wake-ups."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv_bytes()
        os._exit(70)

    threading.Thread(target=watch, daemon=True, name="harness lifeline").start()


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"worker died from {signal.Signals(-exitcode).name}"
        except ValueError:  # a signal the enum does not name (real-time signals)
            return f"worker died from signal {-exitcode}"
    return f"worker exited with status {exitcode} without a result"


def run_in_worker(
    case: Case,
    params: dict[str, Any],
    problem: Problem,
    registry: Registry,
    options: RunOptions,
) -> CaseResult:
    """Run ``case`` in a fresh process; never raises for anything the worker does."""
    ctx = start_workers([])
    receiver, sender = ctx.Pipe(duplex=False)
    lifeline_end, lifeline = ctx.Pipe(duplex=False)  # we keep the write end, never written
    args = (sender, lifeline_end, case, params, problem, options, registry.extra_modules())
    worker = ctx.Process(target=_work, args=args, daemon=True, name=f"harness case {case.method}")
    try:
        worker.start()  # pickles the arguments here, in this process
    except Exception as exc:
        receiver.close()
        lifeline.close()
        message = f"cannot start a worker: {describe_exception(exc)}"
        return CaseResult(case, Status.ERROR, message, params)
    finally:
        sender.close()
        lifeline_end.close()
    deadline = time.monotonic() + options.timeout
    limit = options.memory_limit_mb * 2**20 if options.memory_limit_mb else None
    try:
        while True:
            # Sleep until the result, the worker's death or the deadline; with a memory limit,
            # wake up regularly to read the worker's resident memory.
            remaining = deadline - time.monotonic()
            wait(
                [receiver, worker.sentinel],
                min(remaining, MEMORY_POLL_SECONDS) if limit else remaining,
            )
            if receiver.poll():
                try:
                    return pickle.loads(receiver.recv_bytes())
                except EOFError:  # died before or while sending
                    worker.join()
                    return CaseResult(case, Status.CRASHED, _death(worker.exitcode), params)
            if not worker.is_alive():
                return CaseResult(case, Status.CRASHED, _death(worker.exitcode), params)
            if limit and _resident_bytes(worker.pid) > limit:
                worker.kill()
                message = (
                    f"killed: resident memory passed the limit of {options.memory_limit_mb} MiB"
                )
                return CaseResult(case, Status.CRASHED, message, params)
            if time.monotonic() >= deadline:
                worker.kill()
                return CaseResult(
                    case, Status.TIMEOUT, f"killed after {options.timeout:g} s", params
                )
    finally:
        if worker.is_alive():
            worker.kill()
        worker.join()
        receiver.close()
        lifeline.close()
