"""The sketches of harness_builtins.sketches.sketches and the subspace_embedding and
matrix_product tasks."""

from __future__ import annotations

import json
import math

import array_api_compat.numpy as xnp
import array_api_compat.torch as xtorch
import numpy as np
import pytest
import scipy.fft
import scipy.linalg
import scipy.sparse
import torch
from conftest import run_cli, run_one
from harness_builtins.sketches.sketches import (
    SKETCH_NAMES,
    apply_sketch,
    dct_ortho,
    fwht,
    inclusion_probabilities,
    pivotal_sample,
    real_fourier_ortho,
)
from harness_builtins.sketches.subspace_embedding_task import spiky_rows

OBLIVIOUS = [name for name in SKETCH_NAMES if name != "leverage_scores"]
VARIANTS = [(name, {}) for name in SKETCH_NAMES] + [("leverage_scores", {"sampling": "pivotal"})]
Z = 5.0
"""Standard errors a mean may stray from its expectation. Each statistical check compares
every entry of a sample mean of N independent draws with its expectation; the tolerance is Z
times that entry's standard error (sample standard deviation / √N), i.e. it is derived from
the sketch's own variance. With at most 13² entries per check, a two-sided 5σ bound fails by
chance with probability below 169 · 6e-7 ≈ 1e-4 (the draws use fixed seeds, so the test is
deterministic; the bound is what makes the fixed seeds non-cherry-picked). Entries with zero
variance (a sparse sign sketch's diagonal is exactly 1) must match to rounding."""


def _assert_mean(draws: np.ndarray, expected: np.ndarray) -> None:
    """draws: N × shape samples; every entry's mean within Z standard errors of expected."""
    mean = draws.mean(axis=0)
    standard_error = draws.std(axis=0, ddof=1) / math.sqrt(len(draws))
    deviation = np.abs(mean - expected)
    assert np.all(deviation <= Z * standard_error + 1e-12), (
        f"max deviation {deviation.max():.3g} in standard errors: "
        f"{np.max(deviation / np.maximum(standard_error, 1e-300)):.2f}"
    )


@pytest.mark.parametrize("name", OBLIVIOUS)
def test_oblivious_sketch_is_unbiased(name):
    """E[SᵀS] = I, with S read off as S I (m = 13: the SRHT pads to 16, the SRFT is odd)."""
    m, s, draws = 13, 6, 1500
    identity = np.eye(m)
    samples = np.stack(
        [(S := apply_sketch(name, identity, s, xp=xnp, seed=seed)).T @ S for seed in range(draws)]
    )
    _assert_mean(samples, identity)


@pytest.mark.parametrize("sampling", ["independent", "pivotal"])
def test_leverage_score_sampling_is_unbiased(sampling):
    """E[(SA)ᵀ SA] = AᵀA for the data-dependent sketch, on a coherent A (spike rows)."""
    A = spiky_rows(64, 3, np.random.default_rng(1))
    samples = np.stack(
        [
            (SA := apply_sketch("leverage_scores", A, 12, xp=xnp, seed=seed, sampling=sampling)).T
            @ SA
            for seed in range(1500)
        ]
    )
    _assert_mean(samples, A.T @ A)


def test_pivotal_sampling_keeps_inclusion_probabilities_and_size():
    rng = np.random.default_rng(2)
    p = rng.random(40) ** 3
    pi = inclusion_probabilities(p, 10)
    assert pi.sum() == pytest.approx(10) and pi.max() <= 1
    picks = np.zeros((4000, 40))
    for draw in range(len(picks)):
        rows = pivotal_sample(pi, rng)
        assert len(rows) == 10 and len(set(rows)) == 10
        picks[draw, rows] = 1
    _assert_mean(picks, pi)


@pytest.mark.parametrize("M", [1, 2, 8, 64, 128, 1024])
@pytest.mark.parametrize("block", [2, 4, 64])
def test_fwht_matches_dense_hadamard(M, block):
    X = np.random.default_rng(M).standard_normal((M, 3))
    expected = scipy.linalg.hadamard(M) @ X / math.sqrt(M)
    np.testing.assert_allclose(fwht(xnp, X, block=block), expected, atol=1e-12)
    np.testing.assert_allclose(fwht(xtorch, torch.from_numpy(X), block=block), expected, atol=1e-12)


def test_fwht_rejects_a_length_that_is_not_a_power_of_two():
    with pytest.raises(ValueError, match="power-of-two"):
        fwht(xnp, np.ones((12, 2)))


@pytest.mark.parametrize("M", [7, 8])
def test_dct_and_real_fourier_transforms_are_orthonormal_on_every_backend(M):
    X = np.random.default_rng(0).standard_normal((M, 2))
    expected = scipy.fft.dct(X, type=2, norm="ortho", axis=0)
    np.testing.assert_allclose(dct_ortho(xtorch, torch.from_numpy(X)).numpy(), expected, atol=1e-12)
    F = real_fourier_ortho(xnp, np.eye(M))
    np.testing.assert_allclose(F.T @ F, np.eye(M), atol=1e-12)
    np.testing.assert_allclose(real_fourier_ortho(xtorch, torch.eye(M, dtype=torch.float64)), F)


@pytest.mark.parametrize("name, params", VARIANTS)
def test_distortion_shrinks_as_the_sketch_grows(name, params):
    """Median distortion over 5 seeds on a Gaussian subspace, at s = 2n, 8n, 32n."""
    U = np.linalg.qr(np.random.default_rng(0).standard_normal((1024, 8)))[0]

    def distortion(s: int, seed: int) -> float:
        sigma = np.linalg.svd(apply_sketch(name, U, s, xp=xnp, seed=seed, **params), compute_uv=0)
        return float(np.max(np.abs(np.pad(sigma, (0, 8 - len(sigma))) - 1)))

    medians = [np.median([distortion(s, seed) for seed in range(5)]) for s in (16, 64, 256)]
    assert medians[0] > medians[1] > medians[2]
    assert medians[2] < 0.45  # about √(n/s) ≈ 0.18 for the oblivious sketches


@pytest.mark.parametrize("name, params", VARIANTS)
@pytest.mark.parametrize("xp, to_backend", [(xnp, lambda A: A), (xtorch, None)])
def test_sparse_input_gives_the_dense_result(name, params, xp, to_backend):
    """S A for a sparse A equals S A for the same A dense, same seed (CountSketch in
    O(nnz(A)) included), as the backend's own sparse CSR."""
    from harness_builtins.backends.torch_backend import TorchBackend

    A = scipy.sparse.random_array((300, 6), density=0.2, rng=np.random.default_rng(3), format="csr")
    if to_backend is None:
        backend = TorchBackend("torch", "cpu")
        sparse, dense = backend.to_device(A, "float64"), backend.to_device(A.toarray(), "float64")
    else:
        sparse, dense = A, A.toarray()
    got = apply_sketch(name, sparse, 40, xp=xp, seed=7, **params)
    want = apply_sketch(name, dense, 40, xp=xp, seed=7, **params)
    assert type(got) is type(want)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-12)


def test_countsketch_never_builds_a_dense_sketch_matrix():
    """Memory: CountSketch of a 200 000-row sparse A stays far below s×m floats (8 GB)."""
    import tracemalloc

    A = scipy.sparse.random_array((200_000, 4), density=1e-3, rng=np.random.default_rng(0))
    tracemalloc.start()
    apply_sketch("countsketch", A.tocsr(), 5000, xp=xnp)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50e6


def test_unknown_sketch_names_close_matches():
    with pytest.raises(ValueError, match="did you mean 'countsketch'"):
        apply_sketch("countsketh", np.eye(4), 2, xp=xnp)


@pytest.mark.parametrize("name", ["srht", "srdct", "leverage_scores"])
def test_sketch_size_larger_than_the_rows_is_an_error(name):
    params = {"sampling": "pivotal"} if name == "leverage_scores" else {}
    with pytest.raises(ValueError, match="exceeds"):
        apply_sketch(name, np.eye(10)[:, :3], 17, xp=xnp, **params)


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize(
    "task, sizes, problem",
    [
        ("subspace_embedding", {"m": 600, "n": 6}, {"matrix": "coherent", "s": 48}),
        ("subspace_embedding", {"m": 600, "n": 6}, {"matrix": "sparse", "s": 48, "density": 0.3}),
        ("matrix_product", {"m": 600, "n": 5, "p": 4}, {"matrix": "sparse", "s": 48}),
        ("matrix_product", {"m": 600, "n": 5, "p": 4}, {"matrix": "heavy_rows", "s": 48}),
    ],
)
@pytest.mark.parametrize("name", SKETCH_NAMES)
def test_numpy_and_torch_give_the_same_metrics(name, task, sizes, problem, dtype, tolerance):
    """One seed gives one S on every backend, so the metrics agree to the dtype's precision
    (relative differences of a few hundred ulps: the products sum in different orders)."""
    results = [
        run_one(task, name, sizes, backend=backend, dtype=dtype, **problem)
        for backend in ("numpy", "torch")
    ]
    assert all(r.status == "ok" for r in results), [r.message for r in results]
    numpy_metrics, torch_metrics = (r.metrics for r in results)
    assert numpy_metrics.keys() == torch_metrics.keys()
    for key, value in numpy_metrics.items():
        assert torch_metrics[key] == pytest.approx(value, rel=tolerance, abs=tolerance), key


def test_coherent_input_defeats_uniform_sampling_but_not_leverage_scores():
    sizes, problem = {"m": 2000, "n": 5}, {"matrix": "coherent", "s": 100}
    uniform = run_one("subspace_embedding", "uniform_rows", sizes, **problem).metrics
    leverage = run_one("subspace_embedding", "leverage_scores", sizes, **problem).metrics
    assert uniform["distortion"] > 0.9 and leverage["distortion"] < 0.5


def test_suite_runs_both_tasks_through_the_cli(tmp_path):
    suite = tmp_path / "sketches.yaml"
    suite.write_text(
        "timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, roofline: false}\n"
        "benchmarks:\n"
        "  - task: subspace_embedding\n"
        "    problem: {matrix: [gaussian, sparse], s: 64, density: 0.5}\n"
        "    sizes: [[512, 8]]\n"
        "    methods: [gaussian, countsketch, srht, {name: leverage_scores,"
        " params: {sampling: pivotal}}]\n"
        "    backends: [numpy, torch]\n"
        "    dtypes: [float64]\n"
        "  - task: matrix_product\n"
        "    problem: {matrix: sparse, s: 64}\n"
        "    sizes: [[512, 6, 4]]\n"
        "    methods: [countsketch, sparse_sign]\n"
        "    backends: [numpy]\n"
        "    dtypes: [float32]\n"
    )
    result = run_cli("run", str(suite), "--db", str(tmp_path / "r.sqlite"), "--json", "--inline")
    assert result.returncode == 0, result.stderr
    cases = json.loads(result.stdout)["cases"]
    assert len(cases) == 2 * 4 * 2 + 2
    assert all(case["status"] == "ok" for case in cases), [c["message"] for c in cases]
    for case in cases:
        if case["task"] == "subspace_embedding":
            assert 0 < case["metrics"]["distortion"] < 1
        else:
            assert 0 < case["metrics"]["error"] < 1
