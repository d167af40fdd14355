"""Registry fixtures: a store in a git repository, the fluent API pointed at it, and a
finished run holding a (minimal) model folder to register."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

import mltrail
from mltrail.registry.commits import parse_trailer
from mltrail.store import FileStore
from tests.conftest import run_git

MLMODEL = "flavors:\n  python_function:\n    loader_module: mltrail.pyfunc\n"


@pytest.fixture
def client(tracking: FileStore) -> mltrail.Client:
    """A client of the ``tracking`` store (the fluent API uses the same store)."""
    return mltrail.Client()


def log_model_run(
    client: mltrail.Client, path: str = "model", experiment_id: str = "0", **params: str
) -> str:
    """A finished run with a model folder at ``path`` in its artifacts; its id."""
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.log_text(run_id, MLMODEL, f"{path}/MLmodel")
    client.log_params(run_id, params or {"alpha": "0.5"})
    client.log_metric(run_id, "rmse", 0.25)
    client.set_terminated(run_id)
    return run_id


@pytest.fixture
def model_run(client: mltrail.Client) -> str:
    return log_model_run(client)


@dataclass(frozen=True)
class Commit:
    subject: str
    event: dict[str, object] | None
    files: list[str]
    author: str


def last_commit(repo: Path, rev: str = "HEAD") -> Commit:
    """The subject, registry event, changed files and author of a commit."""
    mltrail.flush()
    body = run_git(repo, "log", "-1", "--format=%B", rev)
    files = run_git(repo, "show", "--name-only", "--format=", rev).split()
    author = run_git(repo, "log", "-1", "--format=%an", rev).strip()
    return Commit(body.partition("\n")[0], parse_trailer(body), files, author)


def commit_count(repo: Path) -> int:
    mltrail.flush()
    return int(run_git(repo, "rev-list", "--count", "HEAD"))
