"""``mltrail runs ...``"""

from __future__ import annotations

from pathlib import Path

import click

from mltrail.cli.common import format_time, open_store, print_json, print_table, store_option
from mltrail.entities import LifecycleStage


@click.group()
def runs() -> None:
    """List, show, delete and restore runs."""


@runs.command("list")
@store_option
@click.option(
    "-e",
    "--experiment",
    "experiments",
    multiple=True,
    help="Experiment name or id (repeatable; default: all).",
)
@click.option(
    "-f",
    "--filter",
    "filter_string",
    default="",
    help="MLflow filter, e.g. \"metrics.rmse < 0.8 and params.alpha = '0.5'\".",
)
@click.option("-o", "--order-by", multiple=True, help="e.g. 'metrics.rmse ASC' (repeatable).")
@click.option("-n", "--max", "max_results", type=click.IntRange(min=1), help="Show at most N runs.")
@click.option("--all", "show_all", is_flag=True, help="Include deleted runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_(
    store_path: Path | None,
    experiments: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int | None,
    show_all: bool,
    as_json: bool,
) -> None:
    """List runs, newest first."""
    from mltrail.cli.experiments import _resolve
    from mltrail.entities import ViewType
    from mltrail.tracking.client import Client

    store = open_store(store_path)
    client = Client(str(store.root))
    ids = [_resolve(client, e) for e in experiments] or None
    view = ViewType.ALL if show_all else ViewType.ACTIVE_ONLY
    found = store.search_runs(ids, filter_string, view, max_results, list(order_by) or None)
    if as_json:
        print_json([r.to_dictionary() for r in found])
        return
    names = {e.experiment_id: e.name for e in store.experiments.list(ViewType.ALL)}
    rows = [
        (
            r.info.run_id,
            r.info.run_name,
            names.get(r.info.experiment_id, r.info.experiment_id),
            r.info.status,
            format_time(r.info.start_time),
            _duration(r.info.start_time, r.info.end_time),
            ", ".join(f"{k}={v:.4g}" for k, v in sorted(r.data.metrics.items())[:4]),
        )
        for r in found
    ]
    print_table(("RUN ID", "NAME", "EXPERIMENT", "STATUS", "STARTED", "DURATION", "METRICS"), rows)


def _duration(start: int, end: int | None) -> str:
    if end is None:
        return "-"
    seconds = (end - start) / 1000
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


@runs.command()
@store_option
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show(store_path: Path | None, run_id: str, as_json: bool) -> None:
    """Show one run: info, params, metrics and tags."""
    run = open_store(store_path).get_run(run_id)
    if as_json:
        data = run.to_dictionary()
        data["data"]["metric_summaries"] = {
            k: s.__dict__ for k, s in sorted(run.data.metric_summaries.items())
        }
        print_json(data)
        return
    info = run.info
    click.secho(f"Run {info.run_name} ({info.run_id})", bold=True)
    for label, value in (
        ("experiment", info.experiment_id),
        ("status", info.status),
        ("started", format_time(info.start_time)),
        ("ended", format_time(info.end_time)),
        ("user", info.user_id),
        ("stage", info.lifecycle_stage),
        ("artifacts", info.artifact_uri),
    ):
        click.echo(f"  {label:<11}{value}")
    for title, values in (("params", run.data.params), ("tags", run.data.tags)):
        click.secho(title, bold=True)
        for k, v in sorted(values.items()):
            click.echo(f"  {k}: {v}")
    click.secho("metrics (latest, min, max, points)", bold=True)
    for k, s in sorted(run.data.metric_summaries.items()):
        click.echo(f"  {k}: {s.latest:.6g}  [{s.min:.6g}, {s.max:.6g}]  {s.count} at step {s.step}")


def _lifecycle_command(name: str, stage: str, verb: str, doc: str) -> click.Command:
    """`runs delete` and `runs restore`: the same shape, another lifecycle stage."""

    @runs.command(name, help=doc)
    @store_option
    @click.argument("run_id")
    def command(store_path: Path | None, run_id: str) -> None:
        open_store(store_path).set_lifecycle(run_id, stage)
        click.echo(f"{verb} run {run_id}.")

    return command


delete = _lifecycle_command(
    "delete",
    LifecycleStage.DELETED,
    "Deleted",
    "Soft-delete RUN_ID (`mltrail gc` removes its files for good).",
)
restore = _lifecycle_command(
    "restore", LifecycleStage.ACTIVE, "Restored", "Restore the deleted RUN_ID."
)
