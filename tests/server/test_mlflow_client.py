"""The real MLflow 3.17.2 client against ``mltrail server`` (issue 12, §3)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from mltrail.store import FileStore
from tests.server.conftest import Server, new_store, run_client, start_client


def _committed(server: Server, run_id: str) -> bool:
    """Whether a commit of the store's repository holds the run ``run_id`` (the server
    commits in the background: waits up to 20 s)."""
    deadline = time.monotonic() + 20
    while not _in_git(server, run_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _in_git(server, run_id)


def _in_git(server: Server, run_id: str) -> bool:
    log = subprocess.run(
        ["git", "-C", str(server.store), "log", "--format=%s%n%b"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    files = subprocess.run(
        ["git", "-C", str(server.store), "ls-files"], capture_output=True, text=True, check=True
    )
    return run_id in log.stdout or run_id in files.stdout


def _stored_run(server: Server, run_id: str) -> object:
    return FileStore.open_read_only(server.store).get_run(run_id)


def test_fluent_api_logs_into_the_store(server: Server) -> None:
    out = run_client(server, "fluent.py")
    assert out["params"] == {"alpha": "0.5", "l1": "0.1", "depth": "3"}
    assert out["metrics"] == {"loss": 1 / 3, "auc": 0.9, "acc": 0.8}
    assert out["tags"] == {"team": "growth", "a": "1", "b": "2"}
    assert (out["status"], out["name"]) == ("FINISHED", "parent")
    assert out["history"] == [[0, 1.0], [1, 0.5], [2, 1 / 3]]
    assert out["artifacts"] == ["d.json", "docs", "notes.txt", "t"]
    assert out["docs"] == ["docs/notes.txt"]
    assert out["downloaded"] == "hello"
    assert out["frame"] == [2, ["params.alpha", "params.depth", "params.l1"]]
    assert out["child_parent"] == out["parent"]
    assert out["artifact_uri"].startswith("mlflow-artifacts:/")
    # the same run, read back from the files with mltrail, and committed to git
    stored = _stored_run(server, out["parent"])
    assert stored.data.params == out["params"]  # type: ignore[attr-defined]
    assert stored.info.run_name == "parent"  # type: ignore[attr-defined]
    store = FileStore.open_read_only(server.store)
    assert store.artifacts(out["parent"]).content_path("docs/notes.txt").read_text() == "hello"
    assert stored.info.status == "FINISHED"  # type: ignore[attr-defined]
    assert _committed(server, out["parent"]) and _committed(server, out["child"])


def test_mlflow_client_tracking_and_registry(server: Server) -> None:
    out = run_client(server, "client_api.py")
    assert out["duplicate"] == "RESOURCE_ALREADY_EXISTS"
    assert out["exp"] == ["client-api-2", {"team": "growth", "stage": "dev"}]
    assert out["by_name"] and out["missing"]
    assert out["search"] == ["4", "2"]
    assert out["pages"] == [["r0", "r1"], ["r2", "r3"]]
    assert out["nan"] == "nan"
    assert out["deleted_tag"] is False
    assert out["deleted"] == ["r1"]
    assert out["history"] == [[0, 0.8], [1, 0.8], [2, 0.8]]
    assert out["missing_run"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["param_change"] == "INVALID_PARAMETER_VALUE"
    assert out["exp_deleted"] == "deleted"
    assert "client-api-2" in out["exps"]
    description, tags, aliases, latest = out["model"]
    assert (description, tags, aliases) == ("second", {"t2": "2"}, {"champion": "2"})
    assert sorted(latest) == ["1", "2"]
    assert out["alias"] == ["2", {"validated": "yes"}, "better"]
    assert out["latest_prod"] == ["1"]
    assert out["search_versions"] == ["1", "2"]
    assert out["download"].startswith("mlflow-artifacts:/") and out["download"].endswith("/model")
    assert out["models"] == ["reg2"]
    assert out["models_after"] == []


def test_sklearn_autolog_log_model_and_load_by_alias(server: Server) -> None:
    out = run_client(server, "sklearn_model.py")
    assert out["by_alias"] == out["by_id"] == out["expected"]
    assert out["version"] == "1"
    assert {"C", "max_iter"} <= set(out["auto_params"])
    assert "training_accuracy_score" in out["auto_metrics"]
    store = FileStore.open_read_only(server.store)
    assert store.artifacts(out["run"]).exists("model/MLmodel")
    assert _committed(server, out["run"])


def test_many_clients_at_once_lose_nothing(server: Server) -> None:
    import mltrail

    client = mltrail.Client(str(server.store))
    shared = client.create_run("0", run_name="shared").info.run_id
    workers, count = 4, 15
    procs = [start_client(server, "hammer.py", shared, str(w), str(count)) for w in range(workers)]
    owns = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        owns.append(out.strip().splitlines()[-1])
    store = FileStore.open_read_only(server.store)
    run = store.get_run(shared)
    assert len(run.data.params) == workers * count
    assert len(store.get_metric_history(shared, "shared")) == workers * count
    import json

    for own in owns:
        run_id = json.loads(own)["own"]
        assert len(store.get_metric_history(run_id, "own")) == count
        assert len(store.get_run(run_id).data.params) == count


def test_logged_models_and_datasets_are_mltrail_records(server: Server) -> None:
    out = run_client(server, "logged_models.py")
    assert out["got"] == ["clf", out["run"], out["experiment"], "READY", "classifier"]
    assert out["params"] == {"C": "1.0", "kind": "logreg"}
    assert out["tags"] == {"team": "a", "stage": "dev"}
    assert out["metrics"] == [["acc", 0.75, 0], ["auc", 0.9, 0]]
    assert out["artifact_location"].endswith(f"/{out['run']}/artifacts/clf")
    assert {out["model_id"], out["second"]} <= set(out["found"])
    assert out["filtered"] == out["ordered"] == [out["second"], out["model_id"]]
    assert out["inputs"] == [["train-df", out["inputs"][0][1], "code",
                              {"mlflow.data.context": "training"}]]  # fmt: skip
    assert out["outputs"] == sorted([out["model_id"], out["second"]])
    assert out["run_metrics"] == {"acc": 1, "auc": 1}  # linking re-sends no point twice
    assert out["predict"][0] == out["predict"][1] == out["predict"][2]
    assert out["outside"] == "NOT_IMPLEMENTED"
    # the same records through mltrail's own API, and committed with the run
    import mltrail

    client = mltrail.Client(str(server.store))
    model = client.get_logged_model(out["model_id"])
    assert (model.name, model.status, model.source_run_id) == ("clf", "READY", out["run"])
    assert model.tags["stage"] == "dev" and "drop" not in model.tags
    assert sorted(m.key for m in model.metrics) == ["acc", "auc"]
    second = client.get_logged_model(out["second"])
    assert second.artifact_path == f"logged_models/{out['second']}"
    assert client.store.artifacts(out["run"]).exists(f"{second.artifact_path}/MLmodel")
    run = client.get_run(out["run"])
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["train-df"]
    assert run.inputs.dataset_inputs[0].context == "training"
    assert _committed(server, out["run"])


def test_filters_mean_what_they_mean_in_mlflow(tmp_path: Path) -> None:
    """``!=`` on a tag a run or model lacks, and MLflow's not-a-prompt clause, answer
    as MLflow's own SQLite store answers the same client calls."""
    server = Server(new_store(tmp_path))
    try:
        ours = run_client(server, "filters.py")
        sqlite = f"sqlite:///{tmp_path / 'mlflow.db'}"
        theirs = run_client(server, "filters.py", env={"MLFLOW_TRACKING_URI": sqlite})
    finally:
        server.stop()
    assert ours == theirs
    assert ours["runs"]["tags.x != 'y'"] == ["xz"]  # a run without the tag: no match
    assert ours["models"]["None"] == ["cats and dogs", "plain"]  # the prompt is left out
