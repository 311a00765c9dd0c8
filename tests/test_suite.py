"""Suite files: expansion, and errors that name the file, line and field."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest
from conftest import run_cli

from harness.plugins.registry import Registry, UnknownNameError
from harness.suite.loader import SuiteError, load

REGISTRY = Registry.load()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


def issues(path: str, registry: Registry = REGISTRY) -> list[str]:
    with pytest.raises(SuiteError) as err:
        load(path, registry)
    return [str(issue) for issue in err.value.issues]


GOOD = """
    name: tiny
    seed: 3
    timing: {warmup: 0, min_samples: 2, isolation: inline, threads: 1}
    benchmarks:
      - task: orthogonalize
        problem: {spectrum: [gaussian, logspace], kappa: 10}
        sizes: [[8, 8], [8, 16]]
        methods:
          - name: newton_schulz
            params: {steps: [3, 5], coefficients: cubic}
          - svd_polar
        backends: [numpy]
        dtypes: [float64]
"""


def test_expansion_is_the_cartesian_product(tmp_path):
    suite = load(write(tmp_path, GOOD), REGISTRY)
    assert (suite.name, suite.seed) == ("tiny", 3)
    assert (suite.options.timing.warmup, suite.options.timing.min_samples) == (0, 2)
    assert (suite.options.isolation, suite.options.threads, suite.options.timeout) == (
        "inline",
        1,
        300.0,
    )
    # 2 sizes x 2 spectra x (2 newton_schulz steps + svd_polar)
    assert len(suite.cases) == 2 * 2 * 3
    first = suite.cases[0]
    assert first.sizes == {"m": 8, "n": 8}
    assert first.problem == {"spectrum": "gaussian", "kappa": 10.0}
    assert first.params == {"steps": 3, "coefficients": "cubic"}
    # consecutive cases share a problem, so it is generated once
    keys = [c.problem_key() for c in suite.cases]
    assert len(set(keys)) == 4 and keys == sorted(keys, key=keys.index)


def test_shipped_suite_by_name():
    suite = load("smoke", REGISTRY)
    assert suite.name == "smoke" and suite.cases


def test_unknown_suite_name_lists_shipped_ones():
    with pytest.raises(UnknownNameError, match="did you mean 'smoke'"):
        load("smok", REGISTRY)


def test_invalid_yaml_names_file_and_line(tmp_path):
    path = write(tmp_path, "name: x\nbenchmarks:\n  - task: [orthogonalize\n  - sizes: 3\n")
    (issue,) = issues(path)
    assert issue.startswith(f"{path}:4: (yaml): not valid YAML")


def test_every_problem_is_reported_at_once_with_line_and_field(tmp_path):
    path = write(
        tmp_path,
        """
        name: bad
        timng: {min_samples: 3}
        benchmarks:
          - task: orthogonalize
            problem: {spectrum: gausian, kapa: 10}
            sizes: [[8, 8], [8]]
            methods:
              - newton_shulz
              - name: newton_schulz
                params: {steps: five, coeffs: muon}
            backends: [numpi]
            dtypes: [float23]
          - task: orthogonalise
            sizes: [[4, 4]]
            methods: [svd_polar]
    """,
    )
    found = issues(path)
    expected = [
        "2: timng: unknown key 'timng'; did you mean 'timing'?",
        "5: benchmarks[0].problem.spectrum: 'gausian' is not one of 'gaussian', 'logspace'",
        "5: benchmarks[0].problem.kapa: task 'orthogonalize' has no parameter 'kapa'; "
        "did you mean 'kappa'?",
        "6: benchmarks[0].sizes[1]: a size is 2 positive integers (m, n), got [8]",
        "8: benchmarks[0].methods[0]: unknown method 'newton_shulz'; did you mean 'newton_schulz'",
        "10: benchmarks[0].methods[1].params.steps: 'five' is not of type int",
        "10: benchmarks[0].methods[1].params.coeffs: method 'newton_schulz' has no parameter "
        "'coeffs'; did you mean 'coefficients'?",
        "11: benchmarks[0].backends[0]: unknown backend 'numpi'; did you mean 'numpy'?",
        "12: benchmarks[0].dtypes[0]: unknown dtype 'float23'; did you mean",
        "13: benchmarks[1].task: unknown task 'orthogonalise'; did you mean 'orthogonalize'?",
    ]
    assert len(found) == len(expected)
    for issue, want in zip(found, expected, strict=True):
        assert issue.startswith(f"{path}:{want}"), (issue, want)


def test_method_of_the_wrong_family_is_refused(tmp_path, site):
    site.add(
        "sketch-dist",
        "sketchy",
        """
        from harness import hookimpl

        from harness import method

        @method(family="sketch")
        def gaussian_sketch(A, *, xp):
            return A

        @hookimpl
        def harness_methods():
            return [gaussian_sketch]
    """,
    )
    path = write(
        tmp_path,
        """
        benchmarks:
          - task: orthogonalize
            sizes: [[4, 4]]
            methods: [gaussian_sketch]
    """,
    )
    (issue,) = issues(path, Registry.load())
    assert issue.endswith(
        "methods[0]: method 'gaussian_sketch' is of family 'sketch', but task "
        "'orthogonalize' takes methods of family 'orthogonalizer'"
    )


def test_invalid_suite_writes_nothing_to_the_database(tmp_path):
    path = write(tmp_path, GOOD.replace("svd_polar", "svd_polr"))
    db = tmp_path / "results.sqlite"
    result = run_cli("run", path, "--db", str(db))
    assert result.returncode == 2
    assert "did you mean 'svd_polar'" in result.stderr
    assert f"{path}:" in result.stderr
    assert not db.exists() or sqlite3.connect(db).execute(
        "SELECT count(*) FROM runs"
    ).fetchone() == (0,)


def test_method_restricted_to_other_tasks_is_refused(tmp_path, site):
    site.add(
        "picky-dist",
        "picky",
        """
        from harness import hookimpl

        from harness import method

        @method(family="orthogonalizer", tasks={"stiefel_retraction"})
        def picky(G, *, xp):
            return G

        @hookimpl
        def harness_methods():
            return [picky]
    """,
    )
    path = write(
        tmp_path,
        """
        benchmarks:
          - task: orthogonalize
            sizes: [[4, 4]]
            methods: [picky]
    """,
    )
    (issue,) = issues(path, Registry.load())
    assert issue.endswith(
        "methods[0]: method 'picky' runs on task(s) stiefel_retraction, not on 'orthogonalize'"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name: \x01\n", "not valid YAML"),
        (b"\xff\xfe bad bytes", "byte 0xff at offset 0 is not UTF-8"),
        (b"benchmarks: &x [*x]\n", "alias refers to itself"),
        (b"~: 2\n", "unknown key None"),
        (b"timing: {timeout: .nan}\nbenchmarks: []\n", "must be a finite number"),
        (b"seed: 100000000000000000000000\nbenchmarks: []\n", "2**63 - 1"),
        (
            b"benchmarks:\n  - task: orthogonalize\n    sizes: [[8, 8]]\n    methods:\n"
            b"      - name: newton_schulz\n        params: {steps: []}\n",
            "an empty list sweeps over nothing",
        ),
        (
            b"benchmarks:\n  - task: orthogonalize\n    sizes: [[true, 8]]\n"
            b"    methods: [svd_polar]\n",
            "a size is 2 positive integers",
        ),
    ],
)
def test_malformed_files_are_issues_not_tracebacks(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    assert any(message in issue for issue in issues(str(path)))
