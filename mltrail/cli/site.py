"""The dashboard commands: ``mltrail build`` (a static site) and ``mltrail ui`` (serve it)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from mltrail.cli.common import open_store

_STORE = click.argument(
    "store", required=False, envvar="MLTRAIL_TRACKING_URI", type=click.Path(file_okay=False)
)
#: A progress bar only when a build renders at least this many pages.
_BAR_AFTER = 50


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A callback drawing a click progress bar on a terminal (None elsewhere)."""
    if not sys.stderr.isatty():
        yield None
        return
    bars: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bars and total >= _BAR_AFTER:
            bar = click.progressbar(length=total, label="Rendering pages", file=sys.stderr)
            bars.append(bar.__enter__())
        if bars:
            bars[0].update(done - bars[0].pos)

    try:
        yield update
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


@click.command()
@_STORE
@click.option("-o", "--output", default="site", show_default=True, type=click.Path(file_okay=False))
@click.option("--ref", help="Build the store as of this git commit, branch or tag.")
@click.option("--base-url", help="The site's public URL (canonical links, 404 page).")
@click.option("--theme", help="A built-in theme's name or a theme folder.")
@click.option("--config", type=click.Path(dir_okay=False), help="Site config file.")
@click.option("--clean", is_flag=True, help="Empty the output folder first.")
@click.option("--strict", is_flag=True, help="Fail on config warnings too.")
def build(store: str | None, output: str, **options: Any) -> None:
    """Build the static dashboard of STORE (default: the nearest store) into a folder.

    The site opens from disk, from a domain root or from a sub-path. The site config
    is mltrail.yaml at the store root (or --config); --ref builds an older commit of
    the store without touching the working tree.
    """
    from mltrail_generator import build_site

    root = open_store(Path(store) if store else None).root
    with _progress() as progress:
        summary = build_site(root, Path(output), progress=progress, **options)
    click.echo(summary.describe())
    warning = summary.size_warning()
    if warning:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    gc.freeze()  # all that is left goes with the process: its exit need not walk it (0.1 s)


@click.command()
@_STORE
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; only requests naming it (or localhost) are answered.",
)
@click.option("--no-open", is_flag=True, help="Do not open a browser.")
def ui(store: str | None, port: int, host: str, no_open: bool) -> None:
    """Build the dashboard of STORE, serve it and rebuild it when the store changes.

    The site is kept in a cache folder outside the store, so a restart is incremental.
    Requests whose Host header names another address get 403 (DNS rebinding).
    Ctrl-C stops the server.
    """
    import webbrowser

    from mltrail_generator.serve import SiteServer, default_output

    root = open_store(Path(store) if store else None).root
    server = SiteServer(root, default_output(root), host=host, port=port)
    click.echo(server.start().describe())
    click.echo(f"Serving {server.url} (Ctrl-C to stop); rebuilding when {root} changes.")
    if not no_open:
        webbrowser.open(server.url)
    server.watch_forever(lambda summary: click.echo(summary.describe()))
