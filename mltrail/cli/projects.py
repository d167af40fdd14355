"""``mltrail run``: run a project's entry point as MLflow's ``mlflow run`` does."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from mltrail.cli.common import open_store, store_option


def _parameter(_ctx: Any, _param: Any, values: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE.")
        found[key] = value
    return found


@click.command("run")
@click.argument("uri")
@click.option(
    "-e",
    "--entry-point",
    default="main",
    show_default=True,
    help="An entry point of the MLproject, or a .py or .sh file of the project.",
)
@click.option(
    "-P",
    "--param-list",
    "parameters",
    multiple=True,
    callback=_parameter,
    metavar="KEY=VALUE",
    help="A parameter value (repeatable).",
)
@click.option(
    "--env-manager",
    type=click.Choice(["local", "virtualenv", "uv", "conda"]),
    help="Where the command runs (default: the project's own environment, else local).",
)
@click.option("--experiment-name", help="The run's experiment (created when missing).")
@click.option("--experiment-id", help="Or the experiment's id.")
@click.option("--run-name", help="The run's name.")
@click.option("-v", "--version", help="A commit, tag or branch of the project's git repository.")
@store_option
def run(
    uri: str,
    entry_point: str,
    parameters: dict[str, str],
    env_manager: str | None,
    experiment_name: str | None,
    experiment_id: str | None,
    run_name: str | None,
    version: str | None,
    store_path: Path | None,
) -> None:
    """Run an entry point of the project at URI (a folder or a git repository, with
    #subdir for a project inside it) as a run of the store; the run records the
    parameters, the source and its commit, and the command's output."""
    import mltrail
    from mltrail.projects.runner import RunRequest, submit

    mltrail.set_tracking_uri(str(open_store(store_path).root))
    request = RunRequest(
        uri, entry_point, parameters, experiment_name, experiment_id, run_name, env_manager,
        version,
    )  # fmt: skip
    submitted = submit(request, lambda text: click.echo(text, err=True))

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        ok = submitted.wait()
    except KeyboardInterrupt:
        submitted.cancel()
        click.echo(f"Run {submitted.run_id} stopped: KILLED.", err=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    status = submitted.get_status()
    click.echo(f"Run {submitted.run_id} {status}.", err=True)
    if not ok:
        sys.exit(1)
