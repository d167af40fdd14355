"""``mltrail pages``: publishing the dashboard on GitHub Pages."""

from __future__ import annotations

from pathlib import Path

import click

from mltrail.cli.common import open_store, store_option


@click.group()
def pages() -> None:
    """Publish the store's dashboard on GitHub Pages."""


@pages.command()
@store_option
@click.option("--repository", help="OWNER/NAME on GitHub (default: from the origin remote).")
@click.option(
    "--base-url", help="The site's URL, for a custom domain (default: from the repository)."
)
@click.option("--branch", help="Build on pushes to this branch (default: the current branch).")
@click.option(
    "--pip-install",
    "pip",
    metavar="SPEC",
    help="What the workflow installs with pip (default: this mltrail's version, mltrail==X.Y.Z).",
)
@click.option(
    "--name", default="mltrail-pages", show_default=True, help="The workflow's file name."
)
@click.option("--force", is_flag=True, help="Replace the workflow file if it exists.")
def init(store_path: Path | None, name: str, force: bool, **options: str | None) -> None:
    """Write a GitHub Actions workflow that builds and deploys the dashboard on every push.

    The file is .github/workflows/NAME.yml at the root of the store's git repository;
    commit and push it, then choose "GitHub Actions" as the Pages source in the
    repository's settings.
    """
    from mltrail.errors import StoreError
    from mltrail.github_pages import plan_workflow, write_workflow

    store = open_store(store_path)
    if store.repo_root is None:
        raise StoreError(f"The store {store.root} is not in a git repository; run `git init`.")
    workflow = plan_workflow(store.repo_root, store.root, **options)
    path = write_workflow(store.repo_root, workflow, name, force)
    click.echo(f"Wrote {path}: it publishes {workflow.base_url} on pushes to {workflow.branch}.")
