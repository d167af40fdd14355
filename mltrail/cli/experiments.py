"""``mltrail experiments ...``"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mltrail.tracking.client import Client

from mltrail.cli.common import format_time, open_store, print_json, print_table, store_option


def _client(store_path: Path | None) -> Client:
    from mltrail.tracking.client import Client

    return Client(str(open_store(store_path).root))


@click.group()
def experiments() -> None:
    """List, create, rename, delete and restore experiments."""


@experiments.command("list")
@store_option
@click.option("--all", "show_all", is_flag=True, help="Include deleted experiments.")
@click.option("--deleted", is_flag=True, help="Only deleted experiments.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_(store_path: Path | None, show_all: bool, deleted: bool, as_json: bool) -> None:
    """List experiments with their run counts."""
    from mltrail.entities import ViewType

    store = open_store(store_path)
    view = ViewType.ALL if show_all else ViewType.DELETED_ONLY if deleted else ViewType.ACTIVE_ONLY
    exps = store.experiments.list(view)
    counts: dict[str, int] = {}
    for run in store.search_runs(None):
        counts[run.info.experiment_id] = counts.get(run.info.experiment_id, 0) + 1
    if as_json:
        print_json([{**e.__dict__, "runs": counts.get(e.experiment_id, 0)} for e in exps])
        return
    rows = [
        (
            e.experiment_id,
            e.name,
            counts.get(e.experiment_id, 0),
            e.lifecycle_stage,
            format_time(e.creation_time),
        )
        for e in exps
    ]
    print_table(("ID", "NAME", "RUNS", "STAGE", "CREATED"), rows)


@experiments.command()
@store_option
@click.argument("name")
@click.option("--description", help="Markdown description.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A tag (repeatable).")
def create(
    store_path: Path | None, name: str, description: str | None, tags: tuple[str, ...]
) -> None:
    """Create experiment NAME."""
    tag_map = dict(_split_tag(t) for t in tags)
    if description:
        tag_map["mlflow.note.content"] = description
    exp_id = _client(store_path).create_experiment(name, tags=tag_map)
    click.echo(f"Created experiment {name!r} with id {exp_id}.")


def _split_tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--tag")
    return key, value


@experiments.command()
@store_option
@click.argument("experiment")
@click.argument("new_name")
def rename(store_path: Path | None, experiment: str, new_name: str) -> None:
    """Rename EXPERIMENT (id or name) to NEW_NAME."""
    client = _client(store_path)
    exp_id = _resolve(client, experiment)
    client.rename_experiment(exp_id, new_name)
    click.echo(f"Renamed experiment {exp_id} to {new_name!r}.")


def _lifecycle_command(name: str, verb: str, doc: str) -> click.Command:
    """`experiments delete` and `experiments restore`: the same shape, another method."""

    @experiments.command(name, help=doc)
    @store_option
    @click.argument("experiment")
    def command(store_path: Path | None, experiment: str) -> None:
        client = _client(store_path)
        exp_id = _resolve(client, experiment)
        getattr(client, f"{name}_experiment")(exp_id)
        click.echo(f"{verb} experiment {exp_id}.")

    return command


delete = _lifecycle_command(
    "delete", "Deleted", "Soft-delete EXPERIMENT (id or name); `restore` brings it back."
)
restore = _lifecycle_command("restore", "Restored", "Restore the deleted EXPERIMENT (id or name).")


def _resolve(client: Client, experiment: str) -> str:
    """An experiment id from an id or a name."""
    from mltrail.errors import ResourceNotFound

    exp = client.get_experiment_by_name(experiment)
    if exp is not None:
        return str(exp.experiment_id)
    if experiment.isdigit():
        return str(client.get_experiment(experiment).experiment_id)
    raise ResourceNotFound(
        f"No experiment named {experiment!r}; see `mltrail experiments list --all`."
    )
