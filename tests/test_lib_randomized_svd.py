"""Randomized range finder and SVD (task low_rank_approx): the Halko–Martinsson–Tropp
expected-error bounds on a known spectrum, power iterations, LU against QR normalisation,
every sketch as the test matrix, numpy against torch, the scikit-learn and torch references,
the task's inputs and errors, and a small suite of every sketch task through the CLI."""

from __future__ import annotations

import functools
import json
import math

import array_api_compat.numpy as xnp
import array_api_compat.torch as xtorch
import numpy as np
import pytest
import torch
from conftest import run_cli
from conftest import run_one as run_case_inline
from harness_builtins.sketches.low_rank_approx_task import low_rank_approx_metrics
from harness_builtins.sketches.randomized_svd import orthonormal_basis, randomized_svd, range_finder
from harness_builtins.sketches.sketches import SKETCH_NAMES

from harness.plugins.registry import Registry

REGISTRY = Registry.load()


def run_one(task: str, method: str, sizes: dict, **options):
    """One case through the runner (inline), with this module's registry."""
    return run_case_inline(task, method, sizes, registry=REGISTRY, **options)


SEEDS = range(10)


@functools.cache
def problem(m=200, n=120, k=10, **structure):
    task = REGISTRY.task("low_rank_approx")
    return task.generate({"m": m, "n": n, "k": k}, np.random.default_rng(0), **structure)


def hmt_spectral_bound(sigma: np.ndarray, k: int, p: int, q: int) -> float:
    """Halko, Martinsson and Tropp (2011), Corollary 10.10 (Theorem 10.6 for q = 0): for a
    standard Gaussian Ω with k + p columns, p ≥ 2, and Q = orth((AAᵀ)^q A Ω),

        E‖A − QQᵀA‖₂ ≤ [(1 + √(k/(p−1))) σ_{k+1}^(2q+1)
                        + (e√(k+p)/p) (Σ_{j>k} σⱼ^(2(2q+1)))^½]^(1/(2q+1)).
    """
    power = 2 * q + 1
    tail = math.sqrt(np.sum(sigma[k:] ** (2 * power)))
    inner = (1 + math.sqrt(k / (p - 1))) * sigma[k] ** power + math.e * math.sqrt(k + p) / p * tail
    return inner ** (1 / power)


def hmt_frobenius_bound(sigma: np.ndarray, k: int, p: int) -> float:
    """Halko, Martinsson and Tropp (2011), Theorem 10.5 (q = 0, p ≥ 2):
    E‖A − QQᵀA‖_F ≤ (1 + k/(p−1))^½ (Σ_{j>k} σⱼ²)^½."""
    return math.sqrt(1 + k / (p - 1)) * math.sqrt(np.sum(sigma[k:] ** 2))


@pytest.mark.parametrize(("p", "q"), [(5, 0), (10, 0), (5, 1)])
def test_range_finder_error_is_within_the_hmt_expected_error_bound(p, q):
    k = 10
    prob = problem(k=k, spectrum="polynomial", exponent=1.0)
    A, sigma = prob.inputs[0], prob.reference["singular_values"]
    spectral, frobenius = [], []
    for seed in SEEDS:
        Q = range_finder(A, k, xp=xnp, oversampling=p, power_iterations=q, seed=seed)
        metrics = low_rank_approx_metrics(prob, Q)
        spectral.append(metrics["spectral_ratio"] * sigma[k])
        frobenius.append(metrics["frobenius_ratio"] * math.sqrt(np.sum(sigma[k:] ** 2)))
    # the mean over 10 seeds estimates the expectation; the bounds are loose by a factor of a
    # few here, so the test has room for the estimate's spread
    assert np.mean(spectral) <= hmt_spectral_bound(sigma, k, p, q)
    if q == 0:
        assert np.mean(frobenius) <= hmt_frobenius_bound(sigma, k, p)
    # and no basis of k + p columns beats the optimal one: ‖A − QQᵀA‖₂ ≥ σ_{k+p+1}
    assert min(spectral) >= sigma[k + p] * (1 - 1e-12)


def test_power_iterations_converge_towards_the_optimal_rank_k_error():
    prob = problem(k=10, spectrum="polynomial", exponent=0.5)  # slow decay: q matters
    errors = [
        low_rank_approx_metrics(prob, randomized_svd(*prob.inputs, xp=xnp, power_iterations=q))
        for q in (0, 1, 3)
    ]
    ratios = [e["spectral_ratio"] for e in errors]
    assert ratios[0] > ratios[1] > ratios[2] >= 1 - 1e-12
    assert ratios[2] < 1.1 and errors[2]["sigma_error"] < 0.02


def test_the_convergence_curve_has_one_point_per_power_iteration():
    result = run_one(
        "low_rank_approx",
        "range_finder",
        {"m": 200, "n": 120, "k": 10},
        params={"power_iterations": 3},
        spectrum="polynomial",
        exponent=0.5,
    )
    assert result.status == "ok", result.message
    assert [point["step"] for point in result.curve] == [1, 2, 3, 4]
    ratios = [point["spectral_ratio"] for point in result.curve]
    assert ratios == sorted(ratios, reverse=True)
    assert ratios[-1] == pytest.approx(result.metrics["spectral_ratio"])


@pytest.mark.parametrize("xp", [xnp, xtorch], ids=["numpy", "torch"])
def test_lu_normalisation_spans_the_same_range_as_qr(xp):
    Y = np.random.default_rng(1).standard_normal((200, 15)) @ np.diag(np.logspace(0, -6, 15))
    Y_dev = xp.asarray(Y)
    basis = np.asarray(orthonormal_basis(xp, Y_dev, "lu"))
    # P L: unit lower trapezoidal up to a row permutation, and Y = (P L) U for an upper U
    assert np.abs(basis).max() <= 1 + 1e-12
    U = np.linalg.lstsq(basis, Y, rcond=None)[0]
    np.testing.assert_allclose(basis @ U, Y, atol=1e-12)
    np.testing.assert_allclose(np.tril(U, -1), 0, atol=1e-10)
    prob = problem()
    lu = randomized_svd(*prob.inputs, xp=xnp, orthonormalize="lu")
    qr = randomized_svd(*prob.inputs, xp=xnp, orthonormalize="qr")
    np.testing.assert_allclose((lu[0] * lu[1]) @ lu[2], (qr[0] * qr[1]) @ qr[2], atol=1e-12)


@pytest.mark.parametrize("sketch", SKETCH_NAMES)
def test_every_sketch_works_as_the_test_matrix(sketch):
    result = run_one(
        "low_rank_approx",
        "randomized_svd",
        {"m": 200, "n": 120, "k": 10},
        params={"sketch": sketch, "power_iterations": 1},
    )
    assert result.status == "ok", result.message
    assert 1 - 1e-12 <= result.metrics["spectral_ratio"] < 1.5


@pytest.mark.parametrize("method_name", ["range_finder", "randomized_svd"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numpy_and_torch_agree_to_dtype_precision(method_name, dtype):
    prob = problem(spectrum="exponential", rate=0.3)  # a clear gap at k: a stable subspace
    A, k = prob.inputs
    outputs = []
    for xp, A_dev in ((xnp, A.astype(dtype)), (xtorch, torch.from_numpy(A.astype(dtype)))):
        out = REGISTRY.method(method_name)(A_dev, k, xp=xp, seed=3)
        out = out if isinstance(out, tuple) else (out,)
        outputs.append(tuple(np.asarray(o, dtype=np.float64) for o in out))
    (a, b) = outputs
    if method_name == "range_finder":  # bases agree up to column signs: compare projectors
        P, R = a[0] @ a[0].T, b[0] @ b[0].T
    else:
        P, R = (a[0] * a[1]) @ a[2], (b[0] * b[1]) @ b[2]
    tolerance = {"float64": 1e-11, "float32": 1e-4}[dtype]
    assert np.linalg.norm(P - R) / np.linalg.norm(P) < tolerance


def test_references_match_ours_at_equal_k_p_q():
    prob = problem(spectrum="polynomial", exponent=0.5)
    A, k = prob.inputs
    ours = low_rank_approx_metrics(prob, randomized_svd(A, k, xp=xnp, power_iterations=2))
    references = (
        REGISTRY.method("sklearn_randomized_svd")(A, k, xp=xnp, power_iterations=2),
        REGISTRY.method("torch_svd_lowrank")(torch.from_numpy(A), k, xp=xtorch, power_iterations=2),
    )
    for output in references:
        theirs = low_rank_approx_metrics(prob, tuple(np.asarray(o) for o in output))
        assert theirs["spectral_ratio"] == pytest.approx(ours["spectral_ratio"], rel=0.05)
    refused = run_one(
        "low_rank_approx", "sklearn_randomized_svd", {"m": 30, "n": 20, "k": 2}, backend="torch"
    )
    assert refused.status == "unsupported" and "runs on numpy" in refused.message


def test_real_inputs_digits_and_low_rank_plus_noise():
    digits = problem(m=1797, n=64, k=10, spectrum="digits")
    metrics = low_rank_approx_metrics(digits, randomized_svd(*digits.inputs, xp=xnp))
    assert metrics["spectral_ratio"] < 1.2
    noisy = problem(m=200, n=150, k=5, spectrum="low_rank_noise", rank=5, noise=1e-3)
    metrics = low_rank_approx_metrics(noisy, randomized_svd(*noisy.inputs, xp=xnp))
    assert metrics["sigma_error"] < 1e-5


def test_task_and_method_refuse_bad_ranks():
    with pytest.raises(ValueError, match=r"numerical rank ≤ k = 63"):
        problem(m=1797, n=64, k=63, spectrum="digits")
    with pytest.raises(ValueError, match=r"k = 120 must lie in \[1, min\(m, n\) − 1 = 119\]"):
        problem(k=120)
    prob = problem(m=60, n=40, k=35)
    with pytest.raises(
        ValueError, match=r"k \+ oversampling p = 35 \+ 10 exceeds min\(m, n\) = 40"
    ):
        randomized_svd(*prob.inputs, xp=xnp)
    with pytest.raises(ValueError, match="'gausian' is not one of 'gaussian'"):
        run_one(
            "low_rank_approx",
            "randomized_svd",
            {"m": 60, "n": 40, "k": 5},
            params={"sketch": "gausian"},
        )


@pytest.mark.slow
def test_a_small_sketch_suite_through_the_cli(tmp_path):
    suite = tmp_path / "sketch-tasks.yaml"
    suite.write_text(
        "timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, roofline: false, "
        "isolation: inline}\n"
        "benchmarks:\n"
        "  - task: low_rank_approx\n"
        "    sizes: [[120, 80, 5]]\n"
        "    methods:\n"
        "      - name: randomized_svd\n"
        "        params: {sketch: [gaussian, srht], power_iterations: 1}\n"
        "      - range_finder\n"
        "      - sklearn_randomized_svd\n"
        "      - torch_svd_lowrank\n"
        "    backends: [numpy, torch]\n"
        "    dtypes: [float64]\n"
        "  - task: least_squares\n"
        "    problem: {kappa: 1.0e+6}\n"
        "    sizes: [[1000, 20]]\n"
        "    methods: [sketch_and_solve, sketch_precondition_lsqr, numpy_lstsq]\n"
        "    backends: [numpy]\n"
        "    dtypes: [float64]\n"
        "  - task: trace_estimation\n"
        "    sizes: [[100]]\n"
        "    methods: [hutchinson, hutchpp]\n"
        "    backends: [numpy]\n"
        "    dtypes: [float32]\n"
    )
    result = run_cli("run", str(suite), "--db", str(tmp_path / "r.sqlite"), "--json")
    assert result.returncode == 0, result.stderr
    cases = json.loads(result.stdout)["cases"]
    statuses = {(c["method"], c["backend"], c["status"]) for c in cases}
    assert ("sklearn_randomized_svd", "torch", "unsupported") in statuses
    assert ("torch_svd_lowrank", "numpy", "unsupported") in statuses
    ok = [c for c in cases if c["status"] == "ok"]
    assert len(ok) == 2 * 3 + 2 + 3 + 2  # randomized_svd ×2 sketches + range_finder per backend
    lsqr = next(c for c in ok if c["method"] == "sketch_precondition_lsqr")
    assert lsqr["metrics"]["residual_ratio"] < 1e-12 and lsqr["metrics"]["iterations"] >= 1
    suite.write_text(suite.read_text().replace("[gaussian, srht]", "gausian"))
    refused = run_cli("run", str(suite), "--db", str(tmp_path / "r.sqlite"))
    assert refused.returncode == 2
    assert "'gausian' is not one of" in refused.stderr + refused.stdout


@pytest.mark.parametrize(
    ("reference", "mirror"),
    [
        ("sklearn_gaussian_projection", "gaussian"),
        ("sklearn_sparse_projection", "very_sparse"),
        ("scipy_clarkson_woodruff", "countsketch"),
    ],
)
def test_reference_sketches_embed_like_the_sketches_they_mirror(reference, mirror):
    distortion = {}
    for name in (reference, mirror):
        runs = [
            run_one("subspace_embedding", name, {"m": 2000, "n": 10}, params={"seed": seed}, s=200)
            for seed in range(3)
        ]
        assert all(r.status == "ok" for r in runs), runs[0].message
        distortion[name] = np.median([r.metrics["distortion"] for r in runs])
    # same distribution, different random streams: the same distortion within the spread
    # of three draws (about 0.2–0.35 at s = 20n)
    assert distortion[reference] == pytest.approx(distortion[mirror], abs=0.15)
    assert distortion[reference] < 0.5
