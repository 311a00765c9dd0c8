"""Jackson damping against the plain Chebyshev expansion of an ideal low-pass: it removes the
Gibbs overshoot, and its effect on the relative error at a given degree goes either way
(docs/methods.md, graph_filter): on the suite's SBM low-pass (n = 1000, cutoff 0.3, seed 0,
4 signals) it is larger at degree 10 and smaller at degree 30."""

from __future__ import annotations

import array_api_compat.numpy as xnp
import numpy as np
from harness_builtins.spectral.graph_filter_task import generate_graph_filter, graph_filter_metrics
from harness_builtins.spectral.spectral_filters import chebyshev

from harness.model.params import bind


def test_jackson_error_is_smaller_at_degree_30_and_larger_at_10_on_the_sbm_low_pass() -> None:
    params = bind(
        generate_graph_filter.params, {"graph": "sbm", "filter": "low_pass", "cutoff": 0.3}
    )
    problem = generate_graph_filter.generate(
        {"n": 1000, "signals": 4}, np.random.default_rng(0), **params
    )
    metrics = {
        (degree, damping): graph_filter_metrics(
            problem, chebyshev(*problem.inputs, xp=xnp, degree=degree, damping=damping)
        )
        for degree in (10, 30)
        for damping in ("none", "jackson")
    }
    error = {key: value["relative_error"] for key, value in metrics.items()}
    assert error[30, "jackson"] < error[30, "none"]  # measured 0.288 < 0.307
    assert error[10, "jackson"] > error[10, "none"]  # measured 0.381 > 0.274
    for degree in (10, 30):
        assert metrics[degree, "jackson"]["response_overshoot"] < 0.005
        assert metrics[degree, "none"]["response_overshoot"] > 0.1
        assert (
            metrics[degree, "jackson"]["response_error"] < metrics[degree, "none"]["response_error"]
        )
