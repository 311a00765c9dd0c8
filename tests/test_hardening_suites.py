"""Hardening, suites: bad suite files through the real command line. Each is refused with exit
status 2 and a message naming the file, line, field and problem, never a traceback: keys
given twice, numbers that are not finite, text a terminal would act on, files that are not
suites, and resource bombs (YAML alias expansion, deep nesting, too many cases), which must
end at once (a subprocess with a timeout proves it)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import run_cli

from harness.cli import main
from harness.model.params import Param
from harness.plugins.registry import Registry
from harness.suite.loader import SuiteError, load
from harness.suite.values import nonfinite, unsafe_text

HEAD = """\
timing: {roofline: false}
benchmarks:
  - task: orthogonalize
    sizes: [[8, 8]]
    backends: [numpy]
    dtypes: [float64]
"""
"""A benchmark without methods; ``bench`` adds its lines from line 7 on."""


def bench(*lines: str, top: str = "") -> str:
    """A suite: ``top`` lines, then HEAD's benchmark with ``lines`` (4-space indented) added."""
    return top + HEAD + "".join(f"    {line}\n" for line in lines)


OK = bench("methods: [svd_polar]")
NS = "methods: [{name: newton_schulz, params: %s}]"

BAD: dict[str, tuple[str, int, str, str]] = {
    # name: (suite text, line, field, message) -- keys given twice
    "methods twice": (
        bench("methods: [svd_polar]", "methods: [newton_schulz]"),
        8,
        "benchmarks[0].methods",
        "key 'methods' is given twice, on lines 7 and 8",
    ),
    "name twice": (
        "name: a\nname: b\n" + OK,
        2,
        "name",
        "key 'name' is given twice, on lines 1 and 2",
    ),
    "benchmarks twice": (
        OK + "benchmarks: []\n",
        8,
        "benchmarks",
        "key 'benchmarks' is given twice, on lines 2 and 8 (YAML would keep only the last)",
    ),
    "timing option twice": (
        "timing: {warmup: 0, warmup: 1}\n" + OK.split("\n", 1)[1],
        1,
        "timing.warmup",
        "key 'warmup' is given twice, on lines 1 and 1",
    ),
    "method param twice": (
        bench(NS % "{steps: 3, steps: 5}"),
        7,
        "benchmarks[0].methods[0].params.steps",
        "key 'steps' is given twice, on lines 7 and 7",
    ),
    "problem param twice": (
        bench("problem:", "  kappa: 10", "  kappa: 20", "methods: [svd_polar]"),
        9,
        "benchmarks[0].problem.kappa",
        "key 'kappa' is given twice, on lines 8 and 9",
    ),
    # numbers that are not finite
    "problem nan": (
        bench("problem: {kappa: .nan}", "methods: [svd_polar]"),
        7,
        "benchmarks[0].problem.kappa",
        "must be a finite number, got nan",
    ),
    "problem inf": (
        bench("problem: {kappa: .inf}", "methods: [svd_polar]"),
        7,
        "benchmarks[0].problem.kappa",
        "must be a finite number, got inf",
    ),
    "method -inf": (
        bench(NS % "{eps: -.inf}"),
        7,
        "benchmarks[0].methods[0].params.eps",
        "must be a finite number, got -inf",
    ),
    "overflow to inf": (
        bench(NS % "{eps: 1.0e+400}"),
        7,
        "benchmarks[0].methods[0].params.eps",
        "must be a finite number, got inf",
    ),
    "nan in a sweep": (
        bench(NS % "{eps: [1.0e-7, .NaN]}"),
        7,
        "benchmarks[0].methods[0].params.eps",
        "must be a finite number, got nan (NaN and infinity are refused)",
    ),
    "nan in a tuple": (
        bench(NS % "{coefficients: custom, custom: [1.5, .nan, 0.5]}"),
        7,
        "benchmarks[0].methods[0].params.custom",
        "must hold finite numbers, got (1.5, nan, 0.5)",
    ),
    "inf in a zipped list": (
        bench("methods: [{name: newton_schulz, zip: {eps: [1.0e-7, .inf]}}]"),
        7,
        "benchmarks[0].methods[0].zip.eps",
        "must be a finite number, got inf",
    ),
    "inf in problem_zip": (
        bench("problem_zip: {kappa: [10, .inf]}", "methods: [svd_polar]"),
        7,
        "benchmarks[0].problem_zip.kappa",
        "must be a finite number, got inf",
    ),
    "nan in a rule": (
        bench("methods: [newton_schulz]", "exclude: [{params: {eps: .nan}}]"),
        8,
        "benchmarks[0].exclude[0].params.eps",
        "must be a finite number, got nan",
    ),
    "inf timing option": (
        "timing: {budget: .inf}\n" + OK.split("\n", 1)[1],
        1,
        "timing.budget",
        "must be a finite number, got inf",
    ),
    "nan as text": (
        bench("problem: {kappa: nan}", "methods: [svd_polar]"),
        7,
        "benchmarks[0].problem.kappa",
        "'nan' is not of type float",
    ),
    # text a terminal would act on
    "ANSI escape in the name": (
        'name: "t\\e[31mred"\n' + OK,
        1,
        "name",
        "contains a control character U+001B",
    ),
    "C1 CSI in the name": (
        'name: "t\\x9b2J"\n' + OK,
        1,
        "name",
        "contains a control character U+009B",
    ),
    "line break in the name": (
        'name: "a\\nb"\n' + OK,
        1,
        "name",
        "contains a control character U+000A",
    ),
    "bell in the description": (
        'description: "ding\\a"\n' + OK,
        1,
        "description",
        "contains a control character U+0007",
    ),
    "bidi override in the description": (
        "description: total \u202egnp.exe\n" + OK,
        1,
        "description",
        "contains a bidirectional control U+202E (RIGHT-TO-LEFT OVERRIDE)",
    ),
    "bidi isolate in a method name": (
        bench("methods: [\u2066svd_polar]"),
        7,
        "benchmarks[0].methods[0]",
        "contains a bidirectional control U+2066 (LEFT-TO-RIGHT ISOLATE)",
    ),
    "right-to-left mark in a backend": (
        HEAD.replace("[numpy]", "[numpy\u200f]") + "    methods: [svd_polar]\n",
        5,
        "benchmarks[0].backends[0]",
        "contains a bidirectional control U+200F (RIGHT-TO-LEFT MARK)",
    ),
    "escape in a string parameter": (
        bench('problem: {layer: "fc2\\e[2J"}', "methods: [svd_polar]"),
        7,
        "benchmarks[0].problem.layer",
        "contains a control character U+001B",
    ),
    "escape in a key": (
        '"na\\x1bme": t\n' + OK,
        1,
        "na\x1bme",
        "contains a control character U+001B",
    ),
    "raw escape byte": (
        "name: t\x1b[31m\n" + OK,
        1,
        "(yaml)",
        "not valid YAML: a control character U+001B",
    ),
    "DEL in a task name": (
        OK.replace("task: orthogonalize", 'task: "orthogonalize\\x7f"'),
        3,
        "benchmarks[0].task",
        "contains a control character U+007F",
    ),
    # values the schema bounds (the run would overflow a clock or count a negative number)
    "negative repetitions": (
        "repetitions: -2\n" + OK,
        1,
        "repetitions",
        "must be from 1 to 1000, got -2",
    ),
    "a timeout of 30 years": (
        OK.replace("timing: {roofline: false}", "timing: {roofline: false, timeout: 1.0e+9}"),
        1,
        "timing.timeout",
        "must be from 0.001 to 604800.0, got 1000000000.0",
    ),
    "a lone surrogate in the name": (
        'name: "\\ud800x"\n' + OK,
        1,
        "name",
        "contains a lone surrogate U+D800",
    ),
    "a 5000-digit seed": (
        "seed: " + "9" * 5000 + "\n" + OK,
        0,
        "(yaml)",
        "a value cannot be read: Exceeds the limit (4300 digits)",
    ),
    # files that are not suites
    "empty file": ("", 1, "(top)", "a suite must be a mapping, got null"),
    "only a comment": ("# nothing\n", 1, "(top)", "a suite must be a mapping, got null"),
}


def cli(*args: str | Path):
    """The ``harness`` command in this process; an exception would fail the test."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_refused(result, *expected: str) -> None:
    """Exit status 2, every ``expected`` text on stderr, and no traceback or raw escape."""
    out = result.stdout + result.stderr
    assert result.exit_code == 2, out
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "Traceback" not in out
    assert not any(c in out for c in "\x1b\x9b\x07\u202e\u2066\u200f\x7f"), repr(out)


@pytest.mark.parametrize("name", BAD)
def test_validate_refuses(tmp_path, name):
    text, line, field, message = BAD[name]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    # raw characters are printed as escapes, so that the message can be read
    where = f"{path}:{line}: {field.encode('unicode_escape').decode()}: "
    result = cli("validate", path)
    assert_refused(result, where, message)
    assert f"{where}{message}" in result.stderr


@pytest.mark.parametrize("name", ["methods twice", "problem nan", "ANSI escape in the name"])
def test_run_refuses_before_anything_is_written(tmp_path, name):
    text, line, _, message = BAD[name]
    path, db = tmp_path / "bad.yaml", tmp_path / "r.sqlite"
    path.write_text(text)
    assert_refused(cli("run", path, "--db", db, "--inline"), f"{path}:{line}: ", message)
    assert not db.exists()


def test_a_multiline_description_may_hold_tabs_and_line_breaks(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("description: |\n  first line\n  \tindented\n" + OK)
    result = cli("validate", path)
    assert result.exit_code == 0 and "valid; 1 cases" in result.stdout


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        'name: "a\\e"\n'
        + bench("methods: [svd_polar]", "methods: [{name: newton_schulz, params: {eps: .inf}}]")
        + "timng: {}\n"
    )
    result = cli("validate", path)
    assert_refused(
        result,
        f"{path}:1: name: contains a control character U+001B",
        f"{path}:9: benchmarks[0].methods: key 'methods' is given twice, on lines 8 and 9",
        f"{path}:9: benchmarks[0].methods[0].params.eps: must be a finite number, got inf",
        f"{path}:10: timng: unknown key 'timng'",
        "4 problems",
    )


def test_a_parent_file_is_checked_at_its_own_line(tmp_path):
    (tmp_path / "parent.yaml").write_text(bench("methods: [svd_polar]", "dtypes: [float32]"))
    (tmp_path / "child.yaml").write_text("extends: parent.yaml\nname: child\n")
    result = cli("validate", tmp_path / "child.yaml")
    assert_refused(result, f"{tmp_path / 'parent.yaml'}:8: benchmarks[0].dtypes: key 'dtypes'")


def test_a_file_named_with_an_escape_needs_a_name(tmp_path):
    path = tmp_path / "\x1b[31mred.yaml"
    path.write_text(OK)
    result = cli("validate", path)
    assert_refused(
        result,
        "(top): the suite's name (its file's name) contains a control character U+001B",
        "\\x1b[31mred.yaml",
    )
    path.write_text("name: red\n" + OK)
    assert cli("validate", path).exit_code == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "(file): is a folder, not a suite file"),
        (
            lambda p: p.write_bytes(bytes(range(256))),
            "(file): not a text file: byte 0x80 at offset 128 is not UTF-8",
        ),
        (
            lambda p: p.write_text("name: t\n", "utf-16"),
            "(file): not a text file: byte 0xff at offset 0 is not UTF-8",
        ),
        (
            lambda p: p.write_text("#" * (2**18 + 1)),
            "(file): larger than 256 KiB: not a suite file",
        ),
        (lambda p: None, "(file): No such file or directory"),
    ],
    ids=["folder", "binary", "utf-16", "huge", "missing"],
)
def test_what_is_not_a_suite_file(tmp_path, make, message):
    path = tmp_path / "suite.yaml"
    make(path)
    assert_refused(cli("validate", path), f"{path}:0: {message}")


def test_a_device_or_a_pipe_is_not_read():
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    assert_refused(cli("validate", "/dev/zero"), "/dev/zero:0: (file): is not a regular file")


def test_a_pipe_is_not_read_even_when_extended(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it to read would wait for a writer for ever
    assert_refused(cli("validate", tmp_path / "pipe.yaml"), "(file): is not a regular file")
    (tmp_path / "child.yaml").write_text("extends: pipe.yaml\n" + OK)
    assert_refused(cli("validate", tmp_path / "child.yaml"), "(file): is not a regular file")


def test_a_file_name_too_long_is_named(tmp_path):
    assert_refused(cli("validate", tmp_path / ("b" * 300 + ".yaml")), "File name too long")


# --- resource bombs: real processes, and a timeout that proves they end at once


def billion_laughs(key: bool = False) -> str:
    """The classic: 9 levels of 9 aliases each, about 10^9 values from 342 bytes; with ``key``,
    the last level is a mapping key (where the constructor would build it all too)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    if key:
        lines[-1] = "? " + lines[-1].removeprefix("i: ") + "\n: 1"
    return "\n".join(lines) + "\n"


def deep(levels: int, opening: str, closing: str) -> str:
    return "benchmarks: " + opening * levels + "1" + closing * levels + "\n"


BOMBS = {
    "billion laughs": (billion_laughs(), 6, "f", "expands to more than 100000 values"),
    "billion laughs in a key": (
        billion_laughs(key=True),
        6,
        "f",
        "expands to more than 100000 values",
    ),
    "alias to itself": (
        "benchmarks: &x [*x]\n",
        1,
        "benchmarks[0]",
        "a YAML alias refers to itself",
    ),
    "10000 nested lists": (deep(10_000, "[", "]"), 1, "(yaml)", "nested deeper than 64 levels"),
    "10000 nested mappings": (
        deep(10_000, "{a: ", "}"),
        1,
        "(yaml)",
        "nested deeper than 64 levels",
    ),
    "100 nested lists": (
        deep(100, "[", "]"),
        1,
        "benchmarks" + "[0]" * 63,
        "nested deeper than 64 levels",
    ),
    "aliases nesting deeper": (
        "a: &a [[[[[[[[[[1]]]]]]]]]]\n"
        + "".join(
            f"{n}: &{n} [[[[[[[[[[*{p}]]]]]]]]]]\n" for p, n in zip("abcdef", "bcdefg", strict=True)
        )
        + OK,
        7,
        "g" + "[0]" * 9,
        "nested deeper than 64 levels",
    ),
}


@pytest.mark.parametrize("name", BOMBS)
def test_resource_bombs_end_at_once(tmp_path, name):
    text, line, field, message = BOMBS[name]
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    started = time.perf_counter()
    result = run_cli("validate", str(path), timeout=30)
    assert time.perf_counter() - started < 15
    assert result.returncode == 2, result.stderr
    assert f"{path}:{line}: {field}: {message}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def case_bomb(seeds: int) -> str:
    """About 1 KB: 100 sizes × 2 roots × ``seeds`` seeds × 2 epsilons × 2 dtypes."""
    sizes = ", ".join(str(n) for n in range(1, 101))
    return (
        "timing: {roofline: false}\nbenchmarks:\n  - task: inverse_root\n"
        f"    sizes: [{sizes}]\n"
        "    problem: {p: [2, 4]}\n"
        f"    seed: [{', '.join(str(s) for s in range(seeds))}]\n"
        "    methods: [{name: eigh_root, params: {eps: [0.0, 1.0e-9]}}]\n"
        "    backends: [numpy]\n    dtypes: [float32, float64]\n"
    )


CASE_BOMB = (
    "benchmarks[0]: 800,000 cases (sizes 100 × problem.p 2 × seeds 1,000 × "
    "methods[0].params.eps 2 × dtypes 2, before the include/exclude rules): above the limit "
    "of 100,000 (--max-cases)"
)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_case_bomb_is_refused_before_any_case_is_built(tmp_path, command):
    path, db = tmp_path / "bomb.yaml", tmp_path / "r.sqlite"
    path.write_text(case_bomb(1000))
    started = time.perf_counter()
    result = run_cli(command, str(path), *(["--db", str(db)] if command == "run" else []))
    assert time.perf_counter() - started < 20
    assert result.returncode == 2, result.stderr
    assert f"{path}:3: {CASE_BOMB}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not db.exists()


def test_max_cases_sets_the_limit(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(case_bomb(10))  # 8,000 cases
    result = cli("validate", path, "--max-cases", 8000)
    assert result.exit_code == 0 and "valid; 8000 cases" in result.stdout
    assert_refused(
        cli("run", path, "--max-cases", 7999, "--dry-run"),
        f"{path}:3: benchmarks[0]: 8,000 cases (sizes 100 × problem.p 2 × seeds 10 × ",
        "above the limit of 7,999 (--max-cases)",
    )
    assert_refused(cli("validate", path, "--max-cases", 0), "'--max-cases': 0 is not in the range")


def test_the_cases_of_several_methods_add_up(tmp_path):
    path = tmp_path / "methods.yaml"
    path.write_text(
        HEAD.replace("[[8, 8]]", "[[8, 8], [8, 4], [4, 4]]")
        + "    methods: [svd_polar, {name: newton_schulz, params: {steps: [1, 2]}}]\n"
    )
    assert_refused(
        cli("validate", path, "--max-cases", 8),
        f"{path}:3: benchmarks[0]: 9 cases (sizes 3 × methods (svd_polar 1 + newton_schulz 2) "
        "3, before the include/exclude rules): above the limit of 8 (--max-cases)",
    )


def test_benchmarks_within_the_limit_but_not_together(tmp_path):
    path = tmp_path / "two.yaml"
    one = case_bomb(10).split("benchmarks:\n", 1)[1]
    path.write_text("timing: {roofline: false}\nbenchmarks:\n" + one + one)
    assert_refused(
        cli("validate", path, "--max-cases", 10_000),
        f"{path}:1: (top): the benchmarks expand to 16,000 cases (benchmarks[0] 8,000 + "
        "benchmarks[1] 8,000, before the include/exclude rules): above the limit of 10,000",
    )
    assert cli("validate", path, "--max-cases", 16_000).exit_code == 0


# --- the checks themselves


def test_load_bounds_the_cases_it_builds(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(case_bomb(10))
    with pytest.raises(SuiteError, match="8,000 cases"):
        load(str(path), Registry.load(), max_cases=7999)
    assert len(load(str(path), Registry.load(), max_cases=8000).cases) == 8000


def test_a_parameter_whose_default_is_not_finite_takes_nan_and_infinity(tmp_path, site):
    site.add(
        "capped-dist",
        "capped",
        """
        import math

        from harness import hookimpl


        from harness import method

        @method(family="orthogonalizer")
        def capped(G, *, xp, limit: float = math.inf):
            return G

        @hookimpl
        def harness_methods():
            return [capped]
    """,
    )
    path = tmp_path / "capped.yaml"
    path.write_text(bench("methods: [{name: capped, params: {limit: [1.0, .inf, .nan]}}]"))
    assert len(load(str(path), Registry.load()).cases) == 3
    assert nonfinite(math.inf, Param("limit", float, math.inf)) is None
    assert nonfinite(math.nan, Param("limit", float, 1.0)).startswith("must be a finite number")


def test_unsafe_text_names_the_character():
    assert unsafe_text("a\tb") == "contains a control character U+0009"
    assert unsafe_text("a\tb\n", allowed="\t\n") is None
    assert unsafe_text("\u061c") == "contains a bidirectional control U+061C (ARABIC LETTER MARK)"
    assert unsafe_text("é — ✓ 日本") is None
