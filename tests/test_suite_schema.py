"""The published JSON Schema: it is ``harness.suite.schema.schema()`` written out, a valid
draft 2020-12 schema, it accepts every shipped suite on its own (with the plain ``jsonschema``
package, as an editor would use it), and its violations are worded with file, line and field."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import REPO

from harness.plugins.registry import Registry
from harness.suite.loader import SuiteError, load
from harness.suite.schema import TIMING_PARAMS, schema

PUBLISHED = REPO / "docs" / "suite.schema.json"


def test_the_published_schema_is_the_one_the_harness_uses():
    assert PUBLISHED.read_text() == json.dumps(schema(), indent=2) + "\n", (
        "regenerate it: python -m harness.suite.schema > docs/suite.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(json.loads(PUBLISHED.read_text()))


def test_the_schema_documents_every_timing_option():
    timing = schema()["properties"]["timing"]["properties"]
    assert list(timing) == [p.name for p in TIMING_PARAMS]
    assert all(prop["description"] for prop in timing.values())


@pytest.mark.parametrize("path", sorted((REPO / "suites").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_suite_meets_the_published_schema(path):
    validator = jsonschema.Draft202012Validator(json.loads(PUBLISHED.read_text()))
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []


def test_schema_violations_are_issues_with_file_line_and_field(tmp_path: Path):
    path = tmp_path / "suite.yaml"
    path.write_text(
        textwrap.dedent(
            """
            name: ""
            extends: 3
            tiers: [full, full]
            timing: {warmup: -1, cache: hot, threads: two, timeout: 0}
            include: {method: svd_polar}
            benchmarks:
              - task: orthogonalize
                sizes: [[8, 8]]
                methods:
                  - {name: svd_polar, param: {}}
                  - 3
                dtypes: [float32, float23]
              - sizes: [[8, 8]]
                problem: [gaussian]
            """
        ).lstrip()
    )
    with pytest.raises(SuiteError) as err:
        load(str(path), Registry.load())
    found = [str(issue).removeprefix(f"{path}:") for issue in err.value.issues]
    assert found == [
        "1: name: must not be empty",
        "2: extends: must be a string, got an integer",
        "3: tiers: lists a value twice: ['full', 'full']",
        "4: timing.warmup: must be at least 0, got -1",
        "4: timing.cache: 'hot' is not one of 'warm', 'cold'",
        "4: timing.timeout: must be from 0.001 to 604800.0, got 0",
        "4: timing.threads: must be an integer or null, got a string",
        "5: include: must be a list, got a mapping",
        "10: benchmarks[0].methods[0].param: unknown key 'param'; did you mean 'params'?",
        "11: benchmarks[0].methods[1]: a method entry must be a string or a mapping, got an "
        "integer",
        "12: benchmarks[0].dtypes[1]: unknown dtype 'float23'; did you mean 'float32' or "
        "'float64' or 'float16'?",
        "13: benchmarks[1]: a benchmark needs 'task'",
        "13: benchmarks[1]: a benchmark needs 'methods'",
        "14: benchmarks[1].problem: must be a mapping, got a list",
    ]
