"""A plugin that breaks the plugin contract in the ways ``harness check-plugin`` checks: the
tests of check-plugin register it (``Registry.load(extra=...)``, or installed with the
``site`` fixture) and expect each break reported, with its reason.

Its methods run on the built-in ``orthogonalize`` task, numpy, float64 only, so that the other
backends' cases are quick ``unsupported`` ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import Availability, Backend, Problem, hookimpl, method, task

ONLY = {"tasks": {"orthogonalize"}, "backends": {"numpy"}, "dtypes": {"float64"}}


def _polar(G: Any, xp: Any) -> Any:
    U, _, Vh = xp.linalg.svd(G, full_matrices=False)
    return U @ Vh


class BackwardsTimer:
    """A timer whose clock runs backwards."""

    def start(self) -> None:
        pass

    def stop(self) -> float:
        return -1.0


class LeakyBackend(Backend):
    """numpy, with every optional duty done wrong."""

    name = "leaky"
    library = "numpy"
    device = "cpu"
    dtypes = ("float64", "float80")

    def availability(self) -> Availability:
        return Availability(True)

    @property
    def xp(self) -> Any:
        import array_api_compat.numpy

        return array_api_compat.numpy

    def from_numpy(self, array: np.ndarray, dtype: str) -> Any:
        return array  # a view of the host array, not a copy

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array, dtype=np.float32)  # not float64

    def timer(self) -> BackwardsTimer:
        return BackwardsTimer()

    def peak_memory_bytes(self) -> Any:
        return "a lot"

    def metadata(self) -> dict[str, Any]:
        return {"library": "numpy", "device": object()}


def _distance_metrics(problem: Problem, Q: np.ndarray) -> dict[str, float]:
    """Infinite on anything but the exact answer."""
    return {"distance": 0.0 if np.array_equal(Q, problem.reference["polar"]) else float("inf")}


@task(
    name="unseeded",
    family="orthogonalizer",
    size_names=("m", "m"),
    metrics=_distance_metrics,
    exact="polar",
)
def unseeded(sizes: dict[str, int], rng: np.random.Generator) -> Problem:
    """Draws from numpy's global generator, not from ``rng``."""
    G = np.random.standard_normal((sizes["m"], sizes["m"]))
    U, _, Vh = np.linalg.svd(G)
    return Problem(inputs=(G,), reference={"polar": U @ Vh})


@method(family="orthogonalizer", **ONLY)
def raises(G: Any, *, xp: Any) -> Any:
    """Raises on every problem."""
    raise ValueError("broken on purpose")


@method(family="orthogonalizer", **ONLY)
def single_precision(G: Any, *, xp: Any) -> Any:
    """The polar factor, in float32 whatever the case's dtype."""
    return xp.astype(_polar(G, xp), xp.float32)


@method(family="orthogonalizer", **ONLY)
def scribbles(G: Any, *, xp: Any) -> Any:
    """Halves G in place (its polar factor stays the same)."""
    G *= 0.5
    return _polar(G, xp)


@method(family="orthogonalizer", **ONLY)
def unseeded_noise(G: Any, *, xp: Any) -> Any:
    """The polar factor plus noise from numpy's global generator."""
    noise = np.random.standard_normal(G.shape) * 1e-3
    return _polar(G, xp) + xp.asarray(noise)


@method(family="orthogonalizer", iterative=True, **ONLY)
def no_steps(G: Any, *, xp: Any, steps: int = 0) -> Any:
    """Yields ``steps`` iterates: none by default."""
    for _ in range(steps):
        yield G


@method(family="orthogonalizer", flops=lambda sizes, params: 1e18, **ONLY)
def overcounted(G: Any, *, xp: Any) -> Any:
    """The polar factor, with a flop model a million times too high."""
    return _polar(G, xp)


@method(family="orthogonalizer", **ONLY)
def undocumented(G: Any, *, xp: Any) -> Any:
    return _polar(G, xp)


@method(family="orthogonalizer", requires=["harness_no_such_module"], **ONLY)
def needs_missing(G: Any, *, xp: Any) -> Any:
    """Declares a library that is not installed: unsupported, which is no failure."""
    import harness_no_such_module  # noqa: F401

    return G


@hookimpl
def harness_backends() -> list[Backend]:
    return [LeakyBackend()]


@hookimpl
def harness_tasks() -> list[Any]:
    return [unseeded]


@hookimpl
def harness_methods() -> list[Any]:
    methods = [raises, single_precision, scribbles, unseeded_noise, no_steps, overcounted]
    return [*methods, undocumented, needs_missing, "not a method"]
