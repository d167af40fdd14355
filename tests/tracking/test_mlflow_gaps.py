"""Calls MLflow 3 documents that mltrail once lacked or answered otherwise (issue 12 §1):
each behaves as MLflow's does, checked here against what MLflow 3.17.2 does."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest

import mltrail
import mltrail.pyfunc
from mltrail import MlflowClient, MlflowException
from mltrail.entities import Param, RunStatus
from mltrail.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceNotFound
from tests.serving.models import AddN

pytestmark = pytest.mark.usefixtures("tracking")  # a fresh store and git repository each


def test_errors_carry_mlflows_error_codes_and_one_base() -> None:
    from mltrail.exceptions import MlflowException as FromModule

    assert FromModule is MlflowException
    with pytest.raises(MlflowException) as missing:
        MlflowClient().get_run("0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert missing.value.get_http_status_code() == 404
    assert isinstance(missing.value, ResourceNotFound) and missing.value.message
    mltrail.create_experiment("twice")
    with pytest.raises(ResourceAlreadyExists) as twice:
        mltrail.create_experiment("twice")
    assert twice.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(InvalidParameterValue) as bad:
        mltrail.log_param("", 1)
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
    mltrail.end_run()
    # raised as MLflow users raise it, and still an error after pickling (multiprocessing)
    own = MlflowException("custom", error_code="INVALID_STATE")
    assert own.error_code == "INVALID_STATE" and own.message == "custom"
    assert MlflowException.invalid_parameter_value("x").error_code == "INVALID_PARAMETER_VALUE"
    assert pickle.loads(pickle.dumps(missing.value)).message == missing.value.message
    assert mltrail.exceptions.ExecutionException.__mro__[1] is MlflowException


def test_run_status_converts_names_and_numbers() -> None:
    """MLflow's constants are numbers, mltrail's their names: code comparing the two
    through to_string / from_string works with either."""
    assert RunStatus.to_string(RunStatus.FAILED) == "FAILED"
    assert RunStatus.to_string(4) == "FAILED"  # MLflow's number for it
    assert RunStatus.from_string("KILLED") == RunStatus.KILLED
    assert [RunStatus.to_string(s) for s in RunStatus.all_status()] == [
        "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"
    ]  # fmt: skip
    assert RunStatus.is_terminated(3) and not RunStatus.is_terminated(RunStatus.RUNNING)
    with pytest.raises(InvalidParameterValue, match="Unknown run status"):
        RunStatus.from_string("DONE")


def test_get_parent_run_and_dict_of_run_data() -> None:
    with mltrail.start_run() as parent, mltrail.start_run(nested=True) as child:
        mltrail.log_param("p", 1)
        mltrail.log_metric("m", 2.0)
    found = mltrail.get_parent_run(child.info.run_id)
    assert found is not None and found.info.run_id == parent.info.run_id
    assert mltrail.get_parent_run(parent.info.run_id) is None
    data = dict(mltrail.get_run(child.info.run_id).data)
    assert sorted(data) == ["metrics", "params", "tags"]  # MLflow's three, no more
    assert data["params"] == {"p": "1"} and data["metrics"] == {"m": 2.0}
    assert dict(Param("k", "v")) == {"key": "k", "value": "v"}
    assert dict(mltrail.get_run(child.info.run_id).info)["run_id"] == child.info.run_id


def test_restore_experiment_is_fluent_too() -> None:
    experiment_id = mltrail.create_experiment("scratch")
    mltrail.delete_experiment(experiment_id)
    mltrail.restore_experiment(experiment_id)
    assert mltrail.get_experiment(experiment_id).lifecycle_stage == "active"


def test_a_param_twice_in_one_batch_is_refused_and_nothing_is_logged() -> None:
    client = MlflowClient()
    run = client.create_run("0")
    with pytest.raises(InvalidParameterValue, match=r"Duplicate param keys.*\['q'\]"):
        client.log_batch(
            run.info.run_id, params=[Param("q", "1"), Param("r", "x"), Param("q", "2")]
        )
    assert client.get_run(run.info.run_id).data.params == {}


def test_search_runs_takes_ids_or_names_not_both() -> None:
    with pytest.raises(InvalidParameterValue, match="not both"):
        mltrail.search_runs(experiment_ids=["0"], experiment_names=["Default"])


def test_resuming_with_tags_returns_the_run_with_them() -> None:
    with mltrail.start_run() as first:
        pass
    with mltrail.start_run(run_id=first.info.run_id, tags={"new": "t"}) as again:
        assert again.data.tags["new"] == "t"
    assert mltrail.get_run(first.info.run_id).data.tags["new"] == "t"


def test_log_artifact_of_a_folder_copies_it_under_its_own_name(tmp_path: Path) -> None:
    """As MLflow 3.17 does: ``outdir/...`` (``x/outdir/...`` with an artifact_path)."""
    folder = tmp_path / "outdir"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    with mltrail.start_run() as run:
        mltrail.log_artifact(str(folder))
        mltrail.log_artifact(str(folder) + "/", "x")
    client = MlflowClient()

    def walk(path: str | None = None) -> list[str]:
        found = []
        for f in client.list_artifacts(run.info.run_id, path):
            found += [f.path, *(walk(f.path) if f.is_dir else [])]
        return found

    files = [p for p in walk() if not p.startswith("source")]
    assert sorted(files) == [
        "outdir", "outdir/a.txt", "outdir/sub", "outdir/sub/b.txt",
        "x", "x/outdir", "x/outdir/a.txt", "x/outdir/sub", "x/outdir/sub/b.txt",
    ]  # fmt: skip


def test_a_model_registered_from_outside_the_store_is_copied_into_it(tmp_path: Path) -> None:
    """MLflow registers a folder anywhere; mltrail copies it into a run of the store first,
    so the version keeps working when the folder is gone."""
    outside = tmp_path / "elsewhere" / "model"
    mltrail.pyfunc.save_model(outside, python_model=AddN(1.0))
    client = MlflowClient()
    client.create_registered_model("adder")
    first = client.create_model_version("adder", str(outside))
    second = mltrail.register_model(outside.as_uri(), "adder")
    shutil.rmtree(outside.parent)
    for version in (first, second):
        assert version.source.startswith("runs:/") and version.source.endswith("/model")
        run = mltrail.get_run(version.run_id)
        assert run.info.status == "FINISHED"
        assert run.data.tags["mltrail.registeredFrom"] == str(outside)
    model = mltrail.pyfunc.load_model("models:/adder/2")
    assert model.predict(pd.DataFrame({"x": [1.0]})) == [2.0]
    with pytest.raises(InvalidParameterValue, match="not inside a run's artifacts"):
        client.create_model_version("adder", str(tmp_path))  # a folder without MLmodel


def test_one_log_metrics_call_gives_its_metrics_one_timestamp() -> None:
    with mltrail.start_run() as run:
        mltrail.log_metrics({f"m{i}": float(i) for i in range(50)}, step=3)
    client = MlflowClient()
    stamps = {
        point.timestamp
        for i in range(50)
        for point in client.get_metric_history(run.info.run_id, f"m{i}")
    }
    assert len(stamps) == 1


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///mlflow.db",
        "postgresql+psycopg2://me:secret@db:5432/mlflow",
        "http://127.0.0.1:5000",
        "https://mlflow.example.com",
    ],
)
def test_an_mlflow_backend_uri_names_the_import_command(uri: str) -> None:
    """One line that says what to do; a password in the URI is never shown."""
    with pytest.raises(InvalidParameterValue) as info:
        mltrail.set_tracking_uri(uri)
        mltrail.search_experiments()
    message = str(info.value)
    assert "mltrail import mlflow" in message and "mltrail server" in message
    assert "\n" not in message
    assert "secret" not in message
