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
@click.option(
    "--random",
    "random_runs",
    type=click.IntRange(1),
    metavar="N",
    help="Sweep: N runs at points drawn from -P ranges (uniform:A:B, loguniform:A:B, "
    "int:A:B, choice:X,Y).",
)
@click.option("--seed", type=int, help="Seed of --random, for the same points again.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Sweep: runs at once on this machine.",
)
@click.option(
    "--metric",
    help="Sweep: the metric shown in the summary (default: the first "
    "one the runs logged, alphabetically).",
)
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
    random_runs: int | None,
    seed: int | None,
    jobs: int,
    metric: str | None,
    store_path: Path | None,
) -> None:
    """Run an entry point of the project at URI (a folder or a git repository, with
    #subdir for a project inside it) as a run of the store; the run records the
    parameters, the source and its commit, and the command's output.

    A -P value with commas (alpha=0.1,0.5) runs a grid sweep, one run per combination,
    under a parent run; --random N draws N points instead. Write \\, for a comma inside
    a value."""
    import mltrail
    from mltrail.projects import sweep
    from mltrail.projects.runner import RunRequest, submit

    mltrail.set_tracking_uri(str(open_store(store_path).root))
    request = RunRequest(
        uri, entry_point, parameters, experiment_name, experiment_id, run_name, env_manager,
        version,
    )  # fmt: skip
    if sweep.is_sweep(parameters, random_runs):
        _sweep(request, random_runs, seed, jobs, metric)
        return
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


def _sweep(
    request: Any, random_runs: int | None, seed: int | None, jobs: int, metric: str | None
) -> None:
    """Run the sweep, then print each child's values, status and metric; exit 1 if one
    did not finish, 130 when interrupted."""
    from dataclasses import replace

    from mltrail.cli.common import print_table
    from mltrail.projects import sweep

    given = request.parameters
    points = sweep.random_points(given, random_runs, seed) if random_runs else sweep.grid(given)
    swept = [k for k in given if len({p[k] for p in points}) > 1] or list(given)
    fixed = {k: v for k, v in given.items() if k not in swept}
    request = replace(request, parameters=fixed)

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        parent, children = sweep.run_sweep(
            request, [{k: p[k] for k in swept} for p in points], jobs,
            lambda text: click.echo(text, err=True),
        )  # fmt: skip
    except KeyboardInterrupt:
        click.echo("Sweep stopped: running children KILLED, finished ones kept.", err=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    run_ids = [c.run.run_id for c in children if c.run is not None]
    name, values = sweep.primary_metric(run_ids, metric)
    rows = [
        (c.run.run_id if c.run else "-", *(c.values[k] for k in swept), c.status,
         "-" if c.run is None or values.get(c.run.run_id) is None else f"{values[c.run.run_id]:g}")
        for c in children
    ]  # fmt: skip
    print_table(("RUN ID", *swept, "STATUS", name or "METRIC"), rows)
    failed = sum(c.status != "FINISHED" for c in children)
    click.echo(f"Sweep {parent}: {len(children) - failed} finished, {failed} not.", err=True)
    if failed:
        sys.exit(1)
