"""Suite features: zipped lists, include/exclude rules, seeds and repetitions, tiers; what
each expands to, and each one's errors with file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.plugins.registry import Registry, UnknownNameError
from harness.suite.loader import SuiteError, load

REGISTRY = Registry.load()


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


def issues(path: str, **options: str) -> list[str]:
    with pytest.raises(SuiteError) as err:
        load(path, REGISTRY, **options)
    return [str(issue) for issue in err.value.issues]


def test_zip_pairs_values_and_crosses_the_other_sweeps(tmp_path):
    path = write(
        tmp_path,
        """
        benchmarks:
          - task: orthogonalize
            problem: {spectrum: logspace}
            problem_zip: {kappa: [10, 1000]}
            sizes: [[8, 16]]
            methods:
              - name: newton_schulz
                params: {eps: [1.0e-7, 1.0e-6]}
                zip: {coefficients: [muon, polar_express, cubic], steps: [5, 8, 12]}
            backends: [numpy]
            dtypes: [float64]
    """,
    )
    cases = load(path, REGISTRY).cases
    assert len(cases) == 2 * 2 * 3
    assert [c.problem for c in cases[:1]] == [{"spectrum": "logspace", "kappa": 10.0}]
    assert {c.problem["kappa"] for c in cases} == {10.0, 1000.0}
    pairs = {(c.params["coefficients"], c.params["steps"]) for c in cases}
    assert pairs == {("muon", 5), ("polar_express", 8), ("cubic", 12)}
    assert {c.params["eps"] for c in cases} == {1e-7, 1e-6}


def test_zip_errors_name_the_field(tmp_path):
    path = write(
        tmp_path,
        """
        benchmarks:
          - task: orthogonalize
            problem_zip: {spectrum: [gaussian, logspace], kappa: [10]}
            sizes: [[8, 8]]
            methods:
              - name: newton_schulz
                params: {steps: 3}
                zip: {steps: [1, 2], coefficients: [muon, cubik], stesp: [1]}
              - name: svd_polar
                zip: [1, 2]
    """,
    )
    found = issues(path)
    expected = [
        "3: benchmarks[0].problem_zip: zipped lists differ in length: spectrum has 2, kappa has 1",
        "8: benchmarks[0].methods[0].zip.steps: 'steps' is in 'params' too; give it in one of them",
        "8: benchmarks[0].methods[0].zip.coefficients: 'cubik' is not one of 'muon'",
        "8: benchmarks[0].methods[0].zip.stesp: method 'newton_schulz' has no parameter 'stesp'; "
        "did you mean 'steps'?",
        "10: benchmarks[0].methods[1].zip: must be a mapping, got a list",
    ]
    assert len(found) == len(expected), found
    for issue, want in zip(found, expected, strict=True):
        assert issue.startswith(f"{path}:{want}"), (issue, want)


RULES = """
    exclude:
      - {method: svd_polar, size_above: 16}
    benchmarks:
      - task: orthogonalize
        problem: {kappa: [10, 1000]}
        sizes: [[8, 8], [8, 32]]
        methods:
          - name: newton_schulz
            params: {steps: [5, 8]}
          - svd_polar
        backends: [numpy, torch]
        dtypes: [float32, float64]
        exclude:
          - {params: {steps: 8}, dtype: float32}
          - {problem: {kappa: 1000}, backend: torch}
        include:
          - {backend: torch}
          - {size_above: {n: 8}}
"""


def test_include_and_exclude_rules_pick_the_cases(tmp_path):
    cases = load(write(tmp_path, RULES), REGISTRY).cases
    kept = {
        (c.method, c.params.get("steps"), c.backend, c.dtype, c.sizes["n"], c.problem["kappa"])
        for c in cases
    }
    for method, steps, backend, dtype, n, kappa in kept:
        assert not (method == "svd_polar" and n > 16)
        assert not (steps == 8 and dtype == "float32")
        assert not (kappa == 1000 and backend == "torch")
        assert backend == "torch" or n > 8
    # torch: n=8 and n=32 x kappa 10 x (ns5: 2 dtypes, ns8: float64, svd only at n=8: 2)
    # numpy: n=32 only x 2 kappas x (ns5: 2 dtypes, ns8: 1, svd excluded)
    assert len(cases) == len(kept) == 2 * (2 + 1) + 2 + 2 * (2 + 1)


def test_rule_defaults_count(tmp_path):
    path = write(
        tmp_path,
        """
        benchmarks:
          - task: orthogonalize
            sizes: [[8, 8]]
            methods:
              - newton_schulz
              - name: newton_schulz
                params: {steps: 8}
            backends: [numpy]
            dtypes: [float64]
            exclude:
              - {params: {steps: 5}, problem: {spectrum: gaussian}}
    """,
    )
    (case,) = load(path, REGISTRY).cases
    assert case.params == {"steps": 8}


def test_rule_errors_name_the_field_with_close_matches(tmp_path):
    path = write(
        tmp_path,
        """
        include:
          - {}
          - {methd: svd_polar}
        exclude:
          - {method: newton_shulz}
          - {backend: [numpy, numpi], dtype: flaot32}
          - {method: newton_schulz, params: {stesp: 3, steps: three}}
          - {size_above: {k: 3}, problem: {kapa: 3}}
          - {size_above: -1}
        benchmarks:
          - task: orthogonalize
            sizes: [[8, 8]]
            methods: [newton_schulz]
    """,
    )
    found = issues(path)
    expected = [
        "2: include[0]: a rule needs at least one of: task, method, backend, dtype",
        "3: include[1].methd: unknown key 'methd'; did you mean 'method'?",
        "5: exclude[0].method: unknown method 'newton_shulz'; did you mean 'newton_schulz'",
        "6: exclude[1].backend[1]: unknown backend 'numpi'; did you mean 'numpy'?",
        "6: exclude[1].dtype: unknown dtype 'flaot32'; did you mean 'float32'",
        "7: exclude[2].params.stesp: no method 'newton_schulz' has a parameter 'stesp'; "
        "did you mean 'steps'?",
        "7: exclude[2].params.steps: 'three' is not of type int",
        "8: exclude[3].problem.kapa: no task 'orthogonalize' has a parameter 'kapa'; "
        "did you mean 'kappa'?",
        "8: exclude[3].size_above.k: no dimension 'k' (dimensions: m, n)",
        "9: exclude[4].size_above: must be at least 0, got -1",
    ]
    assert len(found) == len(expected), found
    for issue, want in zip(found, expected, strict=True):
        assert issue.startswith(f"{path}:{want}"), (issue, want)


def test_rules_that_leave_nothing_are_an_error(tmp_path):
    path = write(
        tmp_path,
        """
        exclude: [{backend: numpy}]
        benchmarks:
          - {task: orthogonalize, sizes: [[8, 8]], methods: [svd_polar], backends: [numpy]}
    """,
    )
    (issue,) = issues(path)
    assert issue.endswith("(suite): the include/exclude rules leave no case to run")


def test_seeds_sweep_the_problem_and_repetitions_seed_randomised_methods(tmp_path):
    path = write(
        tmp_path,
        """
        seed: [0, 1]
        repetitions: 3
        benchmarks:
          - task: orthogonalize
            sizes: [[8, 16]]
            methods:
              - randomized_cholesky_qr        # has a seed parameter: repetition r gets seed r
              - name: jacobi_svd
                params: {seed: 7}             # set by the suite: kept
              - svd_polar                     # no seed parameter
            backends: [numpy]
            dtypes: [float64]
          - task: orthogonalize
            seed: 5
            repetitions: 1
            sizes: [[8, 16]]
            methods: [randomized_cholesky_qr]
            backends: [numpy]
            dtypes: [float64]
    """,
    )
    suite = load(path, REGISTRY)
    assert suite.seed == 0
    first, second = suite.cases[:9], suite.cases[18:]
    assert len(suite.cases) == 2 * 3 * 3 + 1
    by_method = {
        m: [(c.seed, c.repetition, c.params) for c in suite.cases[:18] if c.method == m]
        for m in ("randomized_cholesky_qr", "jacobi_svd", "svd_polar")
    }
    assert by_method["randomized_cholesky_qr"] == [
        (s, r, {"seed": r}) for s in (0, 1) for r in range(3)
    ]
    assert by_method["jacobi_svd"] == [(s, r, {"seed": 7}) for s in (0, 1) for r in range(3)]
    assert by_method["svd_polar"] == [(s, r, {}) for s in (0, 1) for r in range(3)]
    assert [c.problem_key() for c in first] == [first[0].problem_key()] * 9  # one problem
    assert [(c.seed, c.repetition, c.params) for c in second] == [(5, 0, {})]


def test_seed_and_repetition_errors(tmp_path):
    path = write(
        tmp_path,
        """
        seed: [1, 1, -2]
        repetitions: 0
        benchmarks:
          - task: orthogonalize
            seed: []
            repetitions: 2.5
            sizes: [[8, 8]]
            methods: [svd_polar]
    """,
    )
    found = issues(path)
    expected = [
        "1: seed: lists a value twice: [1, 1, -2]",
        "1: seed[2]: must be from 0 to 2**63 - 1, got -2",
        "2: repetitions: must be from 1 to 1000, got 0",
        "5: benchmarks[0].seed: must be a non-empty list, got []",
        "6: benchmarks[0].repetitions: must be an integer, got a number",
    ]
    assert len(found) == len(expected), found
    for issue, want in zip(found, expected, strict=True):
        assert issue.startswith(f"{path}:{want}"), (issue, want)


TIERED = """
    tiers: [full]
    benchmarks:
      - task: orthogonalize
        tiers: [smoke, ci]
        sizes: [[8, 8]]
        methods: [svd_polar]
        backends: [numpy]
      - task: orthogonalize
        sizes: [[8, 16]]
        methods: [newton_schulz]
        backends: [numpy]
      - task: orthogonalize
        tiers: [ci, gpu]
        sizes: [[8, 32]]
        methods: [newton_schulz]
        backends: [torch-cuda]
"""


@pytest.mark.parametrize(
    ("tier", "sizes"),
    [(None, [8, 16, 32]), ("smoke", [8]), ("ci", [8, 32]), ("full", [16]), ("gpu", [32])],
)
def test_a_tier_picks_its_benchmarks(tmp_path, tier, sizes):
    suite = load(write(tmp_path, TIERED), REGISTRY, tier=tier)
    assert suite.tier == tier
    assert sorted({c.sizes["n"] for c in suite.cases}) == sizes


def test_tier_errors(tmp_path):
    path = write(tmp_path, TIERED.replace("[ci, gpu]", "[ci, gpu, cii]"))
    (issue,) = issues(path)
    assert issue == f"{path}:13: benchmarks[2].tiers[2]: unknown tier 'cii'; did you mean 'ci'?"
    plain = write(
        tmp_path, "benchmarks: [{task: orthogonalize, sizes: [[4, 4]], methods: [svd_polar]}]"
    )
    assert issues(plain, tier="gpu") == [
        f"{plain}:1: (tier): no benchmark is in tier 'gpu' (this suite's tiers: none; "
        "see docs/suites.md, Tiers)"
    ]
    smoke_only = write(tmp_path, TIERED.replace("[ci, gpu]", "[smoke]").replace("[full]", "[ci]"))
    assert issues(smoke_only, tier="gpu")[0].endswith("(this suite's tiers: smoke, ci)")
    with pytest.raises(UnknownNameError, match="did you mean 'smoke'"):
        load(path, REGISTRY, tier="smok")


def test_a_case_two_benchmarks_share_runs_once(tmp_path):
    """Tiers overlap (a smoke benchmark is often part of the full one) and sizes may repeat:
    each case is planned once, so a run stores it once and a resume can finish."""
    path = write(
        tmp_path,
        """
        benchmarks:
          - task: orthogonalize
            sizes: [[8, 16], [8, 16]]
            methods: [svd_polar]
            backends: [numpy]
            dtypes: [float64]
            tiers: [smoke]
          - task: orthogonalize
            sizes: [[8, 16], [16, 16]]
            methods: [svd_polar, newton_schulz]
            backends: [numpy]
            dtypes: [float64]
            tiers: [full]
        """,
    )
    cases = load(path, REGISTRY).cases
    assert sorted((c.method, c.sizes["m"], c.sizes["n"]) for c in cases) == [
        ("newton_schulz", 8, 16),
        ("newton_schulz", 16, 16),
        ("svd_polar", 8, 16),
        ("svd_polar", 16, 16),
    ]
    assert len(load(path, REGISTRY, tier="smoke").cases) == 1
