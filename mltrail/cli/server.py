"""``mltrail server``: MLflow's tracking REST API over a store, for unmodified MLflow clients."""

from __future__ import annotations

import contextlib
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mltrail.cli.common import open_store, store_option

if TYPE_CHECKING:
    from mltrail.server.server import ServerSettings


@click.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; another than loopback prints a warning.")  # fmt: skip
@click.option("--port", "-p", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(1),
              help="Worker processes.")  # fmt: skip
@click.option("--token", envvar="MLTRAIL_SERVER_TOKEN", default=None,
              help="Require 'Authorization: Bearer TOKEN' on every request (MLflow clients "
              "send $MLFLOW_TRACKING_TOKEN); default: $MLTRAIL_SERVER_TOKEN.")  # fmt: skip
@click.option("--site", is_flag=True,
              help="Also serve the store's static site at /, rebuilt within seconds of "
              "a change (as `mltrail ui`).")  # fmt: skip
def server(
    store_path: Path | None, host: str, port: int, workers: int, token: str | None, site: bool
) -> None:
    """Serve MLflow's tracking REST API and artifact proxy over the store, so unmodified
    MLflow clients log into it (MLFLOW_TRACKING_URI=http://127.0.0.1:5000). Runs end in
    git commits as when logged from Python. Ctrl-C stops it."""
    from mltrail.server.server import ServerSettings

    root = open_store(store_path).root
    with contextlib.ExitStack() as cleanup:
        site_dir = None
        if site:
            from mltrail_generator.serve import rebuild_in_background

            # uvicorn ends by raising the SIGTERM it caught again: unwind through the
            # cleanup first, then end by that signal as before.
            cleanup.enter_context(_unwind_on(signal.SIGTERM))
            site_dir = cleanup.enter_context(
                tempfile.TemporaryDirectory(
                    prefix="mltrail-server-site-", ignore_cleanup_errors=True
                )
            )
            cleanup.callback(rebuild_in_background(root, Path(site_dir)).set)
        _serve(ServerSettings(str(root), host, port, workers, token or None, site_dir))


class _Signalled(Exception):
    pass


@contextlib.contextmanager
def _unwind_on(signum: signal.Signals) -> Iterator[None]:
    """Turn ``signum`` into an exception inside the block (so ``finally`` and exit
    callbacks run), then end the process by that signal as its default action would."""

    def handler(received: int, frame: object) -> None:
        raise _Signalled(received)

    previous = signal.signal(signum, handler)
    try:
        yield
    except _Signalled:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
        raise
    finally:
        signal.signal(signum, previous)


def _serve(settings: ServerSettings) -> None:
    from mltrail.server.server import build_app, is_loopback, serve

    host, port, workers, token = settings.host, settings.port, settings.workers, settings.token
    app = build_app(settings)
    if not is_loopback(host):
        click.secho(
            f"Warning: listening on {host}: anyone who can reach this address can read and "
            "write the store" + ("." if token else "; set --token to require a token."),
            fg="yellow", err=True,
        )  # fmt: skip
    click.echo(f"Serving the store {settings.store} on http://{host}:{port} with {workers} "
               "worker(s); Ctrl-C to stop.", err=True)  # fmt: skip
    serve(settings, app if workers == 1 else None)
