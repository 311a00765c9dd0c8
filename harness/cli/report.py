"""``harness report``: the HTML report of stored runs, written to a folder or published."""

from __future__ import annotations

from pathlib import Path

import click

from harness import report as html_report
from harness.cli.common import console, db_option, escape, fail, open_db
from harness.output_files import OutputError

DEFAULT_OUT = Path("reports") / "latest"


@click.command()
@click.argument("run_ids", metavar="[RUN]...", type=int, nargs=-1)
@db_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Folder to write the report into (index.html first).  [default: {DEFAULT_OUT}]",
)
@click.option(
    "--publish",
    "publish_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Add the report to the collection in this folder, laid out for static hosting "
    "(GitHub Pages), and rewrite its index of every published run.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into a folder that holds files the harness did not write (replacing the "
    "report's own pages there, removing nothing else).",
)
def report(
    run_ids: tuple[int, ...],
    db_path: Path | None,
    out: Path | None,
    publish_dir: Path | None,
    force: bool,
) -> None:
    """Write the HTML report of the RUNs (default: the latest run): a static site that works
    offline from file://.

    The last RUN is the one the overview and the task pages show; given two or more, the
    report compares the last two; given runs at several commits, it plots time per case
    against commit. A folder with an asv site beside it (../asv) is linked to.

    Only the pages the harness wrote into the folder (listed in its .harness-report.json)
    are replaced or removed; a folder with other files is refused unless --force.
    """
    if out is not None and publish_dir is not None:
        raise click.UsageError("give --out or --publish, not both")
    db = open_db(db_path)
    try:
        ids = list(run_ids) or [db.latest_run()]
        if publish_dir is not None:
            written = html_report.publish(db, ids, publish_dir, force=force)
        else:
            folder = out or DEFAULT_OUT
            asv = folder.parent / "asv" / "index.html"
            written = html_report.write(
                db, ids, folder, asv if asv.is_file() else None, force=force
            )
    except (LookupError, OutputError) as exc:
        fail(str(exc))
    finally:
        db.close()
    sizes = {p: p.stat().st_size for p in written}
    largest = max(sizes, key=sizes.__getitem__)
    console.print(
        f"report written to {escape(str(written[0]))} ({len(written)} pages, "
        f"{sum(sizes.values()) / 1024:.0f} KiB; largest {escape(largest.name)} "
        f"{sizes[largest] / 1024:.0f} KiB)"
    )
