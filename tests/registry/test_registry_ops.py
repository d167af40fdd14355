"""Every registry operation, what it returns, what it writes, and the one commit it makes."""

from __future__ import annotations

from pathlib import Path

import pytest

import mltrail
from mltrail.errors import (
    InvalidParameterValue,
    MltrailError,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from mltrail.store import FileStore, layout
from tests.registry.conftest import commit_count, last_commit, log_model_run


def test_register_model_makes_version_1_pointing_at_the_run(
    client: mltrail.Client, model_run: str, repo: Path, tracking: FileStore
) -> None:
    mv = mltrail.register_model(f"runs:/{model_run}/model", "churn", tags={"team": "growth"})
    assert (mv.name, mv.version, mv.current_stage, mv.status) == ("churn", 1, "None", "READY")
    assert mv.source == f"runs:/{model_run}/model" and mv.run_id == model_run
    assert mv.tags == {"team": "growth"} and mv.aliases == [] and mv.user_id
    commit = last_commit(repo)
    assert commit.subject == f"model churn: register v1 from run {model_run[:8]}"
    assert commit.event is not None and commit.event["action"] == "register"
    assert commit.event["version"] == 1 and commit.event["run_id"] == model_run
    version_file = layout.version_file(tracking.root / "models" / "churn", mv.version_id)
    assert commit.files == [version_file.relative_to(repo).as_posix()]
    assert commit.author == "Test User"
    # nothing was copied: the model stays in the run's artifacts
    assert not list((tracking.root / "models").rglob("MLmodel"))


def test_version_numbers_are_never_reused(client: mltrail.Client, model_run: str) -> None:
    uri = f"runs:/{model_run}/model"
    assert [mltrail.register_model(uri, "churn").version for _ in range(3)] == [1, 2, 3]
    client.delete_model_version("churn", 3)
    client.delete_model_version("churn", "2")
    assert mltrail.register_model(uri, "churn").version == 4
    with pytest.raises(ResourceNotFound, match=r"no version 3 .*deleted.*never reused"):
        client.get_model_version("churn", 3)
    assert [v.version for v in client.search_model_versions("name = 'churn'")] == [4, 1]


def test_model_uri_forms(client: mltrail.Client, model_run: str, tracking: FileStore) -> None:
    artifacts = tracking.run_path(model_run) / "artifacts" / "model"
    first = mltrail.register_model(f"runs:/{model_run}/model", "churn")
    by_path = mltrail.register_model(str(artifacts), "churn")
    by_file_uri = mltrail.register_model(artifacts.as_uri(), "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    client.transition_model_version_stage("churn", 2, "Staging")
    copies = [
        mltrail.register_model(uri, "churn-prod")
        for uri in ("models:/churn/1", "models:/churn@champion", "models:/churn/staging")
    ]
    latest = mltrail.register_model("models:/churn/latest", "churn-prod")
    for mv in (by_path, by_file_uri, *copies, latest):
        assert mv.source == first.source and mv.run_id == model_run
    assert [mv.version for mv in (*copies, latest)] == [1, 2, 3, 4]
    assert client.get_model_version("churn-prod", 1).source == f"runs:/{model_run}/model"


def test_copy_commit_names_the_source_version(
    client: mltrail.Client, model_run: str, repo: Path
) -> None:
    mltrail.register_model(f"runs:/{model_run}/model", "churn")
    mv = client.copy_model_version("models:/churn/1", "churn-prod")
    assert mv.version == 1
    expected = f"model churn-prod: register v1 from churn v1 (run {model_run[:8]})"
    assert last_commit(repo).subject == expected


@pytest.mark.parametrize(
    ("uri", "error", "fragment"),
    [
        ("s3://bucket/model", InvalidParameterValue, "models logged in a run"),
        ("runs:/", InvalidParameterValue, "runs:/<run_id>"),
        ("runs:/{run}/../x", InvalidParameterValue, "'..'"),
        ("runs:/{run}/nothing-here", ResourceNotFound, "no artifact 'nothing-here'"),
        ("runs:/" + "0" * 32 + "/model", ResourceNotFound, "No run with id"),
        ("models:/nope/1", ResourceNotFound, "No registered model 'nope'"),
        ("models:/churn", InvalidParameterValue, "names no version"),
    ],
)
def test_bad_model_uris_are_clear_errors(
    client: mltrail.Client, model_run: str, uri: str, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment.replace("(", r"\(")):
        mltrail.register_model(uri.format(run=model_run), "churn")


def test_a_path_outside_the_store_is_refused(
    client: mltrail.Client, model_run: str, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "model"
    outside.mkdir(parents=True)
    with pytest.raises(InvalidParameterValue, match="not inside a run's artifacts"):
        mltrail.register_model(str(outside), "churn")


def test_create_registered_model_then_versions(
    client: mltrail.Client, model_run: str, repo: Path
) -> None:
    with pytest.raises(ResourceNotFound, match="No registered model 'churn'"):
        client.create_model_version("churn", f"runs:/{model_run}/model", model_run)
    rm = client.create_registered_model("churn", tags={"team": "growth"}, description="Churn.")
    assert (rm.name, rm.description, rm.tags, rm.latest_versions) == (
        "churn",
        "Churn.",
        {"team": "growth"},
        [],
    )
    assert last_commit(repo).subject == "model churn: create"
    with pytest.raises(ResourceAlreadyExists):
        client.create_registered_model("churn")
    mv = client.create_model_version("churn", f"runs:/{model_run}/model", model_run)
    assert mv.version == 1
    with pytest.raises(InvalidParameterValue, match="does not match"):
        client.create_model_version("churn", f"runs:/{model_run}/model", "f" * 32)


def test_transitions_are_case_insensitive_and_archive_existing(
    client: mltrail.Client, model_run: str, repo: Path
) -> None:
    for _ in range(3):
        mltrail.register_model(f"runs:/{model_run}/model", "churn")
    mv = client.transition_model_version_stage("churn", 1, "production")
    assert mv.current_stage == "Production"
    assert last_commit(repo).subject == "model churn v1: None -> Production"
    client.transition_model_version_stage("churn", "2", "PRODUCTION")
    mv = client.transition_model_version_stage("churn", 3, "Production", True)
    commit = last_commit(repo)
    assert commit.subject == "model churn v3: None -> Production (archived v1, v2)"
    assert commit.event is not None and commit.event["archived"] == [1, 2]
    assert len(commit.files) == 3
    stages = {v.version: v.current_stage for v in client.search_model_versions("name='churn'")}
    assert stages == {1: "Archived", 2: "Archived", 3: "Production"}
    client.transition_model_version_stage("churn", 3, "Staging")
    assert last_commit(repo).subject == "model churn v3: Production -> Staging"
    with pytest.raises(InvalidParameterValue, match="None, Staging, Production, Archived"):
        client.transition_model_version_stage("churn", 3, "Prod")
    with pytest.raises(InvalidParameterValue, match="archive_existing_versions"):
        client.transition_model_version_stage("churn", 3, "Archived", True)


def test_get_latest_versions(client: mltrail.Client, model_run: str) -> None:
    for _ in range(4):
        mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.transition_model_version_stage("churn", 1, "Production")
    client.transition_model_version_stage("churn", 2, "Staging")
    latest = client.get_latest_versions("churn")
    assert [(v.version, v.current_stage) for v in latest] == [
        (4, "None"),
        (2, "Staging"),
        (1, "Production"),
    ]
    assert [v.version for v in client.get_latest_versions("churn", ["production"])] == [1]
    assert client.get_latest_versions("churn", ["Archived"]) == []
    model = client.get_registered_model("churn")
    assert [v.version for v in model.latest_versions] == [4, 2, 1]


def test_aliases(client: mltrail.Client, model_run: str, repo: Path) -> None:
    for _ in range(2):
        mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    assert last_commit(repo).subject == "model churn: alias champion -> v1"
    client.set_registered_model_alias("churn", "champion", "2")
    assert last_commit(repo).subject == "model churn: alias champion -> v2 (was v1)"
    client.set_registered_model_alias("churn", "challenger", 1)
    assert client.get_registered_model("churn").aliases == {"champion": "2", "challenger": "1"}
    assert client.get_model_version_by_alias("churn", "champion").version == 2
    assert client.get_model_version("churn", 2).aliases == ["champion"]
    client.delete_registered_model_alias("churn", "challenger")
    assert last_commit(repo).subject == "model churn: delete alias challenger (was v1)"
    with pytest.raises(ResourceNotFound, match="no alias 'challenger'; aliases: champion -> v2"):
        client.get_model_version_by_alias("churn", "challenger")
    client.delete_model_version("churn", 2)
    assert last_commit(repo).subject == "model churn v2: delete (removed alias champion)"
    assert client.get_registered_model("churn").aliases == {}


@pytest.mark.parametrize(
    ("alias", "fragment"),
    [("latest", "reserved"), ("V3", "reserved"), ("a b", "letters"), ("", "Invalid alias")],
)
def test_bad_aliases(client: mltrail.Client, model_run: str, alias: str, fragment: str) -> None:
    mltrail.register_model(f"runs:/{model_run}/model", "churn")
    with pytest.raises(InvalidParameterValue, match=fragment):
        client.set_registered_model_alias("churn", alias, 1)


def test_alias_names_differing_only_in_case_are_refused(
    client: mltrail.Client, model_run: str
) -> None:
    mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.set_registered_model_alias("churn", "Champion", 1)
    with pytest.raises(InvalidParameterValue, match="case"):
        client.set_registered_model_alias("churn", "champion", 1)


def test_tags_and_descriptions(client: mltrail.Client, model_run: str, repo: Path) -> None:
    mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.set_registered_model_tag("churn", "team", "growth")
    assert last_commit(repo).subject == "model churn: tag team=growth"
    client.delete_registered_model_tag("churn", "team")
    assert last_commit(repo).subject == "model churn: delete tag team"
    client.set_model_version_tag("churn", "1", "validated", "yes")
    assert last_commit(repo).subject == "model churn v1: tag validated=yes"
    client.transition_model_version_stage("churn", 1, "Staging")
    client.set_model_version_tag("churn", key="owner", value="ana", stage="staging")
    assert client.get_model_version("churn", 1).tags == {"validated": "yes", "owner": "ana"}
    client.delete_model_version_tag("churn", 1, "validated")
    assert last_commit(repo).subject == "model churn v1: delete tag validated"
    rm = client.update_registered_model("churn", "Predicts churn.\n\nWeekly.")
    assert rm.description == "Predicts churn.\n\nWeekly."
    assert last_commit(repo).subject == "model churn: describe"
    mv = client.update_model_version("churn", 1, "First try.")
    assert mv.description == "First try."
    assert last_commit(repo).subject == "model churn v1: describe"
    with pytest.raises(ResourceNotFound, match="no tag 'nope'"):
        client.delete_registered_model_tag("churn", "nope")


def test_rename_moves_the_folder_and_keeps_history(
    client: mltrail.Client, model_run: str, repo: Path, tracking: FileStore
) -> None:
    from mltrail.registry import model_history

    mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    rm = client.rename_registered_model("churn", "Churn Model")
    assert rm.name == "Churn Model" and rm.aliases == {"champion": "1"}
    assert last_commit(repo).subject == "model Churn Model: rename from churn"
    assert not (tracking.root / "models" / "churn").exists()
    assert client.get_model_version("Churn Model", 1).name == "Churn Model"
    with pytest.raises(ResourceNotFound):
        client.get_registered_model("churn")
    actions = [e.action for e in model_history(tracking.root, "Churn Model")]
    assert actions == ["rename", "alias", "register"]
    with pytest.raises(ResourceAlreadyExists):
        client.rename_registered_model("Churn Model", "Churn Model")


def test_delete_registered_model(
    client: mltrail.Client, model_run: str, repo: Path, tracking: FileStore
) -> None:
    for _ in range(2):
        mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.delete_registered_model("churn")
    assert last_commit(repo).subject == "model churn: delete (with 2 versions)"
    assert not (tracking.root / "models" / "churn").exists()
    with pytest.raises(ResourceNotFound):
        client.get_registered_model("churn")
    # As in MLflow, a new model of that name starts again at 1 (git keeps the old one).
    assert mltrail.register_model(f"runs:/{model_run}/model", "churn").version == 1


def test_each_change_is_exactly_one_commit(
    client: mltrail.Client, model_run: str, repo: Path
) -> None:
    before = commit_count(repo)
    mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.transition_model_version_stage("churn", 1, "Staging")
    client.set_registered_model_alias("churn", "champion", 1)
    client.update_registered_model("churn", "text")
    assert commit_count(repo) == before + 4


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("a/b", "'/' or ':'"),
        ("a:b", "'/' or ':'"),
        ("line\nbreak", "U+000A"),
        ("nul\x00", "U+0000"),
        ("x" * 300, "at most 256"),
    ],
)
def test_bad_model_names(client: mltrail.Client, model_run: str, name: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterValue, match=fragment.replace("+", r"\+")):
        mltrail.register_model(f"runs:/{model_run}/model", name)


def test_any_other_name_works_and_stays_inside_the_store(
    client: mltrail.Client, model_run: str, tracking: FileStore
) -> None:
    names = ["Churn Model", "churn", "CHURN", "..", "con", "модель 🚀", "a@b", "-x-", " padded "]
    for name in names:
        assert mltrail.register_model(f"runs:/{model_run}/model", name).name == name
    folders = sorted(p.name for p in (tracking.root / "models").iterdir())
    assert len(folders) == len(names)
    assert sorted(m.name for m in client.search_registered_models()) == sorted(names)
    assert client.get_model_version("a@b", 1).name == "a@b"


def test_without_auto_commit_changes_wait_for_mltrail_commit(
    client: mltrail.Client, model_run: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = client.store
    monkeypatch.setattr(store, "config", type(store.config)(auto_commit=False))
    before = commit_count(repo)
    mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    assert commit_count(repo) == before
    assert store.commit_pending("register churn") is not None
    assert commit_count(repo) == before + 1
    assert client.get_model_version_by_alias("churn", "champion").version == 1


def test_a_store_outside_git_works_without_history(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltrail.registry import model_history
    from mltrail.tracking import context

    root = tmp_path / "plain" / "runs"
    root.mkdir(parents=True)
    monkeypatch.chdir(root.parent)
    monkeypatch.setattr("mltrail.git.init_repo", lambda path: None)  # no git for this store
    mltrail.set_tracking_uri(root)
    try:
        client = mltrail.Client()
        assert client.store.repo_root is None
        run_id = log_model_run(client)
        assert mltrail.register_model(f"runs:/{run_id}/model", "churn").version == 1
        assert model_history(root, "churn") == []
    finally:
        context.close_all()
        context.reset_tracking_uri()


def test_a_git_failure_keeps_the_change_and_warns(
    client: mltrail.Client,
    model_run: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mltrail import git
    from mltrail.errors import GitError

    def fail(*args: object, **kwargs: object) -> None:
        raise GitError("git is broken")

    monkeypatch.setattr(git, "commit_paths", fail)
    mv = mltrail.register_model(f"runs:/{model_run}/model", "churn")
    assert mv.version == 1
    assert "git is broken" in caplog.text and "mltrail commit" in caplog.text


def test_errors_are_mlflow_exceptions(client: mltrail.Client) -> None:
    with pytest.raises(mltrail.MlflowException):
        client.get_registered_model("nope")
    with pytest.raises(MltrailError, match="it has no registered models yet"):
        client.get_model_version("nope", 1)
