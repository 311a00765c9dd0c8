"""Spectral filters and spectral-norm bounds: correctness against exact answers (eigh, SVD, the
algorithms the profiles stand for), the bounds' sides, numpy against torch, and a suite through
the real command line."""

from __future__ import annotations

import itertools
import json

import array_api_compat.numpy as xp_numpy
import numpy as np
import pytest
from conftest import run_cli, run_one
from harness_builtins.spectral import graphs
from harness_builtins.spectral.filters import Filter
from harness_builtins.spectral.graph_filter_task import converged_chebyshev, generate_graph_filter
from harness_builtins.spectral.spectral_filters import (
    chebyshev,
    exact_eigh,
    gram_iteration,
    lanczos_extreme_eigenvalues,
    lanczos_steps,
    power_iteration,
)
from harness_builtins.spectral.spectral_norm_task import (
    generate_spectral_norm,
    spectral_norm_metrics,
)

from harness.plugins.registry import Registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load()


def graph_problem(n: int = 200, signals: int = 3, graph: str = "sbm", **problem: object):
    sizes = {"n": n, "signals": signals}
    return generate_graph_filter.generate(sizes, np.random.default_rng(0), graph=graph, **problem)


def cheb(problem, **params) -> np.ndarray:
    return chebyshev(*problem.inputs, xp=xp_numpy, **params)[0]


def relative_error(problem, Y: np.ndarray) -> float:
    return generate_graph_filter.metrics(problem, Y)["relative_error"]


# ------------------------------------------------------------------------------- graph filters


@pytest.mark.parametrize("graph", ["sbm", "barabasi_albert"])
def test_chebyshev_heat_error_falls_with_degree_to_float64_against_eigh(graph):
    problem = graph_problem(graph=graph, filter="heat", t=0.5)
    errors = [relative_error(problem, cheb(problem, degree=K)) for K in (4, 8, 16, 64)]
    assert all(a > b for a, b in itertools.pairwise(errors)), errors
    assert errors[-1] < 1e-12


def test_jackson_damping_removes_the_gibbs_overshoot_of_the_ideal_low_pass():
    problem = graph_problem(n=400, filter="low_pass", cutoff=0.3)
    metrics = generate_graph_filter.metrics
    plain = metrics(problem, cheb(problem, degree=60))
    damped = metrics(problem, cheb(problem, degree=60, damping="jackson"))
    assert plain["response_overshoot"] > 0.05  # Gibbs: ~9% of the jump, or more
    assert damped["response_overshoot"] < 0.005
    # the truncated series rings everywhere; the damped one errs only near the cutoff
    assert damped["response_error"] <= plain["response_error"] + 0.05


def test_grid_reference_is_the_exact_eigendecomposition():
    L = graphs.grid_laplacian(6, 2)
    lam = graphs.grid_eigenvalues(6, 2).ravel()
    X = np.random.default_rng(1).standard_normal((36, 2))
    C = graphs.grid_transform(X, 6, 2)
    assert np.allclose(graphs.grid_transform(lam[:, None] * C, 6, 2, inverse=True), L @ X)
    assert np.allclose(np.sort(lam), np.linalg.eigvalsh(L.toarray()))
    with pytest.raises(ValueError, match=r"closest: 961 \(31\^2\) or 1024 \(32\^2\)"):
        graphs.grid_side(1000, 2)


@pytest.mark.parametrize("graph", ["sbm", "geometric", "barabasi_albert", "digits_knn"])
def test_graphs_are_laplacians(graph):
    L = graph_problem(n=200, graph=graph).inputs[0]
    assert (L - L.T).nnz == 0
    assert np.allclose(L @ np.ones(200), 0)
    assert L.diagonal().min() >= 0 and L.nnz > 200


def test_converged_chebyshev_reference_matches_eigh_and_expm_multiply():
    from scipy.sparse.linalg import expm_multiply

    for kind in ("heat", "kernel_ridge", "iterated_tikhonov"):
        problem = graph_problem(graph="geometric", filter=kind)
        L, X, g, lambda_max = problem.inputs
        assert relative_error(problem, converged_chebyshev(L, X, g, lambda_max)) < 1e-13
    problem = graph_problem(graph="geometric", filter="heat", t=2.0)
    L, X, g, lambda_max = problem.inputs
    assert relative_error(problem, expm_multiply(-2.0 * L, X)) < 1e-13


def test_large_discontinuous_filter_without_reference_is_refused():
    with pytest.raises(ValueError, match="no exact reference"):
        graph_problem(n=4000, signals=1, graph="sbm", filter="low_pass")


@pytest.mark.parametrize("kind", ["heat", "low_pass", "kernel_ridge"])
def test_lanczos_filter_against_eigh(registry, kind):
    problem = graph_problem(graph="geometric", filter=kind)
    lanczos = registry.method("lanczos")
    errors = [
        relative_error(problem, lanczos(*problem.inputs, xp=xp_numpy, steps=k)[0]) for k in (5, 40)
    ]
    assert errors[1] < errors[0]
    if kind != "low_pass":
        assert errors[1] < 1e-8


# ------------------------------------------------------------------ spectral-algorithm profiles


def psd_kernel(n: int = 120) -> np.ndarray:
    points = np.random.default_rng(3).standard_normal((n, 5))
    return np.exp(-0.5 * ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))


def apply_filter(K: np.ndarray, y: np.ndarray, g: Filter) -> np.ndarray:
    L, Y = K, y[:, None]
    return exact_eigh(L, Y, g, float(np.linalg.eigvalsh(K)[-1]), xp=xp_numpy)[:, 0]


def test_profiles_are_the_fitted_values_of_their_algorithms():
    K = psd_kernel()
    y = np.random.default_rng(4).standard_normal(len(K))
    r, q, eta, t = 0.3, 4, 1 / np.linalg.eigvalsh(K)[-1], 25
    ridge = K @ np.linalg.solve(K + r * np.eye(len(K)), y)
    alpha = np.zeros_like(y)
    for _ in range(t):  # gradient descent on the kernel least-squares objective
        alpha = alpha + eta * (y - K @ alpha)
    gradient_descent = K @ alpha
    alpha = np.zeros_like(y)
    for _ in range(q):  # iterated Tikhonov
        alpha = np.linalg.solve(K + r * np.eye(len(K)), y + r * alpha)
    tikhonov = K @ alpha
    for fitted, g in [
        (ridge, Filter("kernel_ridge", r=r)),
        (gradient_descent, Filter("gradient_descent", eta=eta, steps=t)),
        (tikhonov, Filter("iterated_tikhonov", r=r, steps=q)),
    ]:
        assert np.linalg.norm(apply_filter(K, y, g) - fitted) < 1e-12 * np.linalg.norm(fitted)


def test_chebyshev_of_the_gradient_descent_profile_is_exact_at_its_degree():
    problem = graph_problem(filter="gradient_descent", steps=12)
    assert relative_error(problem, cheb(problem, degree=12)) < 1e-13
    assert relative_error(problem, cheb(problem, degree=11)) > 1e-9


# ----------------------------------------------------------------------------- spectral norms


def norm_problem(matrix: str, m: int = 60, n: int = 40, seed: int = 0, **problem: object):
    rng = np.random.default_rng(seed)
    return generate_spectral_norm.generate({"m": m, "n": n}, rng, matrix=matrix, **problem)


NORM_CASES = [("gaussian", s) for s in range(4)] + [
    ("logspace", 0),
    ("logspace", 1),
    ("conv", 0),
    ("conv", 1),
]


@pytest.mark.parametrize(("matrix", "seed"), NORM_CASES)
def test_gram_iteration_never_below_power_iteration_never_above(matrix, seed):
    problem = norm_problem(matrix, seed=seed, m=12 if matrix == "conv" else 60, image_size=8)
    (W,), sigma = problem.inputs, problem.reference["norm"]
    gram = [float(e) for e, _ in gram_iteration.iterates(W, xp=xp_numpy, steps=12)]
    power = [float(e) for e, _ in power_iteration.iterates(W, xp=xp_numpy, steps=60, seed=seed)]
    assert min(gram) >= sigma * (1 - 1e-13)
    assert max(power) <= sigma * (1 + 1e-13)
    assert gram[-1] <= sigma * (1 + 1e-12)  # converged from above
    assert all(a >= b * (1 - 1e-14) for a, b in itertools.pairwise(gram))


def test_spectral_norm_metrics_flag_a_broken_bound():
    problem = norm_problem("gaussian")
    sigma = problem.reference["norm"]
    above, below = np.array(sigma * 1.01), np.array(sigma * 0.99)
    metrics = spectral_norm_metrics
    assert metrics(problem, (above, np.array(1.0)))["bound_violated"] == 0
    assert metrics(problem, (below, np.array(1.0)))["bound_violated"] == 1
    assert metrics(problem, (above, np.array(-1.0)))["bound_violation"] == pytest.approx(0.01)
    assert metrics(problem, (below, np.array(0.0)))["bound_violated"] == 0


def test_lanczos_extreme_eigenvalues():
    rng = np.random.default_rng(5)
    eigenvalues = np.r_[-3.0, np.linspace(-2, 4, 298), 5.0]
    Q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    A = (Q * eigenvalues) @ Q.T
    lows, highs = [], []
    for state, _ in lanczos_steps(xp_numpy, lambda V: A @ V, rng.standard_normal((300, 1)), 60):
        low, high = lanczos_extreme_eigenvalues(state)
        lows.append(low[0])
        highs.append(high[0])
    assert min(lows) >= -3 - 1e-12 and max(highs) <= 5 + 1e-12  # Ritz values inside
    assert abs(lows[-1] + 3) < 1e-8 and abs(highs[-1] - 5) < 1e-8


def test_lanczos_norm_is_a_lower_bound_and_converges(registry):
    problem = norm_problem("logspace", m=200, n=100, kappa=100.0)
    (W,), sigma = problem.inputs, problem.reference["norm"]
    estimates = [float(e) for e, _ in registry.method("lanczos").iterates(W, xp=xp_numpy)]
    assert max(estimates) <= sigma * (1 + 1e-13)
    assert abs(estimates[-1] - sigma) < 1e-10 * sigma


# ---------------------------------------------------------------------- through the harness


CASES = [
    ("spectral_norm", "gram_iteration", {"m": 50, "n": 30}, {}, {"matrix": "logspace"}),
    ("spectral_norm", "power_iteration", {"m": 8, "n": 6}, {}, {"matrix": "conv", "image_size": 8}),
    ("graph_filter", "chebyshev", {"n": 256, "signals": 2}, {"degree": 15}, {}),
    ("graph_filter", "lanczos", {"n": 200, "signals": 2}, {"steps": 8}, {"graph": "sbm"}),
]


@pytest.mark.parametrize(("task", "method", "sizes", "params", "problem"), CASES)
def test_numpy_and_torch_metrics_agree_to_dtype_precision(
    registry, task, method, sizes, params, problem
):
    pytest.importorskip("torch")
    for dtype, tolerance in (("float64", 1e-12), ("float32", 1e-5)):
        results = [
            run_one(
                task,
                method,
                sizes,
                backend=b,
                dtype=dtype,
                params=params,
                registry=registry,
                **problem,
            )
            for b in ("numpy", "torch")
        ]
        assert [r.status for r in results] == ["ok", "ok"], [r.message for r in results]
        ours, theirs = (r.metrics for r in results)
        assert ours.keys() == theirs.keys()
        for name, value in ours.items():
            assert abs(value - theirs[name]) <= tolerance * max(1.0, abs(value)), name
        assert len(results[0].curve) == len(results[1].curve)


def test_expm_multiply_runs_on_numpy_only_and_on_the_heat_kernel_only(registry):
    sizes = {"n": 256, "signals": 2}
    ok = run_one("graph_filter", "expm_multiply", sizes, registry=registry, t=3.0)
    assert ok.status == "ok" and ok.metrics["relative_error"] < 1e-12
    refused = run_one("graph_filter", "expm_multiply", sizes, backend="torch", registry=registry)
    assert refused.status == "unsupported" and "runs on numpy" in refused.message
    wrong = run_one("graph_filter", "expm_multiply", sizes, registry=registry, filter="low_pass")
    assert wrong.status == "error" and "heat kernel" in wrong.message


def test_spectral_suite_through_the_cli(tmp_path):
    suite = tmp_path / "spectral-tiny.yaml"
    suite.write_text(
        "timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, roofline: false}\n"
        "benchmarks:\n"
        "  - task: spectral_norm\n"
        "    sizes: [[64, 32]]\n"
        "    methods: [gram_iteration, {name: power_iteration, params: {steps: 20}}]\n"
        "    backends: [numpy]\n"
        "    dtypes: [float64]\n"
        "  - task: graph_filter\n"
        "    problem: {filter: [heat, low_pass]}\n"
        "    sizes: [[256, 2]]\n"
        "    methods: [{name: chebyshev, params: {degree: 10, damping: [none, jackson]}}]\n"
        "    backends: [numpy]\n"
        "    dtypes: [float32]\n"
    )
    result = run_cli("run", str(suite), "--db", str(tmp_path / "r.sqlite"), "--json")
    assert result.returncode == 0, result.stderr
    cases = json.loads(result.stdout)["cases"]
    assert len(cases) == 6 and {c["status"] for c in cases} == {"ok"}
    gram = next(c for c in cases if c["method"] == "gram_iteration")
    assert gram["metrics"]["bound_violated"] == 0 and gram["metrics"]["relative_error"] < 1e-6
    heat = [
        c for c in cases if c["problem"] == {"filter": "heat"} and c["params"]["damping"] == "none"
    ]
    assert all(
        c["metrics"]["relative_error"] < 1e-4 and c["metrics"]["products"] == 10 for c in heat
    )
