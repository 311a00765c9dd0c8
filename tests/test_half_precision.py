"""Half precision: every orthogonalizer and inverse root that runs in float16 (on numpy, and
on torch where it is installed) gives, on a small problem, the quality it gives in float32 (to
within what float16's rounding costs), also when G's entries are large enough that a sum of
their squares overflows float16; or it is declared unsupported there, with a reason.

numpy has no native float16 arithmetic: its norm sums the squares in float16, which overflows
to inf as soon as ‖G‖_F > 255.9 (a 16×32 Gaussian × 1e3 has squares of 1e6), so a method
normalising by ‖G‖_F got X₀ = 0 and an output of zeros (max σ error 1.0). torch accumulates
its float16 norm in float32 but rounds the norm itself to float16, which overflows once
‖G‖_F > 65504 (the same matrix × 1e4). The methods compute that norm in float32
(``frobenius_normalized``).
"""

from __future__ import annotations

import functools

import array_api_compat.numpy as xnp
import numpy as np
import pytest
from harness_builtins.orthogonalizers.orthogonalizers import frobenius_normalized, narrow_range

from harness.model.backend import probe
from harness.model.params import bind
from harness.model.task import Problem
from harness.plugins.registry import Registry

PROBLEMS: dict[str, tuple[dict[str, int], dict[str, object]]] = {
    "orthogonalize": ({"m": 16, "n": 32}, {}),
    "inverse_root": ({"n": 8}, {"p": 2, "kappa": 10.0}),
}
"""A small, well-conditioned problem per task (a 16×32 Gaussian has σ_min/σ_max ≈ 0.17): the
float16 result should differ from the float32 one by rounding alone."""

SCALES = (1.0, 1e3, 1e4)
"""What G is multiplied by (orthogonalize, whose polar factor does not change with it). 1:
well scaled; 1e3: ‖G‖_F ≈ 2.3e4 fits float16 but the squares of the entries do not; 1e4:
‖G‖_F ≈ 2.3e5 > 65504 itself, while every entry (≤ about 4e4) still fits."""

TOLERANCE = 0.05
"""How far a float16 metric may be from the float32 one (absolute; every metric is a relative
error of order 1 at most). Rounding moves them by 1e-3 to 1e-2 (numpy and torch alike);
the overflow moved newton_schulz's max_sigma_error from 0.31 to 1.0."""

VARIANTS: dict[str, list[dict[str, object]]] = {
    "newton_schulz": [{}, {"coefficients": "polar_express", "steps": 8}],
    "root": [{}, {"robust": True}],
}
"""Parameter sets besides the defaults, where a method has siblings worth checking."""


@functools.cache
def registry() -> Registry:
    return Registry.load()


def cases() -> list[object]:
    """(task, method, params, scale) for every orthogonalizer and inverse root."""
    reg = registry()
    params = []
    for task_name in sorted(PROBLEMS):
        task = reg.task(task_name)
        for name, method in sorted(reg.methods.items()):
            if not method.fits(task):
                continue
            for variant in VARIANTS.get(name, [{}]):
                for scale in SCALES if task_name == "orthogonalize" else (1.0,):
                    words = [name, *(f"{k}={v}" for k, v in variant.items()), f"x{scale:g}"]
                    params.append(pytest.param(task_name, name, variant, scale, id="-".join(words)))
    return params


@functools.cache
def problem(task: str) -> Problem:
    sizes, problem_params = PROBLEMS[task]
    return registry().task(task).generate(sizes, np.random.default_rng(0), **problem_params)


def metrics(
    task: str, method: str, params: dict, backend: str, dtype: str, scale: float = 1.0
) -> dict[str, float]:
    """The task's metrics of ``method`` run on ``backend`` in ``dtype``, on the task's problem
    with its first input × ``scale`` (judged against the unscaled problem's reference)."""
    reg = registry()
    device, fn = reg.backend(backend), reg.method(method)
    first, *rest = problem(task).inputs
    inputs = [device.to_device(v, dtype) for v in (first * scale, *rest)]
    output = fn(*inputs, xp=device.xp, **bind(fn.params, params))
    X = device.to_numpy(output)
    assert np.all(np.isfinite(X)), f"{method} in {dtype} on {backend}: non-finite output"
    return reg.task(task).metrics(problem(task), X)


def half_precision_refusal(task: str, method: str, params: dict, backend: str) -> str | None:
    """Why ``method`` does not run in float16 on ``backend`` (its dtypes, its backends, or its
    ``supports``), or None where it does."""
    reg = registry()
    fn, device = reg.method(method), reg.backend(backend)
    reason = fn.unsupported_reason(backend, "float16")
    if reason is None:
        reason = fn.refusal(
            problem(task).inputs,
            backend=device,
            dtype="float16",
            sizes=PROBLEMS[task][0],
            params=bind(fn.params, params),
        )
    return reason


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize(("task", "method", "params", "scale"), cases())
def test_float16_matches_float32_or_is_declared(
    task: str, method: str, params: dict, scale: float, backend: str
) -> None:
    device = registry().backend(backend)
    available = probe(device)
    if not available.available:
        pytest.skip(f"backend {backend}: {available.reason}")
    assert "float16" in device.dtypes
    reason = half_precision_refusal(task, method, params, backend)
    if reason is not None:
        assert isinstance(reason, str) and reason.strip(), f"{method}: refused without a reason"
        return
    single = metrics(task, method, params, "numpy", "float32")
    half = metrics(task, method, params, backend, "float16", scale)
    far = {
        name: (round(half[name], 4), round(single[name], 4))
        for name in single
        if not abs(half[name] - single[name]) <= TOLERANCE
    }
    assert not far, f"{method} {params} in float16 ×{scale:g}: (float16, float32) {far}"


def test_half_precision_methods_are_the_polynomial_ones() -> None:
    """Which methods claim float16 (the others are declared unsupported there by their
    dtypes): a method added to this list is covered above, and should be added here on
    purpose."""
    reg = registry()
    claimed = {
        name
        for name, method in reg.methods.items()
        if any(method.fits(reg.task(t)) for t in PROBLEMS)
        and method.unsupported_reason("numpy", "float16") is None
    }
    assert claimed == {"newton_schulz", "root"}


def test_large_entries_newton_schulz_numpy_float16() -> None:
    """The case of the report: numpy float16, entries whose squares overflow (× 1e3). Before
    the norm was computed in float32 the output was 0 (every σ error 1.0)."""
    single = metrics("orthogonalize", "newton_schulz", {}, "numpy", "float32")
    half = metrics("orthogonalize", "newton_schulz", {}, "numpy", "float16", 1e3)
    assert half["max_sigma_error"] < 0.5  # Muon stalls near 0.32; an output of zeros is 1.0
    assert half["max_sigma_error"] == pytest.approx(single["max_sigma_error"], abs=0.02)
    assert half["polar_distance"] == pytest.approx(single["polar_distance"], abs=0.02)


@pytest.mark.parametrize("scale", SCALES, ids=[f"scale{s:g}" for s in SCALES])
def test_frobenius_normalized_float16(scale: float) -> None:
    """In float16 the norm is taken in float32: X₀ has unit norm whatever the scale, and stays
    in float16."""
    G = problem("orthogonalize").inputs[0] * scale
    X = frobenius_normalized(xnp, np.asarray(G, dtype=np.float16), 1.0, 1e-7)
    assert X.dtype == np.float16
    assert np.linalg.norm(X.astype(np.float64)) == pytest.approx(1.0, abs=2e-3)
    np.testing.assert_allclose(X.astype(np.float64), G / np.linalg.norm(G), atol=1e-3)
    stack = frobenius_normalized(xnp, np.asarray([G, G / scale], dtype=np.float16), 1.0, 1e-7)
    norms = np.linalg.norm(stack.astype(np.float64), axis=(-2, -1))  # one per matrix
    np.testing.assert_allclose(norms, [1.0, 1.0], atol=2e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_frobenius_normalized_wider_dtypes_unchanged(dtype: str) -> None:
    """float32 and float64 (and bfloat16, of float32's range) keep the plain expression, bit
    for bit."""
    G = np.asarray(problem("orthogonalize").inputs[0] * 1e3, dtype=dtype)
    expected = G / (np.linalg.norm(G, axis=(-2, -1), keepdims=True) * 1.01 + 1e-7)
    np.testing.assert_array_equal(frobenius_normalized(xnp, G, 1.01, 1e-7), expected)
    assert not narrow_range(xnp, G.dtype)


def test_narrow_range_is_float16_only() -> None:
    assert narrow_range(xnp, xnp.float16)
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as xtorch

    assert narrow_range(xtorch, torch.float16)
    assert not narrow_range(xtorch, torch.bfloat16)
