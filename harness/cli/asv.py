"""``harness asv``: the common airspeed velocity (asv) workflows in one command each.

Each subcommand prints the asv command it runs, then runs it from the repository root (the
folder holding ``asv.conf.json``, found from the current directory upwards) with the asv of
this Python. The benchmarks themselves are in ``benchmarks/``; the walk-through is
docs/regression-tracking.md.

- ``last N``: benchmark the last N commits of the current branch (``asv run HEAD~N..HEAD``);
- ``compare BASE [HEAD]``: benchmark two commits or branches and show what changed by more
  than ``--factor`` (``asv continuous``; exit status 1 when something got slower);
- ``publish``: the HTML site of every stored result (``asv publish``, into reports/asv);
- ``quick``: the working tree, once, in this Python, nothing stored (``asv run
  --python=same --quick``);
- ``check``: that every benchmark imports and has a valid signature (``asv check``).

Runs ``asv machine --yes`` first when this machine has no ``~/.asv-machine.json``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click

CONFIG = "asv.conf.json"


def project_root(start: Path | None = None) -> Path:
    """The nearest folder, from ``start`` (the current one) upwards, holding asv.conf.json."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file():
            return folder
    raise click.ClickException(f"no {CONFIG} in {here} or any folder above it")


def run_asv(*args: str) -> int:
    """Run ``python -m asv ARGS`` in the project root, echoing the command; its exit status."""
    root = project_root()
    if args[0] in ("run", "continuous") and not (Path.home() / ".asv-machine.json").exists():
        _echo_and_run(root, "machine", "--yes")
    return _echo_and_run(root, *args)


def html_dir(root: Path) -> Path:
    """Where ``asv publish`` writes the site: ``html_dir`` of asv.conf.json (``//`` comments
    allowed, as asv allows them)."""
    text = re.sub(r"^\s*//.*$", "", (root / CONFIG).read_text(), flags=re.MULTILINE)
    return root / json.loads(text).get("html_dir", "html")


def _echo_and_run(root: Path, *args: str) -> int:
    click.echo(f"$ asv {' '.join(args)}", err=True)
    return subprocess.run([sys.executable, "-m", "asv", *args], cwd=root).returncode


bench_option = click.option(
    "--bench", "-b", multiple=True, help="Only benchmarks matching this regular expression."
)


def _bench_args(bench: tuple[str, ...]) -> list[str]:
    return [arg for pattern in bench for arg in ("--bench", pattern)]


@click.group(name="asv", context_settings={"help_option_names": ["-h", "--help"]})
def asv() -> None:
    """Regression tracking over commits with asv (docs/regression-tracking.md)."""


@asv.command()
@click.argument("count", type=click.IntRange(min=1), default=2)
@bench_option
def last(count: int, bench: tuple[str, ...]) -> None:
    """Benchmark the last COUNT commits of the current branch (default 2)."""
    sys.exit(run_asv("run", "--show-stderr", *_bench_args(bench), f"HEAD~{count}..HEAD"))


@asv.command()
@click.argument("base")
@click.argument("head", default="HEAD")
@click.option("--factor", default=1.1, show_default=True, help="Ratio that counts as a change.")
@bench_option
def compare(base: str, head: str, factor: float, bench: tuple[str, ...]) -> None:
    """Benchmark BASE and HEAD (commits or branches) and show what changed.

    Exit status 1 when a benchmark got slower (or worse) by more than --factor.
    """
    args = ["continuous", "--show-stderr", "--factor", str(factor), *_bench_args(bench)]
    sys.exit(run_asv(*args, base, head))


@asv.command()
def publish() -> None:
    """Write the HTML site of every stored result (reports/asv/index.html)."""
    status = run_asv("publish")
    if status == 0:
        click.echo(f"asv site: {html_dir(project_root()) / 'index.html'}")
    sys.exit(status)


@asv.command()
@bench_option
def quick(bench: tuple[str, ...]) -> None:
    """Run the benchmarks once on the working tree, in this Python; nothing is stored."""
    sys.exit(run_asv("run", "--python=same", "--quick", "--show-stderr", *_bench_args(bench)))


@asv.command()
def check() -> None:
    """Import every benchmark and check its signature (asv check), in this Python."""
    sys.exit(run_asv("check", "--python=same"))
