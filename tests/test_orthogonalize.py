"""The first slice: Newton–Schulz and the SVD polar factor on the orthogonalize task."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import run_orthogonalize

from harness import hookimpl, method
from harness.plugins.registry import Registry

REGISTRY = Registry.load()


run = functools.partial(run_orthogonalize, m=64, n=128, registry=REGISTRY)


def test_muon_stalls_near_a_third_on_a_gaussian_input():
    """METHODS.md: after 5 steps on a Gaussian matrix Muon leaves max|σ−1| ≈ 0.32."""
    result = run("newton_schulz", m=256, n=1024, params={"steps": 5, "coefficients": "muon"})
    assert result.status == "ok"
    assert 0.25 < result.metrics["max_sigma_error"] < 0.40


@pytest.mark.parametrize("coefficients", ["cubic", "quintic"])
def test_convergent_coefficient_sets_reach_the_polar_factor(coefficients):
    result = run(
        "newton_schulz",
        params={"steps": 40, "coefficients": coefficients},
        spectrum="logspace",
        kappa=10.0,
    )
    assert result.metrics["orthogonality_error"] < 1e-12
    assert result.metrics["polar_distance"] < 1e-12


def test_tall_input_is_orthogonalized_through_its_transpose():
    result = run(
        "newton_schulz",
        m=128,
        n=32,
        params={"steps": 40, "coefficients": "cubic"},
        spectrum="logspace",
        kappa=10.0,
    )
    assert result.metrics["polar_distance"] < 1e-12


def test_svd_polar_is_exact_in_float64():
    result = run("svd_polar", spectrum="logspace", kappa=1e4)
    assert result.status == "ok"
    assert max(result.metrics.values()) < 1e-12


def test_newton_schulz_flop_model():
    result = run("newton_schulz", m=256, n=1024, params={"steps": 5})
    assert result.flops == 5 * (3 * 256**2 * 1024 + 2 * 256**3)  # X Xᵀ symmetric: p²q
    assert result.gflops and result.gflops > 0


@pytest.mark.parametrize("method_name", ["newton_schulz", "svd_polar"])
@pytest.mark.parametrize(
    ("dtype", "rtol", "atol"), [("float64", 1e-9, 1e-12), ("float32", 1e-3, 1e-5)]
)
def test_numpy_and_torch_agree_to_dtype_precision(method_name, dtype, rtol, atol):
    on_numpy = run(method_name, "numpy", dtype, spectrum="logspace", kappa=100.0)
    on_torch = run(method_name, "torch", dtype, spectrum="logspace", kappa=100.0)
    assert on_numpy.status == on_torch.status == "ok"
    for name, value in on_numpy.metrics.items():
        np.testing.assert_allclose(
            on_torch.metrics[name], value, rtol=rtol, atol=atol, err_msg=name
        )


def test_muon_in_bfloat16_on_torch():
    result = run("newton_schulz", "torch", "bfloat16", m=128, n=512)
    assert result.status == "ok"
    assert result.metrics["max_sigma_error"] < 0.5


def test_unsupported_combinations_say_why():
    assert run("svd_polar", "torch", "bfloat16").message == (
        "svd_polar does not run in bfloat16 (runs in float32, float64)"
    )
    unsupported = run("newton_schulz", "numpy", "bfloat16")
    assert (unsupported.status, unsupported.message) == ("unsupported", "numpy has no bfloat16")


def test_a_method_that_raises_is_recorded_as_an_error():
    @method(family="orthogonalizer")
    def exploding(G, *, xp):
        raise FloatingPointError("went off")

    @method(family="orthogonalizer")
    def not_a_number(G, *, xp):
        return G * float("nan")

    def bad_flops(sizes, params):
        return sizes["rows"]

    @method(family="orthogonalizer", flops=bad_flops)
    def wrong_flop_model(G, *, xp):
        return G

    class Plugin:
        @hookimpl
        def harness_methods(self):
            return [exploding, not_a_number, wrong_flop_model]

    registry = Registry.load(extra=[("failing", Plugin())])
    result = run("exploding", registry=registry)
    assert result.status == "error"
    assert result.message.startswith("FloatingPointError: went off")
    result = run("not_a_number", registry=registry)
    assert result.status == "error"
    assert result.message == "output has 8192 non-finite values"
    result = run("wrong_flop_model", registry=registry)
    assert (result.status, result.message.split(" (")[0]) == ("error", "KeyError: 'rows'")


def test_iterative_method_stores_its_convergence_curve():
    result = run(
        "newton_schulz",
        params={"steps": 6, "coefficients": "cubic"},
        spectrum="logspace",
        kappa=10.0,
    )
    assert [point["step"] for point in result.curve] == [1, 2, 3, 4, 5, 6]
    errors = [point["polar_distance"] for point in result.curve]
    assert errors == sorted(errors, reverse=True)  # the cubic iteration converges monotonically
    assert errors[-1] == result.metrics["polar_distance"]
    assert run("svd_polar").curve == []
