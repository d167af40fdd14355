"""``mltrail models ...``: JSON output, one-line errors and exit codes (2 bad input, 1 failure)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import mltrail
from mltrail.cli import build_cli
from mltrail.store import FileStore
from tests.registry.conftest import last_commit

COMMANDS = ("list", "show", "register", "transition", "alias", "describe", "delete", "resolve")


@pytest.fixture
def models(client: mltrail.Client, tracking: FileStore) -> Callable[..., Result]:
    """``models(*args, code=0)`` runs ``mltrail models ARGS --store <store>``."""
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(build_cli(), ["models", *args, "--store", str(tracking.root)])
        assert result.exit_code == code, result.output
        if code:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        return result

    return run


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(build_cli(), ["models", command, "--help"])
    assert result.exit_code == 0 and "--json" in result.output


def test_register_transition_alias_describe_show_list(
    models: Callable[..., Result], model_run: str, repo: Path
) -> None:
    data = _json(models("register", f"runs:/{model_run}/model", "churn", "--tag", "a=b", "--json"))
    assert (data["name"], data["version"], data["tags"]) == ("churn", 1, {"a": "b"})
    models("register", f"runs:/{model_run}/model", "churn", "--description", "Second.")
    data = _json(models("transition", "churn", "1", "production", "--json"))
    assert data["current_stage"] == "Production"
    data = _json(models("transition", "churn", "2", "Production", "--archive-existing", "--json"))
    assert last_commit(repo).subject == "model churn v2: None -> Production (archived v1)"
    data = _json(models("alias", "churn", "champion", "2", "--json"))
    assert data["aliases"] == ["champion"] and data["version"] == 2
    data = _json(models("describe", "churn", "Predicts churn.", "--json"))
    assert data["description"] == "Predicts churn."
    data = _json(models("describe", "churn", "Better.", "--version", "2", "--json"))
    assert data["description"] == "Better."

    shown = _json(models("show", "churn", "--json"))
    assert shown["aliases"] == {"champion": "2"}
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert [e["action"] for e in shown["history"]] == [
        "describe",
        "describe",
        "alias",
        "transition",
        "transition",
        "register",
        "register",
    ]
    assert shown["history"][2]["summary"] == "model churn: alias champion -> v2"
    assert shown["history"][0]["author_name"] == "Test User"
    text = models("show", "churn").stdout
    assert "champion -> v2" in text and "model churn v2: None -> Production" in text

    listed = _json(models("list", "--json"))
    assert [m["name"] for m in listed] == ["churn"]
    assert [v["version"] for v in listed[0]["latest_versions"]] == [2, 1]
    assert "churn" in models("list", "--filter", "name LIKE 'ch%'").stdout
    assert _json(models("list", "--filter", "name = 'x'", "--json")) == []


def test_alias_delete_and_model_delete(models: Callable[..., Result], model_run: str) -> None:
    models("register", f"runs:/{model_run}/model", "churn")
    models("alias", "churn", "champion", "1")
    assert _json(models("alias", "churn", "champion", "--delete", "--json"))["deleted"] is True
    data = _json(models("delete", "churn", "--version", "1", "--json"))
    assert data == {"name": "churn", "version": "1", "deleted": True}
    models("delete", "churn", code=2)  # the whole model needs --yes
    assert "Deleted churn." in models("delete", "churn", "--yes").stdout
    models("show", "churn", code=2)


def test_resolve_with_nothing_to_do(models: Callable[..., Result], model_run: str) -> None:
    models("register", f"runs:/{model_run}/model", "churn")
    assert _json(models("resolve", "--json")) == []
    assert "Nothing to resolve" in models("resolve", "churn").stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("show", "nope"), "No registered model 'nope'"),
        (("register", "s3://b/m", "churn"), "Cannot register"),
        (("register", "runs:/{run}/missing", "churn"), "no artifact 'missing'"),
        (("transition", "churn", "1", "Prod"), "Invalid stage 'Prod'"),
        (("transition", "churn", "x", "Staging"), "Invalid model version 'x'"),
        (("transition", "churn", "9", "Staging"), "no version 9; versions: 1"),
        (("alias", "churn", "latest", "1"), "reserved"),
        (("alias", "churn", "champion"), "either VERSION"),
        (("describe", "a/b", "text"), "cannot contain '/'"),
        (("list", "--filter", "name ~ 'x'"), "Invalid filter"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    models: Callable[..., Result], model_run: str, args: tuple[str, ...], fragment: str
) -> None:
    models("register", f"runs:/{model_run}/model", "churn")
    result = models(*(a.format(run=model_run) for a in args), code=2)
    assert fragment in result.stderr


def test_a_conflict_exits_1(
    models: Callable[..., Result], model_run: str, tracking: FileStore
) -> None:
    from dataclasses import replace

    from mltrail.registry.registry import Registry

    models("register", f"runs:/{model_run}/model", "churn")
    models("register", f"runs:/{model_run}/model", "churn")
    registry = Registry(tracking)
    state = registry.state("churn")
    registry.files.write_version(state.path, replace(state.versions[1], version=1))  # a merge
    result = models("transition", "churn", "1", "Staging", code=1)
    assert "mltrail models resolve churn" in result.stderr
    assert _json(models("resolve", "churn", "--json"))[0]["new_version"] == 2


def test_the_real_command(model_run: str, tracking: FileStore, repo: Path) -> None:
    mltrail.register_model(f"runs:/{model_run}/model", "Churn Model")
    mltrail.flush()
    proc = subprocess.run(
        [sys.executable, "-m", "mltrail", "models", "show", "Churn Model", "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["versions"][0]["source"] == f"runs:/{model_run}/model"
