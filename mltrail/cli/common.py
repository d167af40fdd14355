"""Pieces shared by the commands: the --store option, tables and JSON output."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def store_option(f: F) -> F:
    return click.option(
        "--store",
        "store_path",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="MLTRAIL_TRACKING_URI",
        help="Store folder (default: $MLTRAIL_TRACKING_URI, else the nearest store above the "
        "current folder).",
    )(f)


def open_store(store_path: Path | None) -> Any:
    """The store the command works on; an error if there is none (commands never create one).

    It is the process's shared store object, so ``mltrail.flush()`` (and the exit hook)
    wait for the git commits a command started.
    """
    from mltrail.store import find_store
    from mltrail.tracking import context

    if store_path is not None:
        return context.get_store(context.uri_to_path(str(store_path)), create=False)
    found = find_store(Path.cwd())
    if found is None:
        from mltrail.errors import StoreError

        raise StoreError(
            "No mltrail store here or in any parent folder; create one with `mltrail init`."
        )
    return context.get_store(found, create=False)


def format_time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table; the header is bold on a terminal."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    click.secho(
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), bold=True
    )
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
