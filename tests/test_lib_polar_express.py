"""The Polar Express coefficient generator against the published table (its test vector)."""

from __future__ import annotations

import numpy as np
import pytest
from harness_builtins.orthogonalizers.orthogonalizers import NEWTON_SCHULZ_COEFFICIENTS
from harness_builtins.orthogonalizers.polar_express import (
    POLAR_EXPRESS_PUBLISHED,
    odd_quintic,
    optimal_quintic,
    polar_express_coefficients,
    with_safety_factor,
)


def test_generator_reproduces_the_published_table():
    generated = np.array(polar_express_coefficients(1e-3, 8))
    published = np.array(POLAR_EXPRESS_PUBLISHED)
    relative = np.abs(generated - published) / np.abs(published)
    assert relative[:6].max() < 1e-13  # steps 1-6: to rounding
    assert relative[6].max() < 1e-9  # step 7: ~2e-11
    assert relative[7].max() < 1e-8  # step 8: the paper prints the limit (15/8, -10/8, 3/8)


def test_without_the_cushion_the_first_step_differs():
    first = polar_express_coefficients(1e-3, 1, cushion=0.0)[0]
    assert abs(first[0] - POLAR_EXPRESS_PUBLISHED[0][0]) > 0.1


@pytest.mark.parametrize(("lower", "upper"), [(0.1, 1.0), (0.5, 1.2), (1e-3, 1.0)])
def test_optimal_quintic_equioscillates(lower, upper):
    coefficients = optimal_quintic(lower, upper)
    x = np.linspace(lower, upper, 20001)
    error = 1 - odd_quintic(coefficients, x)
    # the max error is attained with both signs (alternation), at the ends of the interval
    assert np.isclose(error.max(), -error.min(), rtol=1e-6)
    assert np.isclose(error[0], error.max(), rtol=1e-6)
    assert np.isclose(error[-1], error.min(), rtol=1e-6)


def test_named_schedule_applies_the_safety_factor_to_all_but_the_last_step():
    schedule = NEWTON_SCHULZ_COEFFICIENTS["polar_express"]
    assert schedule.scale == 1.01
    a, b, c = POLAR_EXPRESS_PUBLISHED[0]
    assert schedule.steps[0] == pytest.approx((a / 1.01, b / 1.01**3, c / 1.01**5))
    assert schedule.steps[-1] == POLAR_EXPRESS_PUBLISHED[-1]
    assert schedule.at(20) == POLAR_EXPRESS_PUBLISHED[-1]
    assert with_safety_factor(POLAR_EXPRESS_PUBLISHED) == schedule.steps
