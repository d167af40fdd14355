"""Store-level commands: init, commit, gc."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mltrail.cli.common import open_store, store_option

if TYPE_CHECKING:
    from mltrail.store import FileStore


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
def init(path: Path | None) -> None:
    """Create a store at PATH (default ./runs).

    Runs `git init` there when PATH is outside any git repository.
    """
    from mltrail.store import init_store

    store, created = init_store(path or Path("runs"))
    where = (
        "inside the git repository at " + str(store.repo_root) if store.repo_root else "without git"
    )
    if created:
        click.echo(f"Created an mltrail store at {store.root} ({where}).")
    else:
        click.echo(f"{store.root} is already an mltrail store.")


@click.command()
@store_option
@click.option("-m", "--message", help="Commit message (default: a summary of the files).")
@click.option(
    "--hooks",
    is_flag=True,
    help="Commit with `git commit`, running the repository's hooks (auto-commits do not).",
)
def commit(store_path: Path | None, message: str | None, hooks: bool) -> None:
    """Commit every uncommitted change of the store (when auto-commit is off or failed)."""
    store = open_store(store_path)
    if hooks:
        from mltrail.git import commit_with_hooks

        store.flush()  # commits this process started come first
        sha = commit_with_hooks(store.root, message)
    else:
        sha = store.commit_pending(message)
    click.echo(f"Committed {sha[:12]}." if sha else "Nothing to commit: the store is clean.")


@click.command()
@store_option
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Only purge runs deleted at least this many days ago.",
)
def gc(store_path: Path | None, older_than: float) -> None:
    """Permanently remove the files of deleted runs and commit the removal."""
    purged = open_store(store_path).gc(int(older_than * 86_400_000))
    for run_id in purged:
        click.echo(f"purged {run_id}")
    click.echo(f"Purged {len(purged)} deleted run{'s' if len(purged) != 1 else ''}.")


@click.command()
@store_option
@click.option(
    "--remote",
    help="The git remote to sync with (default: the branch's upstream remote, else origin).",
)
def sync(store_path: Path | None, remote: str | None) -> None:
    """Share the store through a git remote: fetch, merge, upload artifacts, push.

    The remote's commits are merged into the current branch (a merge commit; your
    commits are never rebased), touching only the files they change; a push that
    another machine beat is retried. Nothing changes when the repository is in the
    middle of a merge or rebase, has conflicts, or the merge would conflict.
    """
    from mltrail.store.sync import sync_store

    store = open_store(store_path)
    click.echo(f"Syncing the store {store.root} ...", err=True)
    result = sync_store(store, remote, progress=lambda line: click.echo(line, err=True))
    click.echo(result.describe())
    if result.received_registry_files:
        _warn_duplicate_versions(store)


def _warn_duplicate_versions(store: FileStore) -> None:
    """After a merge: models whose versions two clones numbered alike (docs/TEAMS.md)."""
    from mltrail import registry

    for model in registry.list_models(store):
        numbers = registry.duplicate_versions(store, model.name)
        if numbers:
            listed = ", ".join(f"v{n}" for n in numbers)
            click.secho(
                f"Warning: model {model.name!r} has two registrations numbered {listed} (one "
                f"from each clone); run `mltrail models resolve {model.name}`, then "
                "`mltrail sync`.",
                fg="yellow",
                err=True,
            )
