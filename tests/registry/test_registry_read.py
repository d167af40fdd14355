"""The read API the site and the model loaders use: models:/ lookups, history from git,
lineage, and loading a registered model with mltrail.pyfunc."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import mltrail
from mltrail import registry
from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.registry.uris import model_path, model_version_for
from mltrail.store import FileStore
from tests.conftest import run_git
from tests.registry.conftest import log_model_run


@pytest.fixture
def churn(client: mltrail.Client, model_run: str) -> str:
    """churn v1 (Archived), v2 (Production, @champion), v3 (Staging), v4 (None)."""
    for _ in range(4):
        mltrail.register_model(f"runs:/{model_run}/model", "churn")
    client.transition_model_version_stage("churn", 1, "Production")
    client.transition_model_version_stage("churn", 2, "Production", True)
    client.transition_model_version_stage("churn", 3, "staging")
    client.set_registered_model_alias("churn", "champion", 2)
    return model_run


@pytest.mark.parametrize(
    ("spec", "version"),
    [
        ("churn/1", 1),
        ("churn/3", 3),
        ("churn/Production", 2),
        ("churn/production", 2),
        ("churn/STAGING", 3),
        ("churn/Archived", 1),
        ("churn/None", 4),
        ("churn/latest", 4),
        ("churn/LATEST", 4),
        ("churn@champion", 2),
        ("/churn/2", 2),
    ],
)
def test_model_version_for(client: mltrail.Client, churn: str, spec: str, version: int) -> None:
    found = model_version_for(client.store, spec)
    assert (found.name, found.version, found.run_id) == ("churn", version, churn)


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("churn/9", ResourceNotFound, "Model 'churn' has no version 9; versions: 1, 2, 3, 4."),
        (
            "churn@best",
            ResourceNotFound,
            "Model 'churn' has no alias 'best'; aliases: champion -> v2.",
        ),
        ("chrun/1", ResourceNotFound, "No registered model 'chrun' in the store"),
        ("churn/Prod", InvalidParameterValue, "Invalid stage 'Prod'"),
        ("churn", InvalidParameterValue, "names no version"),
        ("a/b/c", InvalidParameterValue, "Invalid model URI"),
        ("", InvalidParameterValue, "Invalid model URI"),
    ],
)
def test_model_version_for_errors_list_what_exists(
    client: mltrail.Client, churn: str, spec: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        model_version_for(client.store, spec)
    assert message in str(info.value)


def test_missing_stage_lists_the_stages(client: mltrail.Client, churn: str) -> None:
    client.transition_model_version_stage("churn", 3, "None")
    with pytest.raises(ResourceNotFound) as info:
        model_version_for(client.store, "churn/Staging")
    assert str(info.value) == (
        "Model 'churn' has no version in stage Staging; "
        "stages: None (v3, v4); Production (v2); Archived (v1)."
    )


def test_public_read_api(client: mltrail.Client, churn: str, tracking: FileStore) -> None:
    models = registry.list_models(client.store)
    assert [m.name for m in models] == ["churn"]
    assert {v.current_stage: v.version for v in models[0].latest_versions} == {
        "None": 4,
        "Staging": 3,
        "Production": 2,
        "Archived": 1,
    }
    assert [v.version for v in registry.list_versions(client.store, "churn")] == [1, 2, 3, 4]
    assert registry.get_version(client.store, "churn", "2").aliases == ["champion"]
    assert registry.duplicate_versions(client.store, "churn") == {}
    folder = model_path(client.store, registry.get_version(client.store, "churn", 1))
    assert (folder / "MLmodel").is_file()
    assert client.get_model_version_download_uri("churn", 1) == folder.as_uri()


def test_history_from_git(
    client: mltrail.Client, churn: str, tracking: FileStore, repo: Path
) -> None:
    events = registry.model_history(tracking.root, "churn")
    assert [(e.action, e.version) for e in events] == [
        ("alias", 2),
        ("transition", 3),
        ("transition", 2),
        ("transition", 1),
        ("register", 4),
        ("register", 3),
        ("register", 2),
        ("register", 1),
    ]
    promoted = events[2]
    assert promoted.summary == "model churn v2: None -> Production (archived v1)"
    assert promoted.details == {"old": "None", "new": "Production", "archived": [1]}
    assert (promoted.author_name, promoted.author_email) == ("Test User", "test@example.com")
    assert promoted.commit == run_git(repo, "rev-parse", "HEAD~2").strip()
    assert events[-1].details["run_id"] == churn and events[0].details["alias"] == "champion"
    assert all(e.model == "churn" and e.timestamp > 0 for e in events)
    # the history as of an older commit, and a limit
    older = registry.model_history(tracking.root, "churn", rev=events[4].commit)
    assert [e.action for e in older] == ["register"] * 4
    assert len(registry.model_history(tracking.root, "churn", max_count=2)) == 2
    assert registry.model_history(tracking.root, "other") == []


def test_hand_made_commits_are_other_events(
    client: mltrail.Client, churn: str, tracking: FileStore, repo: Path
) -> None:
    model_yaml = tracking.root / "models" / "churn" / "model.yaml"
    model_yaml.write_text("name: churn\ncreation_timestamp: 1\ndescription: by hand\n")
    run_git(repo, "add", str(model_yaml))
    run_git(repo, "commit", "-q", "-m", "Describe churn by hand")
    event = registry.model_history(tracking.root, "churn")[0]
    assert (event.action, event.summary, event.version) == ("other", "Describe churn by hand", None)
    assert client.get_registered_model("churn").description == "by hand"


def test_lineage(client: mltrail.Client) -> None:
    exp = client.create_experiment("churn-exp")
    run_id = log_model_run(client, experiment_id=exp, alpha="0.3", depth="4")
    mv = mltrail.register_model(f"runs:/{run_id}/model", "churn")
    found = registry.lineage(client.store, mv)
    assert found.run is not None and found.run.info.run_id == run_id
    assert found.experiment is not None and found.experiment.name == "churn-exp"
    assert found.params == {"alpha": "0.3", "depth": "4"}
    assert found.metrics == {"rmse": 0.25}
    assert (found.artifact_path, found.problem) == ("model", None)


def test_lineage_of_a_purged_run(client: mltrail.Client, model_run: str) -> None:
    mv = mltrail.register_model(f"runs:/{model_run}/model", "churn")
    shutil.rmtree(client.store.run_path(model_run))
    found = registry.lineage(client.store, mv)
    assert found.run is None and found.run_id == model_run
    assert found.problem is not None and model_run in found.problem


def test_pyfunc_loads_registered_models(client: mltrail.Client) -> None:
    """models:/ URIs through the model loaders (mltrail.pyfunc, the models helper's code)."""
    pyfunc = pytest.importorskip("mltrail.pyfunc", reason="mltrail.pyfunc is not there yet")
    pd = pytest.importorskip("pandas")

    class AddN(pyfunc.PythonModel):  # type: ignore[misc, name-defined]
        def __init__(self, n: int) -> None:
            self.n = n

        def predict(self, context: object, model_input: object, params: object = None) -> object:
            return model_input + self.n  # type: ignore[operator]

    for n in (1, 10):
        with mltrail.start_run():
            info = pyfunc.log_model("model", python_model=AddN(n))
        mltrail.register_model(info.model_uri, "adder")
    client.set_registered_model_alias("adder", "champion", 1)
    client.transition_model_version_stage("adder", 2, "Production")
    frame = pd.DataFrame({"x": [1, 2]})
    for uri, n in [
        ("models:/adder/1", 1),
        ("models:/adder@champion", 1),
        ("models:/adder/Production", 10),
        ("models:/adder/latest", 10),
    ]:
        assert list(pyfunc.load_model(uri).predict(frame)["x"]) == [1 + n, 2 + n], uri
