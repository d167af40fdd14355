"""``mltrail.Client`` (alias ``MlflowClient``): every operation addressed by id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import mltrail
from mltrail import Client, Metric, MlflowClient, MlflowException, Param, RunTag, ViewType
from mltrail.errors import (
    CorruptedRecord,
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from mltrail.store import FileStore


@pytest.fixture
def client(store: FileStore, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.chdir(repo)
    return Client(tracking_uri=str(store.root))


def test_client_is_mlflow_client_and_errors_are_mlflow_exceptions(client: Client) -> None:
    assert MlflowClient is Client
    with pytest.raises(MlflowException):
        client.get_run("0" * 32)


def test_client_uses_its_own_store_not_the_fluent_one(
    client: Client, store: FileStore, tmp_path: Path
) -> None:
    other = tmp_path / "other-store"
    mltrail.set_tracking_uri(other)
    try:
        run = client.create_run("0")
        client.set_terminated(run.info.run_id)
        assert FileStore(store.root).get_run(run.info.run_id).info.status == "FINISHED"
        assert not other.exists()
    finally:
        from mltrail.tracking import context

        context.reset_tracking_uri()


def test_create_run_and_terminate(client: Client) -> None:
    run = client.create_run("0", start_time=1_700_000_000_000, tags={"k": "v"}, run_name="manual")
    assert run.info.status == "RUNNING" and run.info.start_time == 1_700_000_000_000
    assert run.info.run_id.startswith("018bcfe5")  # ids begin with the start time
    assert client.get_run(run.info.run_id).data.tags["k"] == "v"
    client.set_terminated(run.info.run_id, "KILLED", end_time=1_700_000_005_000)
    info = client.get_run(run.info.run_id).info
    assert (info.status, info.end_time, info.run_name) == ("KILLED", 1_700_000_005_000, "manual")
    with pytest.raises(InvalidParameterValue, match="status"):
        client.set_terminated(run.info.run_id, "DONE")


def test_mlflow_tags_at_creation_become_fields(client: Client) -> None:
    parent = client.create_run("0")
    run = client.create_run(
        "0",
        tags={
            "mlflow.runName": "from-tag",
            "mlflow.user": "carol",
            "mlflow.parentRunId": parent.info.run_id,
            "mlflow.note.content": "notes",
            "mlflow.source.name": "notebook.ipynb",
            "mlflow.source.type": "NOTEBOOK",
        },
    )
    got = client.get_run(run.info.run_id)
    assert got.info.run_name == "from-tag" and got.info.user_id == "carol"
    tags = got.data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id
    assert tags["mlflow.note.content"] == "notes"
    assert (tags["mlflow.source.name"], tags["mlflow.source.type"]) == (
        "notebook.ipynb",
        "NOTEBOOK",
    )
    client.delete_tag(run.info.run_id, "mlflow.parentRunId")
    assert "mlflow.parentRunId" not in client.get_run(run.info.run_id).data.tags


def test_create_run_in_a_deleted_or_missing_experiment(client: Client) -> None:
    exp_id = client.create_experiment("closed")
    client.delete_experiment(exp_id)
    with pytest.raises(InvalidParameterValue, match="restore"):
        client.create_run(exp_id)
    client.restore_experiment(exp_id)
    assert client.create_run(exp_id).info.experiment_id == exp_id
    with pytest.raises(ResourceNotFound):
        client.create_run("987654321")


def test_log_batch_and_metric_history(client: Client) -> None:
    run_id = client.create_run("0").info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(5)],
        params=[Param("alpha", "0.5"), Param("beta", "2")],
        tags=[RunTag("team", "ml")],
    )
    client.log_metric(run_id, "loss", 0.1, timestamp=1_700_000_001_000, step=10)
    client.log_param(run_id, "gamma", 3)
    client.set_tag(run_id, "team", "ml2")
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(i, 1.0 / (i + 1)) for i in range(5)] + [
        (10, 0.1)
    ]
    assert history[0].timestamp == 1_700_000_000_000 and history[0].key == "loss"
    data = client.get_run(run_id).data
    assert data.params == {"alpha": "0.5", "beta": "2", "gamma": "3"}
    assert data.tags["team"] == "ml2" and data.metrics == {"loss": 0.1}
    summary = data.metric_summaries["loss"]
    assert (summary.min, summary.max, summary.count, summary.step) == (0.1, 1.0, 6, 10)
    with pytest.raises(InvalidParameterValue, match=r"'0\.5'"):
        client.log_batch(run_id, params=[Param("alpha", "0.6")])


def test_writes_to_an_ended_run_are_visible_and_committed(
    client: Client, repo: Path, git: Callable[..., str]
) -> None:
    run_id = client.create_run("0", run_name="done").info.run_id
    client.log_metric(run_id, "m", 1.0, step=0)
    client.set_terminated(run_id)
    client.log_metric(run_id, "m", 2.0, step=1)
    client.log_param(run_id, "late", "yes")
    client.set_tag(run_id, "reviewed", "true")
    got = client.get_run(run_id)
    assert got.data.metrics == {"m": 2.0} and got.data.params == {"late": "yes"}
    assert got.data.tags["reviewed"] == "true" and got.info.status == "FINISHED"
    assert mltrail.flush(timeout=30)
    assert git(repo, "status", "--porcelain", "--", "runs") == ""


def test_update_run(client: Client) -> None:
    run_id = client.create_run("0", run_name="before").info.run_id
    client.update_run(run_id, name="after")
    assert client.get_run(run_id).info.run_name == "after"
    client.update_run(run_id, status="SCHEDULED")
    assert client.get_run(run_id).info.status == "SCHEDULED"
    with pytest.raises(InvalidParameterValue):
        client.update_run(run_id, status="WHATEVER")
    with pytest.raises(InvalidParameterValue):
        client.update_run(run_id, name="two\nlines")


def test_delete_and_restore_run(client: Client) -> None:
    run_id = client.create_run("0").info.run_id
    client.set_terminated(run_id)
    client.delete_run(run_id)
    assert client.search_runs("0") == []
    assert [
        r.info.run_id for r in client.search_runs("0", run_view_type=ViewType.DELETED_ONLY)
    ] == [run_id]
    client.restore_run(run_id)
    assert [r.info.run_id for r in client.search_runs("0")] == [run_id]


def test_search_runs_pages(client: Client) -> None:
    ids = []
    for i in range(5):
        run = client.create_run("0", start_time=1_700_000_000_000 + i)
        client.log_metric(run.info.run_id, "i", i)
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    page1 = client.search_runs(["0"], max_results=2, order_by=["metrics.i ASC"])
    page2 = client.search_runs(
        ["0"], max_results=2, order_by=["metrics.i ASC"], page_token=page1.token
    )
    page3 = client.search_runs(
        ["0"], max_results=2, order_by=["metrics.i ASC"], page_token=page2.token
    )
    assert [r.info.run_id for r in [*page1, *page2, *page3]] == ids
    assert page3.token is None
    assert [r.info.run_id for r in client.search_runs("0", "metrics.i >= 3")] == ids[:2:-1]
    with pytest.raises(InvalidParameterValue):
        client.search_runs("0", page_token="not-a-token")


def test_experiment_management(client: Client) -> None:
    exp_id = client.create_experiment("one", tags={"mlflow.note.content": "# About"})
    exp = client.get_experiment(exp_id)
    assert exp.name == "one" and exp.description == "# About"
    assert exp.creation_time is not None
    client.create_experiment("two")
    with pytest.raises(ResourceAlreadyExists):
        client.rename_experiment(exp_id, "two")
    client.rename_experiment(exp_id, "uno")
    assert client.get_experiment_by_name("uno").experiment_id == exp_id
    assert client.get_experiment_by_name("one") is None
    client.set_experiment_tag(exp_id, "owner", "ana")
    client.delete_experiment_tag(exp_id, "owner")
    assert "owner" not in client.get_experiment(exp_id).tags
    with pytest.raises(ResourceNotFound):
        client.delete_experiment_tag(exp_id, "owner")
    with pytest.raises(ResourceNotFound):
        client.get_experiment("55555")
    with pytest.raises(ResourceNotFound):
        client.get_experiment("not-a-number")
    for bad in ("", "   ", "two\nlines", "x" * 501):
        with pytest.raises(InvalidParameterValue):
            client.create_experiment(bad)


def test_search_experiments_pages(client: Client) -> None:
    for name in ("a", "b", "c"):
        client.create_experiment(name)
    first = client.search_experiments(max_results=2, order_by=["name ASC"])
    rest = client.search_experiments(max_results=2, order_by=["name ASC"], page_token=first.token)
    assert [e.name for e in [*first, *rest]] == ["Default", "a", "b", "c"]
    assert rest.token is None


def test_artifacts_through_the_client(client: Client, tmp_path: Path) -> None:
    run_id = client.create_run("0").info.run_id
    (tmp_path / "a.txt").write_text("A")
    client.log_artifact(run_id, tmp_path / "a.txt", "docs")
    client.log_text(run_id, "B", "docs/b.txt")
    client.log_dict(run_id, {"k": [1, 2]}, "meta.json")
    folder = Path(client.download_artifacts(run_id, "docs", str(tmp_path / "dl")))
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.txt"]
    assert (folder / "b.txt").read_text() == "B"
    assert {f.path for f in client.list_artifacts(run_id)} == {"docs", "meta.json"}
    assert client.list_artifacts(run_id, "missing") == []
    with pytest.raises(ResourceNotFound):
        client.download_artifacts(run_id, "missing.txt", str(tmp_path / "dl2"))
    with pytest.raises(InvalidParameterValue, match="artifact_file"):
        client.log_image(run_id, object())
    with pytest.raises(InvalidParameterValue):
        client.log_text(run_id, "x", "")
    default_dst = Path(client.download_artifacts(run_id, "meta.json"))
    assert default_dst.read_text().startswith("{")


def test_search_results_read_their_inputs_only_when_asked(tracking: FileStore) -> None:
    """As MLflow's, search results carry inputs and outputs; reading them for every one of
    thousands of runs would slow every search, so each is read on first use, and a damaged
    inputs file costs only that run's inputs."""
    client = mltrail.Client()
    with mltrail.start_run() as good:
        mltrail.log_input(mltrail.data.from_numpy(np.arange(3.0), name="train"))
    with mltrail.start_run() as bad:
        pass
    (tracking.run_path(bad.info.run_id) / "inputs.yaml").write_text("datasets: 3\n")

    found = {r.info.run_id: r for r in client.search_runs(["0"])}
    assert [i.dataset.name for i in found[good.info.run_id].inputs.dataset_inputs] == ["train"]
    assert found[good.info.run_id].outputs.model_outputs == []
    with pytest.raises(CorruptedRecord, match=r"inputs\.yaml"):
        _ = found[bad.info.run_id].inputs.dataset_inputs
