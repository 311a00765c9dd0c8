"""``subspace_error`` (orthogonalize task) judges the span alone: measured on the
orthonormalised output, it is 0 for a non-orthonormal output with the exact row/column space
(where the orthogonality error is large), and positive for a wrong span."""

from __future__ import annotations

import numpy as np
import pytest
from harness_builtins.orthogonalizers.orthogonalize_task import _matrix_metrics


@pytest.mark.parametrize("shape", [(20, 6), (6, 20)])
def test_subspace_error_is_blind_to_scaling_within_the_span(shape):
    rng = np.random.default_rng(0)
    G = rng.standard_normal(shape)
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    polar = U @ Vt
    exact_span = _matrix_metrics(polar, 3.0 * G)  # same span, far from orthonormal
    assert exact_span["subspace_error"] < 1e-13
    assert exact_span["orthogonality_error"] > 1.0
    wrong_span = _matrix_metrics(polar, rng.standard_normal(shape))
    assert wrong_span["subspace_error"] > 0.5
