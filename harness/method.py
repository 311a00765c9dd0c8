"""Methods: one implementation, written once against the array namespace ``xp``.

A method plugin returns ``Method`` objects from its ``harness_methods`` hook. The
``@method`` decorator makes one from a plain function::

    @method(family="orthogonalizer", dtypes={"float32", "float64"})
    def svd_polar(G, *, xp):
        U, _, Vh = xp.linalg.svd(G, full_matrices=False)
        return U @ Vh

Positional arguments are the task's inputs (already on the backend's device, in the case's
dtype); the keyword-only argument ``xp`` is the array namespace; every other keyword-only
argument is a typed parameter that a suite can set (see ``harness.params``).

An iterative method is written once, as a generator that yields its iterate after every step,
and declared with ``iterative=True``. The timed call runs it to its last iterate; an untimed
second run gives the task every iterate, so that the result stores a convergence curve (the
task's metrics after each step)::

    @method(family="orthogonalizer", iterative=True)
    def cubic(G, *, xp, steps: int = 10):
        X = G / xp.linalg.vector_norm(G)
        for _ in range(steps):
            X = 1.5 * X - 0.5 * X @ xp.matrix_transpose(X) @ X
            yield X
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness.params import Param, params_from_signature

FAMILIES = ("orthogonalizer", "sketch", "spectral_filter", "preconditioner")

FlopModel = Callable[[Mapping[str, int], Mapping[str, Any]], float]
"""Floating-point operations of one call, from the problem's sizes and the method's parameters."""


@dataclass(frozen=True)
class Method:
    """A named method of one family, with typed parameters and the backends/dtypes it runs on."""

    name: str
    family: str
    fn: Callable[..., Any]
    params: tuple[Param, ...] = ()
    backends: frozenset[str] | None = None
    """Backend names it runs on; ``None`` means every backend."""
    dtypes: frozenset[str] | None = None
    """Dtype names it runs in; ``None`` means every dtype the backend has."""
    tasks: frozenset[str] | None = None
    """Task names whose inputs it takes, where its family's tasks differ in their inputs
    (inverse roots take (A, p), linear solvers (A, b)); ``None`` means every task of its family."""
    flops: FlopModel | None = None
    iterates: Callable[..., Iterator[Any]] | None = None
    """For an iterative method: the generator yielding the iterate after every step."""
    doc: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(
                f"method {self.name!r}: family {self.family!r} is not one of {FAMILIES}"
            )

    def unsupported_reason(self, backend: str, dtype: str) -> str | None:
        """Why this method cannot run on ``backend`` in ``dtype``, or ``None`` if it can."""
        if self.backends is not None and backend not in self.backends:
            runs_on = ", ".join(sorted(self.backends))
            return f"{self.name} does not run on {backend} (runs on {runs_on})"
        if self.dtypes is not None and dtype not in self.dtypes:
            return f"{self.name} does not run in {dtype} (runs in {', '.join(sorted(self.dtypes))})"
        return None

    def __call__(self, *inputs: Any, xp: Any, **params: Any) -> Any:
        return self.fn(*inputs, xp=xp, **params)


def method(
    *,
    family: str,
    name: str | None = None,
    backends: set[str] | None = None,
    dtypes: set[str] | None = None,
    tasks: set[str] | None = None,
    flops: FlopModel | None = None,
    iterative: bool = False,
) -> Callable[[Callable[..., Any]], Method]:
    """Decorator: make a ``Method`` from a function; parameters come from its signature.

    With ``iterative=True`` the function is a generator of iterates (see the module docstring).
    """

    def wrap(fn: Callable[..., Any]) -> Method:
        return Method(
            name=name or fn.__name__,
            family=family,
            fn=functools.wraps(fn)(functools.partial(_last, fn)) if iterative else fn,
            iterates=fn if iterative else None,
            params=params_from_signature(fn, skip=("xp",)),
            backends=frozenset(backends) if backends is not None else None,
            dtypes=frozenset(dtypes) if dtypes is not None else None,
            tasks=frozenset(tasks) if tasks is not None else None,
            flops=flops,
            doc=(fn.__doc__ or "").strip(),
        )

    return wrap


def _last(iterates: Callable[..., Iterator[Any]], *inputs: Any, **kwargs: Any) -> Any:
    """The final iterate of an iterative method: what its timed call returns."""
    last = None
    for last in iterates(*inputs, **kwargs):  # noqa: B007 - only the last one is kept
        pass
    if last is None:
        raise ValueError("the method yielded no iterate (steps must be at least 1)")
    return last
