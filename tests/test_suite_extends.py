"""``extends:``: what a suite inherits, and errors in the chain (missing parents, cycles,
problems inside a parent) reported at the right file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.plugins.registry import Registry
from harness.suite.loader import SuiteError, load

REGISTRY = Registry.load()

PARENT = """
    name: parent
    description: the parent
    seed: [1, 2]
    tiers: [full]
    timing: {warmup: 0, min_samples: 2, budget: 0.1, isolation: inline}
    exclude:
      - {method: svd_polar, backend: torch}
    benchmarks:
      - task: orthogonalize
        sizes: [[8, 8]]
        methods: [newton_schulz, svd_polar]
        backends: [numpy, torch]
        dtypes: [float64]
"""

CHILD = """
    extends: {parent}
    timing: {{min_samples: 4}}
    seed: 3
    tiers: [ci]
    exclude:
      - {{method: newton_schulz, backend: numpy}}
    benchmarks:
      - task: inverse_root
        sizes: [16]
        methods: [eigh_root, svd_polar_typo]
        backends: [numpy, torch]
        dtypes: [float64]
"""


def write(folder: Path, name: str, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


def issues(path: str) -> list[str]:
    with pytest.raises(SuiteError) as err:
        load(path, REGISTRY)
    return [str(issue) for issue in err.value.issues]


def test_a_child_inherits_by_the_documented_rules(tmp_path):
    write(tmp_path / "base", "parent.yaml", PARENT)
    child = write(
        tmp_path,
        "child.yaml",
        CHILD.format(parent="base/parent.yaml").replace(", svd_polar_typo", ""),
    )
    suite = load(child, REGISTRY)
    assert suite.name == "child"  # names are not inherited
    assert suite.options.timing.min_samples == 4  # the child's option replaces the parent's
    assert (suite.options.timing.warmup, suite.options.isolation) == (0, "inline")  # kept
    assert suite.seed == 3 and {c.seed for c in suite.cases} == {3}
    described = [(c.task, c.method, c.backend) for c in suite.cases]
    assert described == [  # the parent's benchmarks first; both files' rules apply to all
        ("orthogonalize", "newton_schulz", "torch"),
        ("orthogonalize", "svd_polar", "numpy"),
        ("inverse_root", "eigh_root", "numpy"),
        ("inverse_root", "eigh_root", "torch"),
    ]
    # each file's top-level tiers tag the benchmarks written in it
    assert {c.task for c in load(child, REGISTRY, tier="full").cases} == {"orthogonalize"}
    assert {c.task for c in load(child, REGISTRY, tier="ci").cases} == {"inverse_root"}
    assert "--- # extends: " in suite.text and "name: parent" in suite.text
    assert suite.text.startswith("extends: base/parent.yaml")


def test_a_shipped_suite_can_be_extended_by_name(tmp_path):
    child = write(
        tmp_path,
        "quick.yaml",
        """
        extends: smoke
        timing: {budget: 0.05}
        exclude: [{backend: [torch-cuda, cupy]}]
        """,
    )
    suite = load(child, REGISTRY)
    smoke = load("smoke", REGISTRY)
    assert suite.options.timing.budget == 0.05
    assert suite.options.threads == smoke.options.threads == 1
    assert suite.cases == [c for c in smoke.cases if c.backend in ("numpy", "torch")]


def test_problems_in_the_parent_are_reported_at_the_parents_file_and_line(tmp_path):
    parent = write(
        tmp_path / "base",
        "parent.yaml",
        PARENT.replace("min_samples", "min_sampels").replace("svd_polar]", "svd_polr]"),
    )
    child = write(tmp_path, "child.yaml", CHILD.format(parent="base/parent.yaml"))
    assert issues(child) == [
        f"{parent}:5: timing.min_sampels: unknown key 'min_sampels'; did you mean 'min_samples'?",
        f"{parent}:11: benchmarks[0].methods[1]: unknown method 'svd_polr'; did you mean "
        "'svd_polar'?",
        f"{child}:10: benchmarks[0].methods[1]: unknown method 'svd_polar_typo'; did you mean "
        "'svd_polar'?",
    ]


def test_a_parent_that_is_not_yaml_is_reported_in_the_parent(tmp_path):
    parent = write(tmp_path, "parent.yaml", "benchmarks: [\n")
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\n")
    (issue,) = issues(child)
    assert issue.startswith(f"{parent}:2: (yaml): not valid YAML")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("missing.yaml", "no suite file "),
        ("smok", "unknown suite 'smok'; did you mean 'smoke'?"),
        ("''", "must not be empty"),
        ("[smoke, ci]", "must be a string, got a list"),
    ],
)
def test_a_parent_that_cannot_be_found_is_an_error_at_the_extends_line(tmp_path, value, message):
    child = write(tmp_path, "child.yaml", f"name: c\nextends: {value}\n")
    (issue,) = issues(child)
    assert issue.startswith(f"{child}:2: extends: {message}")


def test_cycles_are_detected(tmp_path):
    a = write(tmp_path, "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path / "sub", "b.yaml", "extends: ../a.yaml\n")
    write(tmp_path, "b.yaml", "extends: sub/b.yaml\n")
    (issue,) = issues(a)
    assert issue.startswith(f"{b}:1: extends: extends itself: {a} -> ")
    itself = write(tmp_path, "self.yaml", "extends: self.yaml\n")
    assert issues(itself) == [f"{itself}:1: extends: extends itself: {itself} -> {itself}"]


def test_a_chain_without_benchmarks_is_an_error(tmp_path):
    write(tmp_path, "base.yaml", "timing: {budget: 0.1}\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: empty\n")
    (issue,) = issues(child)
    assert issue.endswith("(top): a suite needs a non-empty list of benchmarks (or to extend one)")
