"""The ``harness`` command line, one module per command (group).

Built on click (commands, options and ``--help`` text from one declaration) and rich (tables,
colour and a progress bar that degrade to plain text when the output is not a terminal).
Each module defines its command(s); this one assembles the ``harness`` group.
"""

from __future__ import annotations

import click

from harness import __version__
from harness.asv import asv
from harness.cli.compare import compare
from harness.cli.plugins import plugins
from harness.cli.report import report
from harness.cli.results import export, merge, runs, show
from harness.cli.roofline import roofline
from harness.cli.run import run
from harness.cli.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """linalg-harness: benchmark matrix methods (orthogonalizers, sketches, spectral filters,
    preconditioners) on every backend, from plugins.

    Plugins are found through the entry-point group 'harness'. Set HARNESS_BLOCK_PLUGINS=a,b
    to skip named plugins, HARNESS_DISABLE_PLUGIN_AUTOLOAD=1 to load none, HARNESS_DB to
    change the default results database (results/harness.sqlite).
    """


for command in (plugins, validate, run, runs, show, export, merge, compare, report, roofline, asv):
    main.add_command(command)
