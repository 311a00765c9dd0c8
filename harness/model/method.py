"""Methods: one implementation, written once against the array namespace ``xp``.

A method plugin returns ``Method`` objects from its ``harness_methods`` hook. The
``@method`` decorator makes one from a plain function::

    @method(family="orthogonalizer", dtypes={"float32", "float64"})
    def svd_polar(G, *, xp):
        U, _, Vh = xp.linalg.svd(G, full_matrices=False)
        return U @ Vh

Positional arguments are the task's inputs (already on the backend's device, in the case's
dtype); the keyword-only argument ``xp`` is the array namespace; every other keyword-only
argument is a typed parameter that a suite can set (see ``harness.model.params``).

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

A method may refuse a problem it cannot take without raising: ``supports`` is called before
the case runs, with the problem's inputs on the host (numpy arrays, scipy.sparse matrices,
scalars) as positional arguments and, by name, whichever of ``backend`` (the ``Backend``),
``dtype`` (its name), ``sizes`` and ``params`` (every parameter, defaults filled in) it
declares; it returns ``None``, or the reason the case is ``unsupported``::

    def square_only(A, b):
        return None if A.shape[0] == A.shape[1] else "needs a square A"

    @method(family="preconditioner", supports=square_only)
    def jacobi(A, b, *, xp): ...

Optional libraries are declared once, as ``requires``: where one cannot be imported, every
case of the method is ``unsupported`` with the install hint, and ``harness plugins`` says so.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.model.params import Param, params_from_signature

FAMILIES = ("orthogonalizer", "sketch", "spectral_filter", "preconditioner")

FlopModel = Callable[..., float]
"""Floating-point operations of one call, from the problem's sizes and the method's
parameters: ``flops(sizes, params)``, or ``flops(sizes, params, footprint)`` for a count that
depends on the inputs or on how long the method ran (nonzeros of a sparse input, a Krylov
solver's iterations; see ``Footprint``)."""


@dataclass(frozen=True)
class Footprint:
    """What a bytes model needs to know of a case beyond its sizes and parameters."""

    word: int
    """Bytes per element of the case's dtype (8 for float64, 2 for bfloat16)."""
    inputs: tuple[Any, ...]
    """The problem's inputs on the host, as ``supports`` sees them (numpy arrays,
    scipy.sparse matrices with their ``nnz``, scalars such as a sketch size)."""
    metrics: Mapping[str, float]
    """The case's metrics, for a method whose traffic depends on how long it ran (a Krylov
    solver's ``iterations``)."""
    steps: int | None = None
    """For an iterative method, the steps it ran (one that stops at a tolerance runs fewer
    than its ``steps`` parameter); None for a direct one."""


BytesModel = Callable[[Mapping[str, int], Mapping[str, Any], Footprint], float]
"""Bytes one call moves to and from memory at least (each input read and each output written
once, plus what the algorithm must re-read), from the sizes, the parameters and the
``Footprint``: the traffic model of a memory-bound method, beside its flop model."""

Supports = Callable[..., str | None]
"""``supports(*inputs, backend=, dtype=, sizes=, params=) -> None | reason``; it declares the
keywords it wants, out of ``SUPPORTS_KEYWORDS``."""
SUPPORTS_KEYWORDS = ("backend", "dtype", "sizes", "params")


def supports_keywords(name: str, supports: Supports) -> tuple[str, ...]:
    """The keywords of ``SUPPORTS_KEYWORDS`` that ``supports`` takes; any other keyword-only
    argument without a default is a ``TypeError`` (raised when the decorator runs)."""
    wanted = []
    for arg in inspect.signature(supports).parameters.values():
        if arg.kind is inspect.Parameter.VAR_KEYWORD:
            return SUPPORTS_KEYWORDS
        if arg.kind is inspect.Parameter.KEYWORD_ONLY:
            if arg.name in SUPPORTS_KEYWORDS:
                wanted.append(arg.name)
            elif arg.default is inspect.Parameter.empty:
                raise TypeError(
                    f"method {name!r}: supports() asks for {arg.name!r}; it may ask for "
                    f"{', '.join(SUPPORTS_KEYWORDS)}"
                )
    return tuple(wanted)


def missing_module(module: str) -> bool:
    """Whether ``module`` cannot be imported here (found without importing it, where it can)."""
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent package missing, or a broken one
        return True


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
    bytes: BytesModel | None = None
    """Bytes moved per call (``BytesModel``): the run reports achieved GB/s and the share of
    the measured bandwidth."""
    iterates: Callable[..., Iterator[Any]] | None = None
    """For an iterative method: the generator yielding the iterate after every step."""
    supports: Supports | None = None
    """Why it cannot take a problem, or ``None`` (see the module docstring)."""
    requires: tuple[tuple[str, str], ...] = ()
    """Optional modules it imports, as (import name, how to install it) pairs."""
    doc: str = ""
    supports_wants: tuple[str, ...] = field(init=False, default=())
    """The keywords of ``SUPPORTS_KEYWORDS`` that ``supports`` asks for (read once, here)."""
    flops_wants_footprint: bool = field(init=False, default=False)
    """Whether the flop model takes the ``Footprint`` as a third argument."""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(
                f"method {self.name!r}: family {self.family!r} is not one of {FAMILIES}"
            )
        if self.supports is not None:  # a wrong signature is an error now, not per case
            wants = supports_keywords(self.name, self.supports)
            object.__setattr__(self, "supports_wants", wants)
        if self.flops is not None:
            arguments = len(inspect.signature(self.flops).parameters)
            object.__setattr__(self, "flops_wants_footprint", arguments >= 3)

    def flop_count(
        self, sizes: Mapping[str, int], params: Mapping[str, Any], footprint: Footprint
    ) -> float | None:
        """The flop model's count for one call (None without a model)."""
        if self.flops is None:
            return None
        extra = (footprint,) if self.flops_wants_footprint else ()
        return float(self.flops(sizes, params, *extra))

    def unsupported_reason(self, backend: str, dtype: str) -> str | None:
        """Why this method cannot run on ``backend`` in ``dtype``, or ``None`` if it can."""
        if self.backends is not None and backend not in self.backends:
            runs_on = ", ".join(sorted(self.backends))
            return f"{self.name} does not run on {backend} (runs on {runs_on})"
        if self.dtypes is not None and dtype not in self.dtypes:
            return f"{self.name} does not run in {dtype} (runs in {', '.join(sorted(self.dtypes))})"
        return self.missing_requirements()

    def missing_requirements(self) -> str | None:
        """Which of the modules it ``requires`` cannot be imported here, with how to install
        them; ``None`` when all can."""
        missing = [(module, hint) for module, hint in self.requires if missing_module(module)]
        if not missing:
            return None
        modules = ", ".join(module for module, _ in missing)
        hints = "; ".join(dict.fromkeys(hint for _, hint in missing))
        return f"{self.name} needs {modules}, which is not installed ({hints})"

    def refusal(self, inputs: tuple[Any, ...], **context: Any) -> str | None:
        """What ``supports`` says of a problem with these host ``inputs``, given ``context``
        (``SUPPORTS_KEYWORDS``: those it asks for are passed); ``None`` without ``supports``."""
        if self.supports is None:
            return None
        return self.supports(*inputs, **{k: context[k] for k in self.supports_wants})

    def fits(self, task: Any) -> bool:
        """Whether it takes ``task``'s inputs: the same family, and among its ``tasks`` (for a
        task with a ``loop``, the task whose methods the loop runs: ``Loop.takes``)."""
        inputs_of = task.loop.takes if getattr(task, "loop", None) is not None else task.name
        return task.family == self.family and (self.tasks is None or inputs_of in self.tasks)

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
    bytes: BytesModel | None = None,
    iterative: bool = False,
    supports: Supports | None = None,
    requires: Iterable[str] | Mapping[str, str] = (),
) -> Callable[[Callable[..., Any]], Method]:
    """Decorator: make a ``Method`` from a function; parameters come from its signature.

    With ``iterative=True`` the function is a generator of iterates (see the module docstring);
    a generator function without it, or a plain function with it, is a ``TypeError`` here.
    ``flops`` and ``bytes`` are the models of the floating-point operations and of the memory
    traffic of one call (``FlopModel``, ``BytesModel``): the run reports GFLOP/s against the
    measured GEMM peak and GB/s against the measured bandwidth.
    ``supports`` may refuse a problem (see the module docstring). ``requires`` names the
    optional modules it imports: a list of import names (installed with ``pip install NAME``)
    or a mapping from import name to how to install it.
    """
    if isinstance(requires, str):
        requires = [requires]
    hints = tuple(
        requires.items()
        if isinstance(requires, Mapping)
        else ((module, f"pip install {module}") for module in requires)
    )

    def wrap(fn: Callable[..., Any]) -> Method:
        method_name = name or fn.__name__
        if inspect.isgeneratorfunction(fn) and not iterative:
            raise TypeError(
                f"method {method_name!r} is a generator function: declare it with "
                "@method(..., iterative=True), or return the result instead of yielding it"
            )
        if iterative and not inspect.isgeneratorfunction(fn):
            raise TypeError(
                f"method {method_name!r} is declared iterative=True but is not a generator "
                "function: yield the iterate after every step"
            )
        return Method(
            name=method_name,
            family=family,
            fn=functools.wraps(fn)(functools.partial(_last, fn)) if iterative else fn,
            iterates=fn if iterative else None,
            params=params_from_signature(fn, skip=("xp",)),
            backends=frozenset(backends) if backends is not None else None,
            dtypes=frozenset(dtypes) if dtypes is not None else None,
            tasks=frozenset(tasks) if tasks is not None else None,
            flops=flops,
            bytes=bytes,
            supports=supports,
            requires=hints,
            doc=inspect.cleandoc(fn.__doc__ or ""),
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
