"""The conformance matrix: every registered method × every backend × its dtypes, on a tiny
problem of each task it fits, generated from the registry (a new method is covered without a
test of its own; a new task needs one line in ``TINY``).

For each case: the harness's own run (``run_case``, inline, quick timing) ends ``ok`` or with
a declared reason (``unsupported``/``unavailable`` and a message), never ``error``; then the
method is called directly, twice, on the problem moved to the backend: the output has the
numpy result's shape and the case's dtype, the inputs on the device are unchanged, and the two
calls give the same output (same seed, same result). A backend that cannot run here (no GPU,
library missing) is skipped with its reason.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from conftest import QUICK

from harness.model.backend import DTYPES, probe
from harness.model.params import bind
from harness.model.sparse import as_operator, is_sparse
from harness.model.task import Problem
from harness.plugins.registry import Registry
from harness.run.case import Case
from harness.run.runner import ProblemCache, run_case

TINY: dict[str, list[tuple[dict[str, int], dict[str, Any]]]] = {
    "orthogonalize": [({"m": 8, "n": 8}, {})],
    "inverse_root": [({"n": 8}, {"p": 2})],
    # one sparse problem (Poisson, 16 unknowns) and one dense one (an RBF kernel, n above
    # pcg_nystrom's default rank 50, a ridge that keeps CG short)
    "spd_solve": [({"n": 4}, {}), ({"n": 56}, {"matrix": "rbf_kernel", "ridge": 1.0})],
    "low_rank_approx": [({"m": 24, "n": 16, "k": 3}, {})],
    "least_squares": [({"m": 64, "n": 6}, {})],
    "subspace_embedding": [
        ({"m": 64, "n": 4}, {"s": 16}),
        ({"m": 64, "n": 4}, {"s": 16, "matrix": "sparse", "density": 0.5}),
    ],
    "matrix_product": [({"m": 64, "n": 4, "p": 3}, {"s": 16})],
    "trace_estimation": [({"n": 16}, {})],
    "spectral_norm": [({"m": 12, "n": 8}, {})],
    "graph_filter": [({"n": 9, "signals": 2}, {})],
    "fisher_product": [({"gradients": 16, "m": 6, "n": 4}, {})],
    "spd_sequence": [({"n": 6, "systems": 3}, {})],
    "kernel_approximation": [
        ({"n": 16, "d": 4, "features": 6}, {}),
        ({"n": 16, "d": 4, "features": 6}, {"kernel": "softmax"}),
    ],
    "graph_embedding": [({"n": 32, "dim": 4}, {}), ({"n": 32, "dim": 4}, {"sparse": False})],
    "streaming_pca": [({"n": 24, "d": 6, "k": 2}, {"batch": 8})],
    "muon_training": [({"width": 8, "steps": 2}, {"eval_every": 1})],
    "shampoo_training": [({"width": 8, "steps": 2}, {"eval_every": 1})],
}
"""A tiny problem (sizes, problem parameters) of each task, a few for a task whose problems
differ in kind (sparse and dense)."""

DECLARED = {"unsupported", "unavailable"}

SAME_SEED_RTOL = {"float16": 1e-2, "bfloat16": 1e-1, "float32": 1e-5, "float64": 1e-12}
"""How far two calls with the same seed may differ: threaded BLAS, ARPACK and pyamg sum in
an order that can change between calls, which moves the last bits (never more)."""


@functools.cache
def registry() -> Registry:
    return Registry.load()


def matrix() -> list[Any]:
    """One parameter set per (method, task, problem, backend, dtype)."""
    reg = registry()
    params = []
    for method_name, method in sorted(reg.methods.items()):
        for task_name, task in sorted(reg.tasks.items()):
            if not method.fits(task):
                continue
            for index in range(len(TINY.get(task_name, [None]))):
                for backend_name, backend in sorted(reg.backends.items()):
                    for dtype in DTYPES:
                        if dtype in backend.dtypes and (
                            method.dtypes is None or dtype in method.dtypes
                        ):
                            case = (method_name, task_name, index, backend_name, dtype)
                            params.append(pytest.param(*case, id="-".join(map(str, case))))
    return params


def make_case(method: str, task: str, index: int, backend: str, dtype: str) -> Case:
    if task not in TINY:
        pytest.fail(f"task {task!r} has no tiny problem: add one to TINY in {__name__}")
    sizes, problem = TINY[task][index]
    return Case(task, method, backend, dtype, sizes, problem, {}, seed=0)


def problem_of(case: Case) -> Problem:
    return ProblemCache(registry()).get(case)


def call(case: Case, problem: Problem) -> tuple[Any, list[Any], list[Any]]:
    """The method called directly on the problem moved to the case's backend: its output and
    the host copies of the inputs on the device before and after the call."""
    reg = registry()
    backend, method = reg.backend(case.backend), reg.method(case.method)
    inputs = [backend.to_device(value, case.dtype) for value in problem.inputs]
    before = [snapshot(backend, value) for value in inputs]
    output = method(*inputs, xp=backend.xp, **bind(method.params, case.params))
    after = [snapshot(backend, value) for value in inputs]
    return output, before, after


def snapshot(backend: Any, value: Any) -> Any:
    """A device input as a host float64 copy (a sparse one densified); a scalar as it is."""
    if is_sparse(value):
        return backend.to_numpy(as_operator(value).todense())
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return backend.to_numpy(value)
    return value


def arrays(output: Any) -> list[Any]:
    """The arrays of a method's output (one array, or a tuple of them)."""
    return [o for out in output for o in arrays(out)] if isinstance(output, tuple) else [output]


@functools.cache
def numpy_shapes(
    method: str, task: str, index: int, dtype: str
) -> tuple[tuple[int, ...], ...] | None:
    """The output shapes of the method on the numpy backend in ``dtype`` (an iteration
    history's length may depend on it); None where it does not run there."""
    reg = registry()
    if dtype not in reg.backend("numpy").dtypes:
        return None
    case = make_case(method, task, index, "numpy", dtype)
    if reg.method(method).unsupported_reason("numpy", dtype) is not None:
        return None
    output, _, _ = call(case, problem_of(case))
    return tuple(tuple(a.shape) for a in arrays(output))


@pytest.mark.parametrize(("method", "task", "index", "backend", "dtype"), matrix())
def test_method_conforms(method: str, task: str, index: int, backend: str, dtype: str) -> None:
    case = make_case(method, task, index, backend, dtype)
    reg = registry()
    available = probe(reg.backend(backend))
    if not available.available:
        pytest.skip(f"backend {backend}: {available.reason}")

    result = run_case(case, reg, ProblemCache(reg), QUICK)
    assert result.status == "ok" or result.status in DECLARED, result.message
    if result.status != "ok":
        assert result.message, f"{result.status} without a reason"
        return

    problem = problem_of(case)
    host_inputs = [v.copy() if isinstance(v, np.ndarray) else None for v in problem.inputs]
    first, before, after = call(case, problem)
    second, _, _ = call(case, problem)
    for was, now in zip(before, after, strict=True):
        np.testing.assert_array_equal(now, was, err_msg="the method changed its input")
    for was, now in zip(host_inputs, problem.inputs, strict=True):
        if was is not None:
            np.testing.assert_array_equal(now, was, err_msg="the problem's host array changed")

    device = reg.backend(backend)
    expected_dtype = device.from_numpy(np.zeros(1), dtype).dtype
    outputs = arrays(first)
    for out in outputs:
        assert out.dtype == expected_dtype, f"output dtype {out.dtype}, case dtype {dtype}"
    shapes = numpy_shapes(method, task, index, dtype)
    if shapes is not None:
        assert tuple(tuple(o.shape) for o in outputs) == shapes
    for one, two in zip(outputs, arrays(second), strict=True):
        one, two = device.to_numpy(one), device.to_numpy(two)
        scale = float(np.max(np.abs(one), initial=0.0))
        rtol = SAME_SEED_RTOL[dtype]
        np.testing.assert_allclose(
            two, one, rtol=rtol, atol=rtol * scale, err_msg="same seed, different output"
        )
