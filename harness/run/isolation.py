"""Running one case in a fresh process, with a hard timeout and a memory limit, cheaply.

A run keeps one warm **case server** per set of plugins: a process started once from
multiprocessing's ``forkserver`` (which has imported the harness, the plugin modules and the
array libraries, and never computed or touched a GPU), that builds the registry once and
receives each problem once (cases sharing a problem are consecutive). For every case the
server ``fork()``s a **case process**, which measures the case (``harness.run.execute``) and
sends its result back; the server passes it on to the harness. The case process is the
isolation: a crash, a timeout or a memory overrun ends it and fails only its case. The parent
(the ``harness run`` process):

- has the server kill a case process still running at the case's timeout: ``timeout``;
- has it killed when its resident memory passes the memory limit: ``crashed``;
- records a case process that dies without a result (segfault, ``os._exit``, the OOM
  killer) as ``crashed``, with the signal or exit status;
- starts a new server when the server itself dies (the case in flight is ``crashed``).

What the case processes share, and why nothing leaks between cases: each is forked from the
same server state (imported modules, the registry, the problem's float64 arrays), which no
case ever changes: a case process's writes go to its own copy-on-write pages and end with
it. The server itself never calls a method, a metric, a BLAS or OpenMP routine or a GPU
(it only unpickles numpy arrays, reads the thread pools' sizes and calls the harness's
statistics once on three numbers, to pay numpy's first-call costs once), so every case
starts from the state a case of the previous design started from (a fresh worker), without
paying for the registry, the problem's transfer and those first calls again. The case
process's timing, peak memory (its resident high-water mark, reset at the start) and thread
pools are its own. The server is shared by every case of a run (and, on a Dask worker, of
the worker's runs); its objects are frozen for the garbage collector (``gc.freeze``) before
each fork, so that a case's collections do not copy the pages holding them.

A case process whose harness process has gone (killed mid-run) ends itself: it watches a
lifeline pipe whose only write end is the harness's; the server ends when its connection to
the harness closes.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from harness.model.task import Problem
from harness.plugins.discovery import describe_exception
from harness.plugins.registry import Registry
from harness.run.case import Case, CaseResult, RunOptions, Status
from harness.run.execute import execute, thread_pools
from harness.run.stats import summarize

MEMORY_POLL_SECONDS = 0.02
KILL_GRACE_SECONDS = 10.0
"""How long the parent waits for the server to report a case process it asked it to kill;
past that the server is taken for stuck, and replaced."""
_context: Any = None


def start_workers(preload: list[str]) -> Any:
    """The multiprocessing context that starts case servers, its forkserver importing
    ``preload`` first (the plugin modules and array libraries a run needs, so that servers,
    and the case processes they fork, start warm). Only the first call in a process starts
    the forkserver; later calls return the same context."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["harness.run.execute", *preload])
        else:  # no fork on this platform: a fresh interpreter starts the server
            _context = multiprocessing.get_context("spawn")
    return _context


# --- in the case server and the case process


def _serve(conn: Connection, lifeline: Connection, extra: list[tuple[str, str]]) -> None:
    """Case server body: build the registry, then answer the parent's messages until it
    closes the connection: ``("problem", Problem)`` is kept for the cases that follow;
    ``("case", case, params, options, number)`` is run in a forked case process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle
    plugins = [(name, importlib.import_module(module)) for name, module in extra]
    registry = Registry.load(extra=plugins)
    thread_pools()  # found once here (reading the pools' sizes starts no thread)
    summarize([1.0, 2.0, 3.0])  # numpy's statistics, first called here (no BLAS, no thread)
    problem: Problem | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the harness has gone
            os._exit(0)
        if message[0] == "problem":
            problem = message[1]
        elif message[0] == "case" and problem is not None:
            _, case, params, options, number = message
            _fork_case(conn, lifeline, registry, problem, (case, params, options, number))


def _fork_case(
    conn: Connection, lifeline: Connection, registry: Registry, problem: Problem, job: tuple
) -> None:
    """Fork a case process for ``job``, report its pid, then its result or its death; kill
    it when the parent asks (timeout, memory limit) or has gone."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    gc.freeze()  # the server's objects: never collected by the case, so never copied for it
    pid = os.fork()
    if pid == 0:  # the case process: never returns
        receiver.close()
        conn.close()
        _run_case_process(sender, lifeline, registry, problem, *job)
    sender.close()  # the case process holds the only write end: EOF when it dies
    conn.send(("started", pid))
    payload: bytes | None = None
    while True:
        if receiver in wait([receiver, conn]):
            with contextlib.suppress(EOFError, OSError):  # EOF: died without a result
                payload = receiver.recv_bytes()
            break
        try:
            conn.recv()  # ("kill",): the only request while a case runs
        except (EOFError, OSError):  # the harness has gone
            os.kill(pid, signal.SIGKILL)
            os._exit(0)
        os.kill(pid, signal.SIGKILL)
    receiver.close()
    if payload is not None:  # passed on at once; the case process ends meanwhile
        conn.send(("result", payload))
    _, status = os.waitpid(pid, 0)  # before the next fork: one case process at a time
    if payload is None:  # the exit status, or −signal, as ``Process.exitcode`` has it
        conn.send(("died", os.waitstatus_to_exitcode(status)))


def _run_case_process(
    sender: Connection,
    lifeline: Connection,
    registry: Registry,
    problem: Problem,
    case: Case,
    params: dict,
    options: RunOptions,
    number: int | None,
) -> None:
    """Case process body: measure the case, send the result, exit (never return)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _exit_when_cut(lifeline)
    try:
        result = execute(case, params, problem, registry, options, number)
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
    try:
        sender.send_bytes(payload)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)


def _exit_when_cut(lifeline: Connection) -> None:
    """Watch the lifeline: the harness holds its only write end and never writes, so a read
    returns only when the harness process has ended (even killed), and the case process then
    ends too, rather than hold a core or a GPU for nobody. A blocked thread: no wake-ups."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv_bytes()
        os._exit(70)

    threading.Thread(target=watch, daemon=True, name="harness lifeline").start()


# --- in the parent


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


class ServerGone(Exception):
    """The case server died, or stopped answering: it is replaced for the next case."""


@dataclass
class _Server:
    process: Any
    conn: Connection
    lifeline: Connection
    """The write end of the case processes' lifeline, never written."""
    problem: Problem | None = None
    """The problem the server holds (sent once; the same object for consecutive cases)."""

    def receive(self, timeout: float | None) -> tuple | None:
        """The server's next message, None at ``timeout``; ``ServerGone`` if it died."""
        if not self.conn.poll(timeout):
            return None
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            raise ServerGone("the case server died") from None

    def close(self) -> None:
        self.conn.close()
        self.lifeline.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


class CaseWorkers:
    """The case server of one set of plugins, started on first use and again whenever it
    dies; ``run`` measures one case in a fresh case process forked from it."""

    def __init__(self, registry: Registry):
        self.extra = registry.extra_modules()
        self.server: _Server | None = None

    def _start(self) -> _Server:
        ctx = start_workers([])
        conn, server_end = ctx.Pipe(duplex=True)
        lifeline_end, lifeline = ctx.Pipe(duplex=False)  # we keep the write end, never written
        process = ctx.Process(
            target=_serve,
            args=(server_end, lifeline_end, self.extra),
            daemon=True,
            name="harness case server",
        )
        try:
            process.start()
        finally:
            server_end.close()
            lifeline_end.close()
        return _Server(process, conn, lifeline)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def run(
        self,
        case: Case,
        params: dict[str, Any],
        problem: Problem,
        options: RunOptions,
        number: int | None = None,
    ) -> CaseResult:
        """Run ``case`` in a fresh case process (calls per sample ``number`` if known, see
        ``timing.measure``); never raises for anything the case process does."""
        try:
            try:
                server = self._hand_over(case, params, problem, options, number)
            except OSError:  # the server died since the last case: a new one, once
                self.close()
                server = self._hand_over(case, params, problem, options, number)
        except Exception as exc:  # an unpicklable problem; a server that cannot start
            message = f"cannot start a worker: {describe_exception(exc)}"
            return CaseResult(case, Status.ERROR, message, params)
        try:
            return self._watch(server, case, params, options)
        except ServerGone as gone:
            self.close()
            return CaseResult(case, Status.CRASHED, str(gone), params)
        except BaseException:  # Ctrl-C: the case process ends with its lifeline
            self.close()
            raise

    def _hand_over(
        self,
        case: Case,
        params: dict[str, Any],
        problem: Problem,
        options: RunOptions,
        number: int | None,
    ) -> _Server:
        """Send the case (and its problem, unless the server holds it) to the server."""
        if self.server is None:
            self.server = self._start()
        server = self.server
        if server.problem is not problem:
            server.problem = None
            server.conn.send(("problem", problem))  # pickled whole before anything is sent
            server.problem = problem
        server.conn.send(("case", case, params, options, number))
        return server

    def _watch(
        self, server: _Server, case: Case, params: dict[str, Any], options: RunOptions
    ) -> CaseResult:
        """Wait for the case's result, killing its process at the deadline or the limit."""
        started = server.receive(KILL_GRACE_SECONDS)
        if started is None or started[0] != "started":
            raise ServerGone("the case server did not start the case")
        pid = started[1]
        deadline = time.monotonic() + options.timeout
        limit = options.memory_limit_mb * 2**20 if options.memory_limit_mb else None
        while True:
            # Sleep until the result, the case process's death or the deadline; with a memory
            # limit, wake up regularly to read its resident memory.
            remaining = max(0.0, deadline - time.monotonic())
            reply = server.receive(min(remaining, MEMORY_POLL_SECONDS) if limit else remaining)
            if reply is not None:
                return self._outcome(reply, case, params)
            if limit and _resident_bytes(pid) > limit:
                self._kill(server, pid)
                message = (
                    f"killed: resident memory passed the limit of {options.memory_limit_mb} MiB"
                )
                return CaseResult(case, Status.CRASHED, message, params)
            if time.monotonic() >= deadline:
                self._kill(server, pid)
                return CaseResult(
                    case, Status.TIMEOUT, f"killed after {options.timeout:g} s", params
                )

    @staticmethod
    def _outcome(reply: tuple, case: Case, params: dict[str, Any]) -> CaseResult:
        if reply[0] == "result":
            result: CaseResult = pickle.loads(reply[1])
            return result
        return CaseResult(case, Status.CRASHED, _death(reply[1]), params)

    def _kill(self, server: _Server, pid: int) -> None:
        """Have the server kill case process ``pid`` (its child: the pid cannot have been
        reused) and wait for its report of the death; a server that does not report in
        ``KILL_GRACE_SECONDS`` is replaced, the case process killed directly."""
        server.conn.send(("kill",))
        if server.receive(KILL_GRACE_SECONDS) is None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            self.close()


_shared: dict[tuple[tuple[str, str], ...], CaseWorkers] = {}
"""This process's case workers for each set of extra plugin modules."""


def workers_for(registry: Registry) -> CaseWorkers:
    """The case workers of ``registry``'s plugins in this process (one server each, for the
    life of the process; it ends with it)."""
    key = tuple(registry.extra_modules())
    if key not in _shared:
        _shared[key] = CaseWorkers(registry)
    return _shared[key]
