"""Task plugin: ``graph_filter``, judging g(L) X for a graph Laplacian L and a block of signals X.

Inputs ``(L, X, g, lambda_max)``: L = D − W (scipy.sparse CSR; each backend gets its own
sparse CSR copy), X (n × b, i.i.d. N(0, 1)), the response g (a picklable
``filters.Filter``, passed through to the method untouched) and λ_max(L) as
a Python float, computed once per graph outside the timed region, as PyGSP's ``G.lmax`` is:
a property of the graph that every filter on it shares. A method's output is
``(Y, products)`` (``products`` = [products with L per signal]) or Y alone.

Metrics, in float64 on the host:

- ``relative_error``: ‖Ŷ − g(L)X‖_F / ‖g(L)X‖_F against the reference below;
- ``products``: products with L per signal, where the method reports them;
- ``response_error``, ``response_overshoot`` (problems with a known eigenbasis: grids, and
  graphs small enough for eigh): the method's effective response on the spectrum,
  ĥ(λᵢ) = (uᵢᵀŶ)_c / (uᵢᵀX)_c (exact for a polynomial filter p(L): uᵢᵀp(L)x = p(λᵢ)uᵢᵀx),
  read for each eigenvalue from the column c where |uᵢᵀX| is largest (modes where it is below
  ``MODE_FLOOR`` of the RMS coefficient are skipped, so rounding is not read as response);
  ``response_error`` = max |ĥ(λᵢ) − g(λᵢ)|, ``response_overshoot`` = max ĥ(λᵢ) − max g(λᵢ):
  the Gibbs overshoot of a truncated expansion of the ideal low-pass (about 9% of the jump),
  which Jackson damping removes.

Reference g(L)X, in float64: grids (any size) by the DCT that diagonalises them
(``harness_builtins.spectral.graphs``); other graphs with n ≤ ``EIGH_LIMIT`` by dense eigh; larger
ones: the heat kernel by scipy's ``expm_multiply`` (independent of every method judged), the
other smooth filters by a converged high-degree Chebyshev expansion (degree doubled until
every coefficient past it is below 1e-15 of the coefficients' sum, then run at twice that
degree; agrees with eigh to 1e-13 in the tests; it shares its recurrence with the
``chebyshev`` method, whose own errors at the suite's degrees are far above 1e-13). The
ideal low- and band-pass on a large non-grid graph have no reference here, and are refused
with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from harness_builtins.spectral import graphs
from harness_builtins.spectral.filters import Filter

from harness import Problem, Task, hookimpl, task

EIGH_LIMIT = 3000
"""Largest non-grid graph given an eigh reference (about 5 s, and the n×n eigenvector matrix
travels with the problem to each case's worker)."""
MODE_FLOOR = 0.1
"""Eigen-modes whose largest |uᵢᵀX| over the columns is below this fraction of the RMS
coefficient are left out of the response metrics."""
REFERENCE_TAIL = 1e-15
"""The largest Chebyshev coefficient past degree K, relative to Σ|c_j|, at which the reference
takes the expansion as converged (computed coefficients carry a rounding floor of about 1e-16
Σ|c_j|, so a tail *sum* would never get there)."""
REFERENCE_MAX_DEGREE = 4096

Graph = Literal["grid2d", "grid3d", "geometric", "sbm", "barabasi_albert", "digits_knn"]
FilterKind = Literal[
    "heat", "low_pass", "band_pass", "kernel_ridge", "gradient_descent", "iterated_tikhonov"
]


def _spectral_coefficients(problem: Problem, Y: np.ndarray) -> np.ndarray:
    """Y's coefficients in the eigenbasis of L (the DCT for grids, Uᵀ Y otherwise)."""
    reference = problem.reference
    if "grid" in reference:
        return graphs.grid_transform(Y, *reference["grid"])
    return reference["basis"].T @ Y


def _response_metrics(problem: Problem, Y_hat: np.ndarray) -> dict[str, float]:
    reference = problem.reference
    C = reference["coefficients"]
    column = np.argmax(np.abs(C), axis=1)
    rows = np.arange(C.shape[0])
    largest = C[rows, column]
    kept = np.abs(largest) >= MODE_FLOOR * np.sqrt(np.mean(C**2))
    response = _spectral_coefficients(problem, Y_hat)[rows, column][kept] / largest[kept]
    target = reference["response"][kept]
    return {
        "response_error": float(np.max(np.abs(response - target))),
        "response_overshoot": float(np.max(response) - np.max(reference["response"])),
    }


def graph_filter_metrics(problem: Problem, output: Any) -> dict[str, float]:
    Y_hat, *rest = output if isinstance(output, tuple) else (output,)
    Y = problem.reference["filtered"]
    if Y_hat.shape != Y.shape:
        raise ValueError(f"output has shape {Y_hat.shape}, expected {Y.shape}")
    metrics = {"relative_error": float(np.linalg.norm(Y_hat - Y) / np.linalg.norm(Y))}
    if rest:
        metrics["products"] = float(np.ravel(rest[0])[0])
    if "coefficients" in problem.reference:
        metrics.update(_response_metrics(problem, Y_hat))
    return metrics


def make_filter(
    kind: str,
    lambda_max: float,
    *,
    t: float,
    cutoff: float,
    band_low: float,
    band_high: float,
    ridge: float,
    steps: int,
) -> Filter:
    """The ``Filter`` for the task's parameters: band edges as fractions of λ_max, the gradient
    descent step η = 1/λ_max (the largest step that keeps every mode from growing)."""
    if kind == "low_pass":
        return Filter("low_pass", high=cutoff * lambda_max)
    if kind == "band_pass":
        if not 0 < band_low < band_high:
            raise ValueError(f"band_pass needs 0 < band_low < band_high, got {band_low, band_high}")
        return Filter("band_pass", low=band_low * lambda_max, high=band_high * lambda_max)
    if kind == "gradient_descent":
        return Filter("gradient_descent", eta=1 / lambda_max, steps=steps)
    return Filter(kind, t=t, r=ridge, steps=steps)


def _graph_laplacian(
    graph: str, n: int, rng: np.random.Generator, mean_degree: float, blocks: int, neighbors: int
) -> Any:
    if graph == "geometric":
        from harness_builtins.preconditioners.spd_solve_task import geometric_graph_laplacian

        return geometric_graph_laplacian(n, mean_degree, rng)
    if graph == "sbm":
        return graphs.stochastic_block_laplacian(n, blocks, mean_degree, 10.0, rng)
    if graph == "barabasi_albert":
        return graphs.barabasi_albert_laplacian(n, max(1, round(mean_degree / 2)), rng)
    return graphs.digits_knn_laplacian(n, neighbors, rng)


def converged_chebyshev(L: Any, X: np.ndarray, g: Filter, lambda_max: float) -> np.ndarray:
    """g(L) X in float64 by a Chebyshev expansion of a degree where it has converged: the
    smallest K = 16·2^i with max_{K<j≤2K}|c_j| (from the degree-2K interpolant) below
    ``REFERENCE_TAIL`` Σ|c_j|, then run at degree 2K, where the geometric decay of an analytic
    g's coefficients has left the truncation far below rounding. For smooth g only."""
    import array_api_compat.numpy as xp
    from harness_builtins.spectral.spectral_filters import chebyshev, chebyshev_coefficients

    degree = 16
    while True:
        c = np.abs(chebyshev_coefficients(g, lambda_max, 2 * degree))
        if c[degree + 1 :].max() <= REFERENCE_TAIL * c.sum():
            return chebyshev(L, X, g, lambda_max, xp=xp, degree=2 * degree)[0]
        if degree >= REFERENCE_MAX_DEGREE:
            raise ArithmeticError(
                f"no Chebyshev reference for {g}: coefficients have not decayed to "
                f"{REFERENCE_TAIL} of their sum by degree {2 * degree}"
            )
        degree *= 2


def _graph(
    graph: str, n: int, rng: np.random.Generator, mean_degree: float, blocks: int, neighbors: int
) -> tuple[Any, np.ndarray | None, float, dict[str, Any]]:
    """The graph's Laplacian L, its eigenvalues where they are known, λ_max(L), and the start
    of the reference: a grid's shape (its eigenbasis is the DCT, its eigenvalues in closed
    form), or the eigenbasis of a graph of n ≤ ``EIGH_LIMIT`` (by eigh); for a larger graph
    no eigenvalues, and λ_max by Lanczos."""
    if graph in ("grid2d", "grid3d"):
        dimensions = 2 if graph == "grid2d" else 3
        m = graphs.grid_side(n, dimensions)
        L = graphs.grid_laplacian(m, dimensions)
        eigenvalues = graphs.grid_eigenvalues(m, dimensions).ravel()
        return L, eigenvalues, float(eigenvalues.max()), {"grid": (m, dimensions)}
    L = _graph_laplacian(graph, n, rng, mean_degree, blocks, neighbors)
    if n <= EIGH_LIMIT:
        eigenvalues, basis = np.linalg.eigh(L.toarray())
        return L, eigenvalues, float(eigenvalues[-1]), {"basis": basis}
    from scipy.sparse.linalg import eigsh

    return L, None, float(eigsh(L, k=1, which="LA", tol=1e-12)[0][0]), {}


def _filtered_in_eigenbasis(
    X: np.ndarray, g: Filter, eigenvalues: np.ndarray, reference: dict[str, Any]
) -> np.ndarray:
    """g(L)X exactly, in the eigenbasis ``reference`` holds (the DCT of a grid, or U); X's
    spectral coefficients and g on the spectrum go into ``reference`` for the response
    metrics."""
    coefficients = _spectral_coefficients(Problem((), reference), X)
    response = g(eigenvalues)
    filtered = (
        graphs.grid_transform(response[:, None] * coefficients, *reference["grid"], True)
        if "grid" in reference
        else reference["basis"] @ (response[:, None] * coefficients)
    )
    reference.update(coefficients=coefficients, response=response)
    return filtered


def _filtered_without_eigenbasis(
    L: Any, X: np.ndarray, g: Filter, lambda_max: float, graph: str
) -> np.ndarray:
    """g(L)X on a graph too large for eigh: the heat kernel by ``expm_multiply``, a smooth
    profile by a converged Chebyshev expansion; a discontinuous response has no reference
    (``ValueError``)."""
    if g.kind == "heat":  # independent of every method judged: Al-Mohy and Higham
        from scipy.sparse.linalg import expm_multiply

        return expm_multiply(-g.t * L, X)
    if g.smooth:  # the profiles; the same recurrence as `chebyshev`, at a converged degree
        return converged_chebyshev(L, X, g, lambda_max)
    raise ValueError(
        f"the {g.kind} filter on a {graph} graph with n = {X.shape[0]} > {EIGH_LIMIT} nodes "
        "has no exact reference (a discontinuous response needs the eigendecomposition; grids "
        "have one at any size)"
    )


@task(
    name="graph_filter",
    family="spectral_filter",
    size_names=("n", "signals"),
    metrics=graph_filter_metrics,
    main_metric="relative_error",
)
def generate_graph_filter(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    graph: Graph = "grid2d",
    filter: FilterKind = "heat",
    t: float = 1.0,
    cutoff: float = 0.25,
    band_low: float = 0.3,
    band_high: float = 0.5,
    ridge: float = 1.0,
    steps: int = 10,
    mean_degree: float = 10.0,
    blocks: int = 4,
    neighbors: int = 10,
) -> Problem:
    """A graph Laplacian L on n nodes, ``signals`` Gaussian signals X, a filter g, and g(L)X.

    Graphs: ``grid2d`` / ``grid3d`` (n = m² / m³ nodes, free boundary), ``geometric``
    (random geometric graph in the unit square, mean degree ``mean_degree``),
    ``sbm`` (stochastic block model: ``blocks`` equal blocks, 10× denser inside a block,
    mean degree ``mean_degree``), ``barabasi_albert`` (networkx; each node attaches to
    ``mean_degree``/2 others), ``digits_knn`` (symmetrised ``neighbors``-nearest-neighbour
    graph of n ≤ 1797 of scikit-learn's digits). Filters (``harness_builtins.spectral.filters``):
    ``heat`` exp(−tL); ``low_pass`` 1[λ ≤ cutoff·λ_max]; ``band_pass``
    1[band_low·λ_max ≤ λ ≤ band_high·λ_max]; the spectral-algorithm profiles
    ``kernel_ridge`` λ/(λ + ridge), ``gradient_descent`` 1 − (1 − λ/λ_max)^steps and
    ``iterated_tikhonov`` 1 − (ridge/(λ + ridge))^steps.
    """
    n, signals = sizes["n"], sizes["signals"]
    L, eigenvalues, lambda_max, reference = _graph(graph, n, rng, mean_degree, blocks, neighbors)
    g = make_filter(
        filter,
        lambda_max,
        t=t,
        cutoff=cutoff,
        band_low=band_low,
        band_high=band_high,
        ridge=ridge,
        steps=steps,
    )
    X = rng.standard_normal((n, signals))
    if eigenvalues is not None:
        filtered = _filtered_in_eigenbasis(X, g, eigenvalues, reference)
    else:
        filtered = _filtered_without_eigenbasis(L, X, g, lambda_max, graph)
    reference.update(filtered=filtered, lambda_max=lambda_max)
    return Problem(inputs=(L, X, g, lambda_max), reference=reference)


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_graph_filter]
