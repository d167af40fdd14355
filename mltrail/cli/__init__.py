"""The ``mltrail`` command line: thin commands over the library."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from mltrail.errors import MltrailError


class _Group(click.Group):
    """Turns mltrail errors into a one-line message and an exit code (never a traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MltrailError as e:
            click.secho(f"Error: {e}", fg="red", err=True)
            sys.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mltrail")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logging.")
def cli(verbose: bool) -> None:
    """mltrail: experiment tracking with runs as plain files in git."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="mltrail: %(levelname)s: %(message)s",
    )


def build_cli() -> click.Group:
    """The ``mltrail`` group with every command registered (tests invoke it directly)."""
    from mltrail.cli import commands, experiments, help_examples, projects, runs, site

    for command in (
        commands.init,
        commands.commit,
        commands.gc,
        commands.sync,
        site.build,
        site.ui,
    ):
        cli.add_command(command)
    cli.add_command(experiments.experiments)
    cli.add_command(runs.runs)
    cli.add_command(projects.run)
    from mltrail.cli.models import models

    cli.add_command(models)
    from mltrail.cli.interop import export, import_

    cli.add_command(import_)
    cli.add_command(export)
    from mltrail.cli.server import server

    cli.add_command(server)
    from mltrail.cli.pages import pages

    cli.add_command(pages)
    help_examples.add_examples(cli)
    return cli


def main() -> None:
    build_cli()(prog_name="mltrail")
