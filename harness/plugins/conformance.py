"""Conformance checks: whether one plugin's backends, tasks and methods keep the contract.

``harness check-plugin NAME`` runs them on the plugin (or every plugin of the distribution)
called NAME; the tests of a plugin can run the same (``check_plugin``). Each check is one row
(``Check``): passed, failed with the reason, or skipped with the reason (a backend that cannot
run here, a task with no exact answer). Everything runs inline, on tiny problems, with two
timing samples, so a plugin is checked in seconds.

- Plugin: it loaded, its hooks returned what they should, none of its names is also another
  plugin's.
- Backend: its dtypes are known names; its namespace; each dtype's round trip to and from
  numpy (a copy, float64 back, values kept); sparse matrices where it has them;
  ``synchronize``; its timer; its peak-memory meter; JSON-able metadata.
- Task: its sizes are named; generation is deterministic from the seed; where it names an
  exact answer (``exact=``), its metrics are finite on it and on a perturbed copy.
- Method: documented; it fits a registered task; on a small problem of each task it fits, on
  each available backend, in each dtype: ``ok`` or a declared ``unsupported``, an output of the
  case's dtype and of one shape everywhere (an orthogonalizer's that of ``G``), inputs left
  as they were, the same result twice; an iterative method yields at least one iterate; a flop
  model gives a rate below the backend's measured peak GEMM rate (``harness.run.roofline``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np

from harness.model.backend import DTYPES, Backend, probe
from harness.model.method import Method
from harness.model.sparse import is_sparse
from harness.model.task import Problem, Task
from harness.plugins.discovery import PluginRecord, describe_exception
from harness.plugins.registry import Registry, UnknownNameError
from harness.run import metadata, roofline
from harness.run.case import Case, CaseResult, RunOptions
from harness.run.case import Status as CaseStatus
from harness.run.executors import ProblemCache, run_case
from harness.run.timing import TimingOptions

OPTIONS = RunOptions(
    TimingOptions(warmup=0, min_time=0, min_samples=2, budget=0), "inline", roofline=False
)
"""How the method checks run their cases: inline, no calibration, two samples."""

SEED = 0
UNIT_ROUNDOFF = {"float16": 2.0**-11, "bfloat16": 2.0**-8, "float32": 2.0**-24, "float64": 2.0**-53}
"""A value moves by at most twice this in a round trip through the dtype; two calls of a
method may differ by the square root of it (rounding, as parallel sums order it, but not
another random draw)."""

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One check of one backend, task or method (or of the plugin itself)."""

    kind: str
    name: str
    check: str
    status: Status
    reason: str = ""


class Skipped(Exception):
    """Raised by a check that does not apply here; its message says why."""


def _run(kind: str, name: str, check: str, body: Callable[[], str | None]) -> Check:
    """One check: ``body`` returns ``None`` (pass) or the reason it fails; it may raise
    ``Skipped``, and any other exception fails the check with that exception."""
    try:
        reason = body()
    except Skipped as skipped:
        return Check(kind, name, check, "skip", str(skipped))
    except Exception as exc:  # the plugin's failure is this check's result
        return Check(kind, name, check, "fail", describe_exception(exc))
    return Check(kind, name, check, "fail" if reason else "pass", reason or "")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (case, ``-``, ``_`` and ``.`` ignored)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find_plugins(registry: Registry, name: str) -> list[PluginRecord]:
    """The plugin called ``name``, or every plugin of the distribution called ``name``;
    ``UnknownNameError`` (with close matches) where there is none."""
    records = [
        r
        for r in registry.plugins
        if r.name == name or (r.distribution and canonical(r.distribution) == canonical(name))
    ]
    if not records:
        known = {r.name for r in registry.plugins} | {
            r.distribution for r in registry.plugins if r.distribution
        }
        raise UnknownNameError("plugin", name, sorted(known))
    return records


def check_plugin(registry: Registry, name: str) -> list[Check]:
    """Every check of the plugin(s) ``name`` names (see ``find_plugins``)."""
    checks: list[Check] = []
    for record in find_plugins(registry, name):
        checks += _plugin_checks(registry, record)
        provided = registry.provided_by(record)
        for backend in provided["backend"]:
            if backend in registry.backends:
                checks += backend_checks(registry.backends[backend])
        for task in provided["task"]:
            if task in registry.tasks:
                checks += task_checks(registry.tasks[task])
        for method in provided["method"]:
            if method in registry.methods:
                checks += method_checks(registry, registry.methods[method])
    return checks


def _plugin_checks(registry: Registry, record: PluginRecord) -> list[Check]:
    def loads() -> str | None:
        if record.status == "blocked":
            return "blocked by HARNESS_BLOCK_PLUGINS"
        return "; ".join(record.errors) or None

    def names() -> str | None:
        shared = [
            f"{kind} {name!r} is also provided by "
            + " and ".join(r.name for r in records if r is not record)
            for (kind, name), records in registry.conflicts.items()
            if record in records
        ]
        return "; ".join(shared) or None

    return [
        _run("plugin", record.name, "loads and registers", loads),
        _run("plugin", record.name, "names its own", names),
    ]


# Backends


def backend_checks(backend: Backend) -> list[Check]:
    """Checks of one backend; all skipped, saying why, where it cannot run here."""
    name = backend.name
    availability = probe(backend)
    if not availability.available:
        return [Check("backend", name, "available", "skip", availability.reason)]
    checks = [
        _run("backend", name, "dtypes", lambda: _backend_dtypes(backend)),
        _run("backend", name, "namespace", lambda: _namespace(backend)),
    ]
    for dtype in backend.dtypes if isinstance(backend.dtypes, tuple | list) else ():
        checks.append(
            _run(
                "backend",
                name,
                f"round trip {dtype}",
                partial(_round_trip, backend, dtype),
            )
        )
    checks += [
        _run("backend", name, "sparse round trip", lambda: _sparse_round_trip(backend)),
        _run("backend", name, "synchronize", lambda: backend.synchronize()),
        _run("backend", name, "timer", lambda: _timer(backend)),
        _run("backend", name, "peak memory", lambda: _peak_memory(backend)),
        _run("backend", name, "metadata", lambda: _metadata(backend)),
    ]
    return checks


def _backend_dtypes(backend: Backend) -> str | None:
    dtypes = backend.dtypes
    if not isinstance(dtypes, tuple | list) or not dtypes:
        return f"dtypes is {dtypes!r}: a non-empty tuple of names out of {', '.join(DTYPES)}"
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        return f"unknown dtype name(s) {', '.join(map(repr, unknown))} (known: {', '.join(DTYPES)})"
    return None


def _namespace(backend: Backend) -> str | None:
    xp = backend.xp
    missing = [n for n in ("asarray", "matmul", "matrix_transpose", "linalg") if not hasattr(xp, n)]
    return f"xp lacks {', '.join(missing)}: not an array API namespace" if missing else None


def _close(got: np.ndarray, want: np.ndarray, rtol: float) -> bool:
    scale = float(np.max(np.abs(want), initial=0.0))
    return bool(np.allclose(got, want, rtol=rtol, atol=rtol * scale))


def _round_trip(backend: Backend, dtype: str) -> str | None:
    host = np.random.default_rng(SEED).standard_normal((5, 3))
    expected = host.copy()
    array = backend.from_numpy(host, dtype)
    host[...] = 0.0  # a copy must not see this
    xp_dtype = getattr(backend.xp, dtype, None)
    if xp_dtype is not None and getattr(array, "dtype", None) != xp_dtype:
        return f"from_numpy(..., {dtype!r}) gave dtype {getattr(array, 'dtype', None)}"
    back = backend.to_numpy(array)
    if not isinstance(back, np.ndarray) or back.dtype != np.float64:
        return f"to_numpy gave {type(back).__name__} of {getattr(back, 'dtype', '?')}, not float64"
    if back.shape != expected.shape:
        return f"round trip changed the shape {expected.shape} to {back.shape}"
    if not _close(back, expected, 2 * UNIT_ROUNDOFF.get(dtype, 2.0**-8)):
        if np.all(back == 0):
            return "from_numpy kept a view of the host array: it must copy"
        return f"round trip changed the values beyond {dtype}'s rounding"
    return None


def _sparse_round_trip(backend: Backend) -> str | None:
    if not backend.supports_sparse:
        raise Skipped("no sparse matrices (declared)")
    import scipy.sparse

    matrix = scipy.sparse.random(6, 4, density=0.5, random_state=SEED, format="csr")
    dtype = "float64" if "float64" in backend.dtypes else backend.dtypes[0]
    A = backend.from_scipy_sparse(matrix, dtype)
    x = backend.from_numpy(np.arange(1.0, 5.0), dtype)
    if not _close(
        backend.to_numpy(A @ x), matrix @ np.arange(1.0, 5.0), 8 * UNIT_ROUNDOFF.get(dtype, 2.0**-8)
    ):
        return "A @ x of a sparse matrix from from_scipy_sparse differs from scipy's"
    return None


def _timer(backend: Backend) -> str | None:
    timer = backend.timer()
    a = backend.from_numpy(np.ones((64, 64)), backend.dtypes[0])
    timer.start()
    a @ a
    seconds = timer.stop()
    if not isinstance(seconds, float | int) or not math.isfinite(seconds) or seconds < 0:
        return f"timer().stop() gave {seconds!r}: seconds, a finite number at least 0"
    if seconds > 60:
        return f"timer().stop() gave {seconds} s for a 64×64 product: not seconds?"
    return None


def _peak_memory(backend: Backend) -> str | None:
    backend.reset_peak_memory()
    kept = backend.from_numpy(np.ones((256, 256)), backend.dtypes[0])
    peak = backend.peak_memory_bytes()
    del kept
    if peak is None:
        return None
    if isinstance(peak, bool) or not isinstance(peak, int) or peak < 0:
        return f"peak_memory_bytes() gave {peak!r}: bytes (an int at least 0), or None"
    return None


def _metadata(backend: Backend) -> str | None:
    meta = backend.metadata()
    if not isinstance(meta, dict):
        return f"metadata() gave {type(meta).__name__}, not a dict"
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        return f"metadata() is not JSON-able: {exc}"
    return None


# Tasks


def task_checks(task: Task) -> list[Check]:
    """Checks of one task."""
    name = task.name
    return [
        _run("task", name, "sizes named", lambda: _sizes_named(task)),
        _run("task", name, "deterministic from the seed", lambda: _deterministic(task)),
        _run("task", name, "metrics on the exact answer", lambda: _exact_metrics(task)),
    ]


def generate(task: Task) -> Problem:
    """A small problem of ``task``: its ``small_sizes``, default structure, seed 0."""
    return task.generate(task.small_sizes(), np.random.default_rng(SEED))


def _sizes_named(task: Task) -> str | None:
    names = task.size_names
    if not isinstance(names, tuple) or not names:
        return f"size_names is {names!r}: a non-empty tuple of names"
    if not all(isinstance(n, str) and n.isidentifier() for n in names) or len(set(names)) < len(
        names
    ):
        return f"size_names {names!r}: distinct identifiers, e.g. ('m', 'n')"
    return None


def same(a: Any, b: Any) -> bool:
    """Whether two generated values are equal: arrays and sparse matrices element by element,
    containers item by item, anything else by ``==``."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    if is_sparse(a) or is_sparse(b):
        return is_sparse(a) and is_sparse(b) and a.shape == b.shape and (a != b).nnz == 0
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def _deterministic(task: Task) -> str | None:
    first, second = generate(task), generate(task)
    if not isinstance(first, Problem):
        return f"generate returned {type(first).__name__}, not a Problem"
    if not same(first.inputs, second.inputs):
        return "two problems from seed 0 differ in their inputs: draw from the rng it is given"
    if not same(first.reference, second.reference):
        return "two problems from seed 0 differ in their reference"
    return None


def _perturbed(value: Any, rng: np.random.Generator) -> Any:
    if isinstance(value, tuple | list):
        return tuple(_perturbed(v, rng) for v in value)
    array = np.asarray(value, dtype=np.float64)
    scale = float(np.max(np.abs(array), initial=1.0))
    return array + 1e-3 * scale * rng.standard_normal(array.shape)


def _exact_metrics(task: Task) -> str | None:
    if task.exact is None:
        raise Skipped("no exact answer declared (@task(exact=...))")
    problem = generate(task)
    if task.exact not in problem.reference:
        known = ", ".join(problem.reference) or "empty"
        return f"exact={task.exact!r} is not in the problem's reference ({known})"
    exact = problem.reference[task.exact]
    outputs = {"exact": exact, "perturbed": _perturbed(exact, np.random.default_rng(SEED))}
    for label, output in outputs.items():
        metrics = task.metrics(problem, output)
        bad = [k for k, v in metrics.items() if not math.isfinite(float(v))]
        if bad:
            return f"metrics {', '.join(bad)} are not finite on the {label} answer"
    return None


# Methods


def method_checks(registry: Registry, method: Method) -> list[Check]:
    """Checks of one method, run on every task it fits and every available backend."""
    name = method.name
    checks = [_run("method", name, "documented", lambda: None if method.doc else "no docstring")]
    tasks = [t for t in registry.tasks.values() if method.fits(t)]
    checks.append(_run("method", name, "fits a task", lambda: _fits(registry, method, tasks)))
    backends = [b for b in registry.backends.values() if probe(b).available]
    runs = [
        (task, backend, dtype, _case_check(registry, method, task, backend, dtype))
        for task in tasks
        for backend in backends
        for dtype in backend.dtypes
    ]
    checks += [check for *_, (check, _) in runs]
    checks += _consistent_shapes(method, runs)
    ran = [(task, backend, dtype, result) for task, backend, dtype, (_, result) in runs if result]
    checks.append(_run("method", name, "yields iterates", lambda: _yields(method, ran)))
    checks.append(_run("method", name, "flops below peak", lambda: _flops(registry, method, ran)))
    checks.append(_run("method", name, "bytes model", lambda: _bytes(method, ran)))
    return checks


def _fits(registry: Registry, method: Method, tasks: list[Task]) -> str | None:
    unknown = sorted(set(method.tasks or ()) - set(registry.tasks))
    if unknown:
        return f"tasks= names unknown task(s) {', '.join(unknown)}"
    if not tasks:
        return f"no registered task of family {method.family!r} takes it"
    return None


@dataclass
class Ran:
    """What one case of a method that is not ``unsupported`` gave, for the checks across
    cases."""

    result: CaseResult
    shape: tuple[int, ...] | None = None
    """The shape of its output (of the first array of a tuple), where the output was read."""


def _case_check(
    registry: Registry, method: Method, task: Task, backend: Backend, dtype: str
) -> tuple[Check, Ran | None]:
    """Run the method on a small problem of ``task`` through ``run_case`` (``ok`` or declared
    ``unsupported``), then check its output and that it left its inputs alone."""
    label = f"runs on {task.name}, {backend.name}, {dtype}"
    case = Case(task.name, method.name, backend.name, dtype, task.small_sizes(), {}, {}, SEED)
    problems = ProblemCache(registry)
    result = run_case(case, registry, problems, OPTIONS)
    if result.status == CaseStatus.UNSUPPORTED:
        return Check("method", method.name, label, "pass", f"unsupported: {result.message}"), None
    ran = Ran(result)
    if result.status != CaseStatus.OK:
        return Check(
            "method", method.name, label, "fail", f"{result.status}: {result.message}"
        ), ran

    def output() -> str | None:
        reason, ran.shape = _check_output(method, problems.get(case), result.params, backend, dtype)
        return reason

    return _run("method", method.name, label, output), ran


def _main_output(output: Any) -> Any:
    """The output the contract is about: the first array of a tuple (the others, an iteration
    count or a residual history, may have any dtype and length)."""
    return _main_output(output[0]) if isinstance(output, tuple | list) else output


def _check_output(
    method: Method, problem: Problem, params: dict[str, Any], backend: Backend, dtype: str
) -> tuple[str | None, tuple[int, ...]]:
    """Why the method's output on ``problem`` breaks the contract (or ``None``), and the
    shape of its (main) output."""
    xp = backend.xp
    inputs = tuple(backend.to_device(value, dtype) for value in problem.inputs)
    dense = [x for x in inputs if hasattr(x, "shape") and not is_sparse(x)]
    before = [np.array(backend.to_numpy(x), copy=True) for x in dense]
    output = _main_output(method(*inputs, xp=xp, **params))
    again = backend.to_numpy(_main_output(method(*inputs, xp=xp, **params)))
    host = backend.to_numpy(output)
    want = getattr(xp, dtype, None)
    if want is not None and _floating(xp, output) and output.dtype != want:
        return f"output of dtype {output.dtype} in a {dtype} case", host.shape
    if method.family == "orthogonalizer" and host.shape != np.shape(problem.inputs[0]):
        return f"output shape {host.shape}, not G's {np.shape(problem.inputs[0])}", host.shape
    if not all(np.array_equal(b, backend.to_numpy(x)) for b, x in zip(before, dense, strict=True)):
        return "it wrote into its inputs (every timed repeat must get the same ones)", host.shape
    if host.shape != again.shape or not _close(
        host, again, UNIT_ROUNDOFF.get(dtype, 2.0**-8) ** 0.5
    ):
        return "two calls with the same inputs and parameters gave different results", host.shape
    return None, host.shape


def _floating(xp: Any, array: Any) -> bool:
    try:
        return bool(xp.isdtype(array.dtype, "real floating"))
    except Exception:  # a namespace without isdtype, or an array it does not know
        return False


def _consistent_shapes(
    method: Method, runs: Iterable[tuple[Task, Backend, str, tuple[Check, Ran | None]]]
) -> Iterator[Check]:
    """One check per task: its output's shape (the first array of a tuple; the others, such
    as a residual history, may vary) agrees across backends and dtypes."""
    by_task: dict[str, dict[tuple[str, str], tuple[int, ...]]] = {}
    for task, backend, dtype, (check, ran) in runs:
        if ran is not None and ran.shape is not None and check.status == "pass":
            by_task.setdefault(task.name, {})[(backend.name, dtype)] = ran.shape
    for task_name, shapes in by_task.items():
        (first_key, first), *rest = shapes.items()
        other = next(((k, s) for k, s in rest if s != first), None)
        reason = (
            f"output shape {first} on {'/'.join(first_key)}, {other[1]} on {'/'.join(other[0])}"
            if other
            else ""
        )
        yield Check(
            "method",
            method.name,
            f"same shapes on {task_name}",
            "fail" if other else "pass",
            reason,
        )


Attempt = tuple[Task, Backend, str, Ran]
"""A case that was not ``unsupported``: its task, backend, dtype and what it gave."""


def _first(ran: list[Attempt], *, ok: bool) -> Attempt:
    """The first case that ran (``ok``: that ran ``ok``)."""
    for attempt in ran:
        if not ok or attempt[3].result.status == CaseStatus.OK:
            return attempt
    raise Skipped(f"no case ran{' ok' if ok else ''} here")


def _yields(method: Method, ran: list[Attempt]) -> str | None:
    if method.iterates is None:
        raise Skipped("not iterative")
    task, backend, dtype, attempt = _first(ran, ok=False)
    inputs = tuple(backend.to_device(value, dtype) for value in generate(task).inputs)
    iterates = method.iterates(*inputs, xp=backend.xp, **attempt.result.params)
    if next(iter(iterates), None) is None:
        return "its generator yielded no iterate"
    return None


def _flops(registry: Registry, method: Method, ran: list[Attempt]) -> str | None:
    if method.flops is None:
        raise Skipped("no flops model")
    task, backend, dtype, ok = _first(ran, ok=True)
    result = ok.result
    if result.flops is None or not math.isfinite(result.flops) or result.flops <= 0:
        return f"flops model gave {result.flops!r} for sizes {task.small_sizes()}: a count above 0"
    meta = metadata.collect(registry, [backend.name])
    peak = roofline.for_run(registry, [(backend.name, dtype)], meta)[backend.name][dtype]
    rate = result.gflops
    if rate is not None and "gemm_gflops" in peak and rate > peak["gemm_gflops"]:
        return (
            f"flops model gives {rate:.3g} GFLOP/s on {task.name} {task.small_sizes()} "
            f"({backend.name}, {dtype}), above the measured peak {peak['gemm_gflops']:.3g} "
            "GFLOP/s: it counts too many operations"
        )
    return None


def _bytes(method: Method, ran: list[Attempt]) -> str | None:
    """A bytes model gives a finite count above 0 on a case that ran (no rate check: a
    working set that fits in cache may beat the measured memory bandwidth)."""
    if method.bytes is None:
        raise Skipped("no bytes model")
    task, _, _, ok = _first(ran, ok=True)
    moved = ok.result.bytes
    if moved is None or not math.isfinite(moved) or moved <= 0:
        return f"bytes model gave {moved!r} for sizes {task.small_sizes()}: a count above 0"
    return None


def failed(checks: Iterable[Check]) -> list[Check]:
    """The checks that failed."""
    return [c for c in checks if c.status == "fail"]
