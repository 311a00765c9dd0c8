"""The orthogonalizer library: every method against its reference on small inputs, the
METHODS.md facts about the coefficient sets, and the task's new inputs."""

from __future__ import annotations

import functools

import array_api_compat.numpy as xnp
import numpy as np
import pytest
from conftest import run_one, run_orthogonalize
from harness_builtins.orthogonalizers.orthogonal_parametrizations import householder_chain
from harness_builtins.orthogonalizers.orthogonalize_task import generate_orthogonalize
from harness_builtins.orthogonalizers.orthogonalizers import newton_schulz, robust_core

from harness.plugins.registry import Registry
from harness.run.case import CaseResult

REGISTRY = Registry.load()
BACKENDS_DTYPES = [
    (backend, dtype) for backend in ("numpy", "torch") for dtype in ("float64", "float32")
]
UNIT = {"float64": 1.1e-16, "float32": 6e-8}


run = functools.partial(run_orthogonalize, m=32, n=96, registry=REGISTRY)


def sigma_errors(G: np.ndarray, coefficients: str, steps: int) -> list[float]:
    return [
        float(np.max(np.abs(np.linalg.svd(Q, compute_uv=False) - 1)))
        for Q in newton_schulz.iterates(G, xp=xnp, steps=steps, coefficients=coefficients)
    ]


@pytest.fixture(scope="module")
def gaussian_wide() -> np.ndarray:
    return generate_orthogonalize.generate({"m": 128, "n": 512}, np.random.default_rng(0)).inputs[0]


def test_muon_stalls_near_0_32(gaussian_wide):
    errors = sigma_errors(gaussian_wide, "muon", 10)
    assert 0.28 < errors[4] < 0.36  # METHODS.md: ≈ 0.32 after 5 steps
    assert all(0.28 < e < 0.36 for e in errors[4:])  # ... and it stays there


def test_you_reaches_about_0_03_after_5_steps(gaussian_wide):
    assert 0.02 < sigma_errors(gaussian_wide, "you", 5)[4] < 0.045  # METHODS.md: ≈ 0.03


def test_polar_express_converges_to_machine_precision_by_step_8(gaussian_wide):
    errors = sigma_errors(gaussian_wide, "polar_express", 8)
    assert 0.08 < errors[4] < 0.18  # METHODS.md: ≈ 0.13 after 5 steps
    assert errors[7] < 1e-14


def test_custom_coefficients_equal_the_named_set(gaussian_wide):
    named = list(newton_schulz.iterates(gaussian_wide, xp=xnp, steps=3, coefficients="muon"))
    custom = list(
        newton_schulz.iterates(
            gaussian_wide, xp=xnp, steps=3, coefficients="custom", custom=(3.4445, -4.7750, 2.0315)
        )
    )
    np.testing.assert_array_equal(named[-1], custom[-1])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"coefficients": "custom", "custom": [1.0, 2.0]}, "flat list of (a, b, c) triples"),
        ({"coefficients": "muon", "custom": [1.0, 2.0, 3.0]}, "only read with coefficients"),
    ],
)
def test_bad_custom_coefficients_are_clear_errors(params, message):
    result = run("newton_schulz", params=params)
    assert result.status == "error"
    assert message in result.message


@pytest.mark.parametrize(("backend", "dtype"), BACKENDS_DTYPES)
@pytest.mark.parametrize(
    "method_name",
    [
        "svd_polar",
        "qr_householder",
        "cholesky_qr2",
        "randomized_cholesky_qr",
        "modified_gram_schmidt",
    ],
)
def test_exact_orthonormalizers(method_name, backend, dtype):
    result = run(method_name, backend, dtype, spectrum="logspace", kappa=100.0)
    assert result.status == "ok", result.message
    tol = 200 * UNIT[dtype] * (100 if method_name == "modified_gram_schmidt" else 1)
    assert result.metrics["orthogonality_error"] < tol
    assert result.metrics["subspace_error"] < 1e4 * UNIT[dtype]  # spans range(G)
    if method_name == "svd_polar":
        assert result.metrics["polar_distance"] < 1e4 * UNIT[dtype]
    else:  # an orthonormal basis, honestly not the polar factor
        assert result.metrics["polar_distance"] > 0.1


@pytest.mark.parametrize(("backend", "dtype"), BACKENDS_DTYPES)
def test_jacobi_svd_converges_to_the_polar_factor(backend, dtype):
    result = run("jacobi_svd", backend, dtype, params={"sweeps": 12}, spectrum="logspace")
    assert result.status == "ok", result.message
    assert result.metrics["polar_distance"] < 1e3 * UNIT[dtype]
    assert len(result.curve) == 12
    assert result.curve[-1]["polar_distance"] < result.curve[0]["polar_distance"] * 1e-4


@pytest.mark.parametrize(("backend", "dtype"), BACKENDS_DTYPES)
@pytest.mark.parametrize("method_name", ["cayley", "householder_chain"])
def test_orthogonal_parametrizations_are_orthogonal_to_machine_precision(
    method_name, backend, dtype
):
    result = run(method_name, backend, dtype, m=48, n=48)
    assert result.status == "ok", result.message
    assert result.metrics["orthogonality_error"] < 50 * UNIT[dtype]
    assert result.metrics["max_sigma_error"] < 50 * UNIT[dtype]


def test_cayley_matches_the_exact_transform_and_refuses_rectangles():
    G = np.random.default_rng(1).standard_normal((24, 24))
    W = (G - G.T) / 2
    exact = np.linalg.solve(np.eye(24) - W, np.eye(24) + W)
    np.testing.assert_allclose(REGISTRY.method("cayley")(G, xp=xnp), exact, atol=1e-13)
    result = run("cayley", m=24, n=48)
    assert result.status == "unsupported" and "square input" in result.message


def test_householder_chain_is_a_low_rank_update_of_the_identity():
    G = np.random.default_rng(2).standard_normal((40, 40))
    Q = householder_chain(G, xp=xnp, reflections=5)
    np.testing.assert_allclose(Q.T @ Q, np.eye(40), atol=1e-14)
    assert np.linalg.matrix_rank(Q - np.eye(40), tol=1e-10) <= 5


def test_cholesky_qr2_fails_cleanly_on_a_rank_deficient_input():
    rng = np.random.default_rng(3)
    low_rank = rng.standard_normal((64, 8)) @ rng.standard_normal((8, 32))
    for backend in ("numpy", "torch"):
        result = run_with_input("cholesky_qr2", low_rank, backend)
        assert result.status == "error"
        assert result.message.startswith("RankDeficientError: Cholesky QR")
        assert result.metrics == {}
    # the sketched variant is not fooled either: it needs a full-rank input too
    assert run_with_input("randomized_cholesky_qr", low_rank).status == "error"


def run_with_input(method_name: str, G: np.ndarray, backend: str = "numpy") -> CaseResult:
    """Run one case of the orthogonalize task on a given matrix (a one-off task plugin)."""
    from harness_builtins.orthogonalizers.orthogonalize_task import orthogonalize_metrics

    from harness import Problem, hookimpl, task

    @task(
        name="fixed_matrix",
        family="orthogonalizer",
        size_names=("m", "n"),
        metrics=orthogonalize_metrics,
    )
    def fixed(sizes, rng):
        U, _, Vh = np.linalg.svd(G, full_matrices=False)
        return Problem(inputs=(G,), reference={"polar": U @ Vh})

    class Plugin:
        @hookimpl
        def harness_tasks(self):
            return [fixed]

    registry = Registry.load(extra=[("fixed", Plugin())])
    m, n = G.shape
    return run_one(
        "fixed_matrix", method_name, {"m": m, "n": n}, backend=backend, registry=registry
    )


def test_modified_gram_schmidt_loses_orthogonality_with_kappa():
    errors = [
        run("modified_gram_schmidt", m=96, n=32, spectrum="logspace", kappa=k).metrics[
            "orthogonality_error"
        ]
        for k in (1e2, 1e8)
    ]
    assert errors[1] > 1e3 * errors[0]


def test_root_uses_size_adaptive_coefficients_and_the_robust_core():
    G = np.random.default_rng(4).standard_normal((8, 16))
    core = robust_core(xnp, G, 0.9)
    tau = np.quantile(np.abs(G), 0.9)
    np.testing.assert_allclose(core, np.clip(G, -tau, tau))
    plain = run("root", params={"steps": 5})
    muon = run("newton_schulz", params={"steps": 5})
    assert plain.metrics == muon.metrics  # 32×96 is not a ROOT shape: Muon's coefficients
    robust = run("root", params={"steps": 5, "robust": True})
    assert robust.status == "ok" and robust.metrics != plain.metrics


@pytest.mark.parametrize(("backend", "dtype"), BACKENDS_DTYPES)
def test_auon_is_a_spectral_contraction_aligned_with_the_polar_factor(backend, dtype):
    auon = run("auon", backend, dtype)
    hybrid = run("hybrid_auon", backend, dtype)
    assert auon.status == hybrid.status == "ok"
    for result in (auon, hybrid):
        assert 0 < result.metrics["spectral_norm_error"] < 1  # ‖U‖₂ < 1
        assert result.metrics["orthogonality_error"] > 0.5  # not an orthogonalizer
    assert hybrid.metrics["alignment_error"] < auon.metrics["alignment_error"]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_torch_muon_baseline_matches_newton_schulz_in_bfloat16(dtype):
    ours = run("newton_schulz", "torch", "bfloat16", params={"steps": 5})
    theirs = run("torch_muon", "torch", dtype, params={"steps": 5})
    assert theirs.status == "ok", theirs.message
    for name in ("max_sigma_error", "polar_distance"):
        assert abs(theirs.metrics[name] - ours.metrics[name]) < 0.05, name
    assert run("torch_muon", "numpy").status == "unsupported"


def test_batched_input_takes_the_worst_matrix():
    problem = generate_orthogonalize.generate(
        {"m": 16, "n": 24}, np.random.default_rng(0), spectrum="logspace", batch=3
    )
    assert problem.inputs[0].shape == (3, 16, 24)
    for method_name in ("newton_schulz", "svd_polar", "qr_householder", "jacobi_svd"):
        result = run(method_name, m=16, n=24, spectrum="logspace", batch=3)
        assert result.status == "ok", (method_name, result.message)
    assert run("svd_polar", m=16, n=24, batch=3).metrics["polar_distance"] < 1e-13


def test_low_rank_noise_spectrum():
    problem = generate_orthogonalize.generate(
        {"m": 64, "n": 128}, np.random.default_rng(0), spectrum="low_rank_noise", rank=4, noise=1e-3
    )
    s = np.linalg.svd(problem.inputs[0], compute_uv=False)
    assert np.all(np.abs(s[:4] - 1) < 0.01)
    assert s[4] < 3e-3
