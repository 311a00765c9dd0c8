"""docs/suites.md: every YAML example is a suite that validates, and every ``$ harness
validate`` transcript is what the command prints for the example files it names.

A ```yaml block whose first line is ``# file: NAME`` is written to NAME (the transcripts and
``extends:`` refer to it); the others are written to their own files. A block named by a
transcript (or extended by one) is checked by the transcript; every other block must be
valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from harness.plugins.registry import Registry
from harness.suite.loader import load

DOC = (REPO / "docs" / "suites.md").read_text()
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", DOC, flags=re.DOTALL)
EXAMPLES = [text for lang, text in BLOCKS if lang == "yaml"]
TRANSCRIPTS = [
    text for lang, text in BLOCKS if lang == "" and text.startswith("$ harness validate")
]


def file_name(index: int, text: str) -> str:
    first = text.splitlines()[0]
    return (
        first.removeprefix("# file: ") if first.startswith("# file: ") else f"example{index}.yaml"
    )


def write_examples(folder: Path) -> None:
    for i, text in enumerate(EXAMPLES):
        (folder / file_name(i, text)).write_text(text)


def transcript_files() -> set[str]:
    """The files the transcripts validate, and the files those extend."""
    named = {text.splitlines()[0].split()[-1] for text in TRANSCRIPTS}
    examples = {file_name(i, text): text for i, text in enumerate(EXAMPLES)}
    parents = {
        line.removeprefix("extends: ")
        for name in named
        for line in examples[name].splitlines()
        if line.startswith("extends: ")
    }
    return named | parents


def test_the_page_has_examples_and_transcripts():
    assert len(EXAMPLES) >= 8 and len(TRANSCRIPTS) == 2


@pytest.mark.parametrize(
    "index",
    [i for i, text in enumerate(EXAMPLES) if file_name(i, text) not in transcript_files()],
)
def test_every_example_suite_is_valid(tmp_path, index):
    write_examples(tmp_path)
    name = file_name(index, EXAMPLES[index])
    assert load(str(tmp_path / name), Registry.load()).cases


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda t: t.splitlines()[0])
def test_every_transcript_is_what_validate_prints(tmp_path, transcript):
    write_examples(tmp_path)
    command, *expected = transcript.rstrip("\n").splitlines()
    result = run_cli(*command.split()[2:], cwd=tmp_path)
    assert (result.stdout + result.stderr).splitlines() == expected
    assert result.returncode == (0 if expected[0].endswith(")") else 2)
