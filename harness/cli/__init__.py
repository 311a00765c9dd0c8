"""The ``harness`` command line, one module per command (group).

Built on click (commands, options and ``--help`` text from one declaration) and rich (tables,
colour and a progress bar that degrade to plain text when the output is not a terminal).
Each module defines its command(s); this one assembles the ``harness`` group.
"""

from __future__ import annotations

import click

from harness import __version__
from harness.cli.asv import asv
from harness.cli.boundary import HarnessGroup
from harness.cli.check_plugin import check_plugin
from harness.cli.compare import compare
from harness.cli.describe import describe
from harness.cli.plugins import plugins
from harness.cli.report import report
from harness.cli.results import export, merge, runs, show
from harness.cli.roofline import roofline
from harness.cli.run import run
from harness.cli.validate import validate


@click.group(cls=HarnessGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
@click.option(
    "--debug",
    is_flag=True,
    envvar="HARNESS_DEBUG",
    help="Print the traceback of an unexpected error instead of writing it to a log file.",
)
def main(debug: bool) -> None:
    """linalg-harness: benchmark matrix methods (orthogonalizers, sketches, spectral filters,
    preconditioners) on every backend, from plugins.

    Plugins are found through the entry-point group 'harness'. Set HARNESS_BLOCK_PLUGINS=a,b
    to skip named plugins, HARNESS_DISABLE_PLUGIN_AUTOLOAD=1 to load none, HARNESS_DB to
    change the default results database (results/harness.sqlite).

    Exit status: 0 done; 1 what ran failed (cases of `run`, regressions of `compare`); 2 bad
    input or an unusable file (the message says which and what to do); 3 an internal error
    (the traceback goes to the log file it names); 130 interrupted.
    """


for command in (
    plugins,
    describe,
    check_plugin,
    validate,
    run,
    runs,
    show,
    export,
    merge,
    compare,
    report,
    roofline,
    asv,
):
    main.add_command(command)
