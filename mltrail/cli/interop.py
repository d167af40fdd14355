"""``mltrail import mlflow`` and ``mltrail export mlflow``: move between MLflow and mltrail."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from mltrail.cli.common import open_store, store_option

#: A progress bar only when an import brings at least this many runs.
_BAR_AFTER = 20


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A callback drawing a progress bar on a terminal (None elsewhere)."""
    if not sys.stderr.isatty():
        yield None
        return
    bars: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bars and total >= _BAR_AFTER:
            bars.append(click.progressbar(length=total, label=label, file=sys.stderr).__enter__())
        if bars:
            bars[0].update(done - bars[0].pos)

    try:
        yield update
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


@click.group("import")
def import_() -> None:
    """Bring runs and models from another tracking system into the store."""


@import_.command("mlflow")
@click.argument("source")
@store_option
@click.option(
    "--experiment", "experiments", multiple=True, help="Only this experiment (repeatable)."
)
def import_mlflow(source: str, store_path: Path | None, experiments: tuple[str, ...]) -> None:
    """Import an MLflow store: an mlruns/ folder, a sqlite:/// database or a server URL.

    Runs keep their ids; runs already in the store are skipped, so importing again
    brings only new runs. Everything imported is one git commit.
    """
    from mltrail.interop import import_mlflow as run_import

    store = open_store(store_path)
    with _progress("Importing runs") as progress:
        report = run_import(store, source, experiments, progress)
    for line in report.lines():
        click.echo(line)
    click.echo(report.title() + (" (committed)." if report.committed else "."))


@click.group("export")
def export() -> None:
    """Write the store in another tracking system's format."""


@export.command("mlflow")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@store_option
def export_mlflow(dest: Path, store_path: Path | None) -> None:
    """Write the store as an MLflow file store at DEST (read by `mlflow ui` and MLflow's
    client), large artifacts included."""
    from mltrail.interop.export import export_mlflow as run_export

    store = open_store(store_path)
    with _progress("Exporting runs") as progress:
        summary = run_export(store, dest, progress)
    click.echo(summary)
