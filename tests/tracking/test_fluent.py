"""The fluent API (``import mltrail as mlflow``), as a training script uses it."""

from __future__ import annotations

import json
import math
import platform
import re
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

import mltrail
from mltrail import MltrailError, RunStatus, ViewType
from mltrail.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceNotFound
from mltrail.store import FileStore, is_store
from mltrail.tracking import context

ScriptRunner = Callable[..., subprocess.CompletedProcess[str]]


def now_ms() -> int:
    return int(time.time() * 1000)


def history(run_id: str, key: str) -> list[tuple[int, float, int]]:
    points = mltrail.MlflowClient().get_metric_history(run_id, key)
    return [(m.step, m.value, m.timestamp) for m in points]


def artifact_file(run_id: str, path: str) -> Path:
    return Path(urlsplit(mltrail.MlflowClient().get_artifact_uri(run_id, path)).path)


# --- which store ----------------------------------------------------------------------------


def test_tracking_uri_accepts_a_path_or_a_file_uri(tracking: FileStore) -> None:
    assert mltrail.get_tracking_uri() == tracking.root.as_uri()
    mltrail.set_tracking_uri(tracking.root.as_uri())
    assert mltrail.get_tracking_uri() == tracking.root.as_uri()
    with mltrail.start_run() as run:
        pass
    assert FileStore(tracking.root).get_run(run.info.run_id).info.status == "FINISHED"


def test_tracking_uri_path_with_spaces_as_file_uri(tracking: FileStore, tmp_path: Path) -> None:
    target = tmp_path / "my store"
    mltrail.set_tracking_uri(target.as_uri())  # file:///.../my%20store
    with mltrail.start_run() as run:
        pass
    assert is_store(target)
    assert FileStore(target).get_run(run.info.run_id).info.run_id == run.info.run_id


@pytest.mark.parametrize(
    "uri",
    ["s3://bucket/mlruns", "http://localhost:5000", "sqlite:///mlflow.db", "file://otherhost/runs"],
)
def test_unsupported_tracking_uris_are_clear_errors(tracking: FileStore, uri: str) -> None:
    with pytest.raises(InvalidParameterValue, match="tracking URI") as info:
        mltrail.set_tracking_uri(uri)
    assert uri in str(info.value)
    assert mltrail.get_tracking_uri() == tracking.root.as_uri()  # unchanged
    with pytest.raises(InvalidParameterValue):
        mltrail.MlflowClient(tracking_uri=uri)


def test_relative_tracking_path_is_resolved_against_the_cwd(
    tracking: FileStore, repo: Path
) -> None:
    mltrail.set_tracking_uri("runs")
    assert mltrail.get_tracking_uri() == (repo / "runs").as_uri()


def test_environment_variable_and_discovery(
    tracking: FileStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    context.reset_tracking_uri()
    other = tmp_path / "env-store"
    monkeypatch.setenv("MLTRAIL_TRACKING_URI", str(other))
    assert mltrail.get_tracking_uri() == other.as_uri()
    monkeypatch.delenv("MLTRAIL_TRACKING_URI")
    monkeypatch.chdir(repo / "runs" / "experiments")
    assert mltrail.get_tracking_uri() == tracking.root.as_uri()  # found walking up


def test_a_new_store_is_created_on_first_use(tracking: FileStore, tmp_path: Path) -> None:
    fresh = tmp_path / "elsewhere" / "store"
    mltrail.set_tracking_uri(fresh)
    with mltrail.start_run():
        mltrail.log_metric("m", 1)
    assert is_store(fresh)
    assert len(mltrail.search_runs(output_format="list")) == 1


# --- experiments ----------------------------------------------------------------------------


def test_set_experiment_creates_once_and_receives_runs(tracking: FileStore) -> None:
    exp = mltrail.set_experiment("churn")
    assert exp.name == "churn" and exp.lifecycle_stage == "active"
    assert mltrail.set_experiment("churn").experiment_id == exp.experiment_id
    assert mltrail.set_experiment(experiment_id=exp.experiment_id).name == "churn"
    with mltrail.start_run() as run:
        pass
    assert run.info.experiment_id == exp.experiment_id
    assert [r.info.run_id for r in mltrail.search_runs(output_format="list")] == [run.info.run_id]
    assert mltrail.get_experiment_by_name("churn").experiment_id == exp.experiment_id


def test_set_experiment_argument_errors(tracking: FileStore) -> None:
    with pytest.raises(InvalidParameterValue):
        mltrail.set_experiment()
    with pytest.raises(InvalidParameterValue):
        mltrail.set_experiment("a", experiment_id="0")
    with pytest.raises(ResourceNotFound):
        mltrail.set_experiment(experiment_id="424242")
    exp_id = mltrail.create_experiment("gone")
    mltrail.delete_experiment(exp_id)
    with pytest.raises(InvalidParameterValue, match="restore"):
        mltrail.set_experiment("gone")


def test_experiment_from_environment(tracking: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    with mltrail.start_run() as run:
        pass
    assert mltrail.get_experiment(run.info.experiment_id).name == "from-env"


def test_create_get_and_search_experiments(tracking: FileStore) -> None:
    exp_id = mltrail.create_experiment("alpha", tags={"team": "vision"})
    assert isinstance(exp_id, str)
    mltrail.create_experiment("beta")
    with pytest.raises(ResourceAlreadyExists, match="alpha"):
        mltrail.create_experiment("alpha")
    assert mltrail.get_experiment(exp_id).tags == {"team": "vision"}
    assert mltrail.get_experiment_by_name("nope") is None
    names = {e.name for e in mltrail.search_experiments()}
    assert names == {"Default", "alpha", "beta"}
    assert [e.name for e in mltrail.search_experiments(filter_string="name LIKE 'al%'")] == [
        "alpha"
    ]
    assert len(mltrail.search_experiments(max_results=2)) == 2
    mltrail.delete_experiment(exp_id)
    assert {e.name for e in mltrail.search_experiments()} == {"Default", "beta"}
    deleted = mltrail.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.name for e in deleted] == ["alpha"]
    with pytest.raises(InvalidParameterValue, match="Default"):
        mltrail.delete_experiment("0")


def test_set_experiment_tag(tracking: FileStore) -> None:
    exp = mltrail.set_experiment("tagged")
    mltrail.set_experiment_tag("owner", "ana 🚀")
    mltrail.set_experiment_tags({"a": 1})
    assert mltrail.get_experiment(exp.experiment_id).tags == {"owner": "ana 🚀", "a": "1"}


# --- the run lifecycle --------------------------------------------------------------------------


def test_start_run_as_context_manager(tracking: FileStore) -> None:
    before = now_ms()
    with mltrail.start_run(run_name="first") as run:
        assert mltrail.active_run().info.run_id == run.info.run_id
        running = mltrail.get_run(run.info.run_id)
        assert running.info.status == "RUNNING" and running.info.end_time is None
    after = now_ms()
    assert mltrail.active_run() is None
    info = mltrail.get_run(run.info.run_id).info
    assert info.status == RunStatus.FINISHED and info.run_name == "first"
    assert isinstance(info.start_time, int) and isinstance(info.end_time, int)
    assert before <= info.start_time <= info.end_time <= after
    assert info.experiment_id == "0" and info.lifecycle_stage == "active"
    assert re.fullmatch(r"[0-9a-f]{32}", info.run_id)
    assert Path(urlsplit(info.artifact_uri).path).parent.name == info.run_id


def test_runs_get_a_readable_generated_name(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        pass
    name = mltrail.get_run(run.info.run_id).info.run_name
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", name)
    assert mltrail.get_run(run.info.run_id).data.tags["mlflow.runName"] == name


def test_start_run_with_tags_and_description(tracking: FileStore) -> None:
    with mltrail.start_run(tags={"team": "ml", "n": 3}, description="baseline **md**") as run:
        pass
    tags = mltrail.get_run(run.info.run_id).data.tags
    assert tags["team"] == "ml" and tags["n"] == "3"
    assert tags["mlflow.note.content"] == "baseline **md**"


def test_nested_runs_record_their_parent(tracking: FileStore) -> None:
    with mltrail.start_run(run_name="parent") as parent:
        with mltrail.start_run(run_name="child-1", nested=True) as child1:
            assert mltrail.active_run().info.run_id == child1.info.run_id
        assert mltrail.active_run().info.run_id == parent.info.run_id
        with mltrail.start_run(run_name="child-2", nested=True):
            pass
    with mltrail.start_run(run_name="unrelated"):
        pass
    pid = parent.info.run_id
    assert mltrail.get_run(child1.info.run_id).data.tags["mlflow.parentRunId"] == pid
    assert "mlflow.parentRunId" not in mltrail.get_run(pid).data.tags
    children = mltrail.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{pid}'", output_format="list"
    )
    assert sorted(r.info.run_name for r in children) == ["child-1", "child-2"]
    frame = mltrail.search_runs(filter_string=f"tags.mlflow.parentRunId = '{pid}'")
    assert len(frame) == 2 and set(frame["tags.mlflow.parentRunId"]) == {pid}


def test_start_run_while_active_needs_nested(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        with pytest.raises(InvalidParameterValue, match="nested=True") as info:
            mltrail.start_run()
        assert run.info.run_id in str(info.value)
        assert mltrail.active_run().info.run_id == run.info.run_id
    assert len(mltrail.search_runs(output_format="list")) == 1


def test_end_run_with_a_status(tracking: FileStore) -> None:
    for status in ("FAILED", "KILLED", "FINISHED"):
        run = mltrail.start_run()
        mltrail.end_run(status=status)
        assert mltrail.get_run(run.info.run_id).info.status == status
        assert mltrail.active_run() is None
    mltrail.end_run()  # nothing active: nothing happens


@pytest.mark.parametrize("status", ["DONE", "RUNNING", "finished"])
def test_end_run_with_a_bad_status_keeps_the_run_active(tracking: FileStore, status: str) -> None:
    run = mltrail.start_run()
    with pytest.raises(InvalidParameterValue, match="FINISHED"):
        mltrail.end_run(status=status)
    assert mltrail.active_run() is not None, "the run was dropped from the stack"
    assert mltrail.active_run().info.run_id == run.info.run_id
    mltrail.end_run()
    assert mltrail.get_run(run.info.run_id).info.status == "FINISHED"


def test_active_run_and_last_active_run(tracking: FileStore) -> None:
    assert mltrail.active_run() is None
    with mltrail.start_run() as run:
        mltrail.log_metric("m", 2.0)
        live = mltrail.last_active_run()
        assert live.info.run_id == run.info.run_id and live.info.status == "RUNNING"
    last = mltrail.last_active_run()
    assert last.info.run_id == run.info.run_id
    assert last.info.status == "FINISHED" and last.data.metrics == {"m": 2.0}


def test_exception_inside_the_block_fails_the_run(tracking: FileStore) -> None:
    with pytest.raises(ZeroDivisionError), mltrail.start_run() as run:
        1 / 0  # noqa: B018
    assert mltrail.get_run(run.info.run_id).info.status == "FAILED"
    assert mltrail.active_run() is None


def test_keyboard_interrupt_inside_the_block_kills_the_run(tracking: FileStore) -> None:
    with pytest.raises(KeyboardInterrupt), mltrail.start_run() as run:
        raise KeyboardInterrupt
    assert mltrail.get_run(run.info.run_id).info.status == "KILLED"


def test_logging_without_start_run_starts_one(tracking: FileStore) -> None:
    mltrail.log_metric("auto", 1.0)
    run = mltrail.active_run()
    assert run is not None
    mltrail.end_run()
    assert mltrail.get_run(run.info.run_id).data.metrics == {"auto": 1.0}


def test_resuming_an_ended_run(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        mltrail.log_metric("m", 1.0, step=0)
    with mltrail.start_run(run_id=run.info.run_id):
        assert mltrail.get_run(run.info.run_id).info.status == "RUNNING"
        mltrail.log_metric("m", 2.0, step=1)
    resumed = mltrail.get_run(run.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.metrics == {"m": 2.0}
    assert [p[:2] for p in history(run.info.run_id, "m")] == [(0, 1.0), (1, 2.0)]


def test_delete_run_hides_it_from_search(tracking: FileStore) -> None:
    with mltrail.start_run() as keep:
        pass
    with mltrail.start_run() as drop:
        pass
    mltrail.delete_run(drop.info.run_id)
    assert [r.info.run_id for r in mltrail.search_runs(output_format="list")] == [keep.info.run_id]
    deleted = mltrail.search_runs(run_view_type=ViewType.DELETED_ONLY, output_format="list")
    assert [r.info.run_id for r in deleted] == [drop.info.run_id]
    assert len(mltrail.search_runs(run_view_type=ViewType.ALL, output_format="list")) == 2
    assert mltrail.get_run(drop.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(ResourceNotFound):
        mltrail.delete_run("f" * 32)


# --- params, metrics, tags ------------------------------------------------------------------------


def test_params_are_strings_and_immutable(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        assert mltrail.log_param("alpha", 0.5) == 0.5
        mltrail.log_params({"layers": [64, 32], "flag": True, "none": None})
        mltrail.log_param("alpha", 0.5)  # the same value again is fine
        mltrail.log_param("alpha", "0.5")  # ... in any form that prints the same
        with pytest.raises(InvalidParameterValue) as info:
            mltrail.log_param("alpha", 0.7)
        assert "'0.5'" in str(info.value) and "'0.7'" in str(info.value)
        with pytest.raises(InvalidParameterValue):
            mltrail.log_params({"fresh": 1, "alpha": 0.9})  # one bad key: nothing is logged
    params = mltrail.get_run(run.info.run_id).data.params
    assert params == {"alpha": "0.5", "layers": "[64, 32]", "flag": "True", "none": "None"}


def test_param_value_length_limit(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        mltrail.log_param("ok", "x" * 6000)
        with pytest.raises(InvalidParameterValue, match="6000"):
            mltrail.log_param("long", "x" * 6001)
    assert set(mltrail.get_run(run.info.run_id).data.params) == {"ok"}


def test_unicode_values_round_trip(tracking: FileStore) -> None:
    values = [
        "🚀 launch",
        "naïve café",
        "日本語",
        "yes",
        "null",
        "1e3",
        "2026-01-01",
        " pad ",
        "a\nb",
    ]
    with mltrail.start_run() as run:
        for i, value in enumerate(values):
            mltrail.log_param(f"p{i}", value)
            mltrail.set_tag(f"t{i}", value)
    data = mltrail.get_run(run.info.run_id).data
    assert [data.params[f"p{i}"] for i in range(len(values))] == values
    assert [data.tags[f"t{i}"] for i in range(len(values))] == values


def test_metrics_append_with_step_and_timestamp(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        mltrail.log_metric("loss", 1.0)
        mltrail.log_metric("loss", 0.5, step=1, timestamp=1_700_000_000_000)
        mltrail.log_metric("loss", 0.25, step=2, timestamp=1_700_000_000_500)
        mltrail.log_metrics({"acc": 0.9, "f1": 0.8}, step=7)
    points = history(run.info.run_id, "loss")
    assert [(s, v) for s, v, _ in points] == [(0, 1.0), (1, 0.5), (2, 0.25)]
    assert abs(points[0][2] - now_ms()) < 60_000
    assert [t for _, _, t in points[1:]] == [1_700_000_000_000, 1_700_000_000_500]
    assert [(s, v) for s, v, _ in history(run.info.run_id, "acc")] == [(7, 0.9)]
    assert mltrail.get_run(run.info.run_id).data.metrics == {"loss": 0.25, "acc": 0.9, "f1": 0.8}
    assert history(run.info.run_id, "never-logged") == []


def test_latest_metric_is_highest_step_then_latest_time(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        mltrail.log_metric("m", 5.0, step=10, timestamp=1000)
        mltrail.log_metric("m", 1.0, step=3, timestamp=9000)  # later, but an earlier step
        mltrail.log_metric("t", 1.0, step=1, timestamp=2000)
        mltrail.log_metric("t", 2.0, step=1, timestamp=1000)
        assert mltrail.get_run(run.info.run_id).data.metrics == {"m": 5.0, "t": 1.0}  # running
    assert mltrail.get_run(run.info.run_id).data.metrics == {"m": 5.0, "t": 1.0}  # ended


def test_nan_and_infinity_are_accepted_and_read_back(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        mltrail.log_metric("nan", math.nan)
        mltrail.log_metric("inf", math.inf)
        mltrail.log_metric("ninf", -math.inf, step=1)
        mltrail.log_metric("ninf", 3.0, step=0)
    metrics = mltrail.get_run(run.info.run_id).data.metrics
    assert (
        math.isnan(metrics["nan"]) and metrics["inf"] == math.inf and metrics["ninf"] == -math.inf
    )
    assert [v for _, v, _ in history(run.info.run_id, "ninf")] == [-math.inf, 3.0]
    frame = mltrail.search_runs()
    assert math.isnan(frame["metrics.nan"][0])


def test_numpy_numbers_are_metrics(tracking: FileStore) -> None:
    np = pytest.importorskip("numpy")
    with mltrail.start_run() as run:
        mltrail.log_metric("f32", np.float32(0.5), step=np.int64(3))
        mltrail.log_metric("i64", np.int64(7))
        mltrail.log_metric("py_int", 2)
    assert mltrail.get_run(run.info.run_id).data.metrics == {"f32": 0.5, "i64": 7.0, "py_int": 2.0}
    assert history(run.info.run_id, "f32")[0][0] == 3


@pytest.mark.parametrize("value", ["abc", "0.5", None, [1.0], {"a": 1}, 1 + 2j])
def test_non_numeric_metric_values_are_rejected(tracking: FileStore, value: object) -> None:
    with mltrail.start_run() as run:
        with pytest.raises(InvalidParameterValue, match="metric 'acc'"):
            mltrail.log_metric("acc", value)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterValue):
            mltrail.log_metrics({"acc": value})  # type: ignore[dict-item]
    assert mltrail.get_run(run.info.run_id).data.metrics == {}
    assert history(run.info.run_id, "acc") == []


@pytest.mark.parametrize("step", [1.5, "3", True])
def test_non_integer_steps_are_rejected(tracking: FileStore, step: object) -> None:
    with mltrail.start_run(), pytest.raises(InvalidParameterValue, match="step"):
        mltrail.log_metric("m", 1.0, step=step)  # type: ignore[arg-type]


VALID_KEYS = [
    "a",
    "train/loss",
    "a.b-c_d e",
    "x" * 250,
    "UPPER/lower/0123",
    "ends.",
    "val:acc",  # MLflow takes ':' and letters of any script; stored as %XX in file names
    "précision/损失",
    "ü" * 41 + ":",  # a history file name of 41 * 6 + 3 + 4 = 253 bytes
]
INVALID_KEYS = [
    "",
    "x" * 251,
    "emoji🚀",
    "a/../b",
    "..",
    ".",
    "/leading",
    "a//b",
    "trailing/",
    "tab\tkey",
    "new\nline",
    "back\\slash",
    "quote'key",
]


@pytest.mark.parametrize("key", VALID_KEYS)
def test_valid_keys(tracking: FileStore, key: str) -> None:
    with mltrail.start_run() as run:
        mltrail.log_param(key, 1)
        mltrail.log_metric(key, 1.0)
        mltrail.set_tag(key, "v")
    data = mltrail.get_run(run.info.run_id).data
    assert data.params[key] == "1" and data.metrics[key] == 1.0 and data.tags[key] == "v"


def test_a_metric_key_whose_file_name_is_too_long_is_refused(tracking: FileStore) -> None:
    """A param or tag key has no file: only a metric's history file limits its bytes."""
    key = "ü" * 42  # 42 * 6 + 4 = 256 bytes as a file name
    with mltrail.start_run() as run:
        with pytest.raises(InvalidParameterValue, match="over 255 bytes"):
            mltrail.log_metric(key, 1.0)
        mltrail.log_param(key, 1)
        mltrail.set_tag(key, "v")
    data = mltrail.get_run(run.info.run_id).data
    assert data.params == {key: "1"} and data.metrics == {} and data.tags[key] == "v"


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_keys_are_clear_errors(tracking: FileStore, key: str) -> None:
    with mltrail.start_run() as run:
        for log in (
            lambda: mltrail.log_param(key, 1),
            lambda: mltrail.log_metric(key, 1.0),
            lambda: mltrail.log_metrics({key: 1.0}),
            lambda: mltrail.set_tag(key, "v"),
        ):
            with pytest.raises(InvalidParameterValue) as info:
                log()
            assert isinstance(info.value, MltrailError)
            assert "key" in str(info.value)
            if 0 < len(key) <= 60:
                assert repr(key) in str(info.value)
    data = mltrail.get_run(run.info.run_id).data
    assert data.params == {} and data.metrics == {}
    assert not list(tracking.run_path(run.info.run_id).rglob("*.tsv"))  # no history file


def test_tags_overwrite_and_delete(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        mltrail.set_tag("stage", "dev")
        mltrail.set_tag("stage", "prod")
        mltrail.set_tags({"a": 1, "b": "two"})
        mltrail.delete_tag("a")
        with pytest.raises(ResourceNotFound, match="'nope'"):
            mltrail.delete_tag("nope")
        with pytest.raises(InvalidParameterValue, match="8000"):
            mltrail.set_tag("huge", "x" * 8001)
    tags = mltrail.get_run(run.info.run_id).data.tags
    assert tags["stage"] == "prod" and tags["b"] == "two"
    assert "a" not in tags and "huge" not in tags


def test_setting_the_run_name_tag_renames_the_run(tracking: FileStore) -> None:
    with mltrail.start_run(run_name="old") as run:
        mltrail.set_tag("mlflow.runName", "new")
    got = mltrail.get_run(run.info.run_id)
    assert got.info.run_name == "new" and got.data.tags["mlflow.runName"] == "new"


def test_system_tags_are_searchable(tracking: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAIL_USER", "alice")
    with mltrail.start_run(run_name="sys") as run:
        pass
    got = mltrail.get_run(run.info.run_id)
    assert got.info.user_id == "alice"
    tags = got.data.tags
    assert tags["mlflow.runName"] == "sys" and tags["mlflow.user"] == "alice"
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.source.name"]
    for expr in (
        "tags.mlflow.user = 'alice'",
        "tags.mlflow.runName = 'sys'",
        "tags.mlflow.source.type = 'LOCAL'",
        "attributes.run_name = 'sys'",
    ):
        assert len(mltrail.search_runs(filter_string=expr, output_format="list")) == 1, expr
    assert mltrail.search_runs(filter_string="tags.mlflow.user = 'bob'", output_format="list") == []


# --- artifacts ------------------------------------------------------------------------------------


def test_log_artifact_and_artifacts(tracking: FileStore, tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text("hello")
    outputs = tmp_path / "outputs"
    (outputs / "sub").mkdir(parents=True)
    (outputs / "a.csv").write_text("x,y\n1,2\n")
    (outputs / "sub" / "b.json").write_text("{}")
    with mltrail.start_run() as run:
        mltrail.log_artifact(tmp_path / "report.txt")
        mltrail.log_artifact(str(tmp_path / "report.txt"), artifact_path="copies/deep")
        mltrail.log_artifacts(outputs, artifact_path="out")
        mltrail.log_artifacts(outputs)
    rid = run.info.run_id
    top = {(f.path, f.is_dir) for f in mltrail.list_artifacts(rid)}
    assert top == {
        ("report.txt", False),
        ("copies", True),
        ("out", True),
        ("a.csv", False),
        ("sub", True),
    }
    assert [f.path for f in mltrail.list_artifacts(rid, "out/sub")] == ["out/sub/b.json"]
    assert artifact_file(rid, "copies/deep/report.txt").read_text() == "hello"
    assert artifact_file(rid, "out/a.csv").read_text() == "x,y\n1,2\n"
    with pytest.raises(ResourceNotFound):
        mltrail.MlflowClient().log_artifact(rid, tmp_path / "missing.txt")


def test_log_text_and_log_dict(tracking: FileStore) -> None:
    data = {"name": "model", "layers": [1, 2], "yes": "no", "ratio": 0.5, "ü": "🚀"}
    with mltrail.start_run() as run:
        mltrail.log_text("line one\nzwei ü\n", "notes/readme.md")
        mltrail.log_dict(data, "config.json")
        mltrail.log_dict(data, "config.yaml")
        mltrail.log_dict(data, "nested/config.yml")
    rid = run.info.run_id
    assert artifact_file(rid, "notes/readme.md").read_text(encoding="utf-8") == "line one\nzwei ü\n"
    assert json.loads(artifact_file(rid, "config.json").read_text(encoding="utf-8")) == data
    assert yaml.safe_load(artifact_file(rid, "config.yaml").read_text(encoding="utf-8")) == data
    assert (
        yaml.safe_load(artifact_file(rid, "nested/config.yml").read_text(encoding="utf-8")) == data
    )
    with mltrail.start_run(), pytest.raises(InvalidParameterValue, match="JSON"):
        mltrail.log_dict({"x": object()}, "bad.json")


def test_log_figure(tracking: FileStore) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 4, 9])
    try:
        with mltrail.start_run() as run:
            mltrail.log_figure(fig, "plots/curve.png")
            mltrail.log_figure(fig, "plots/curve.svg")
    finally:
        plt.close(fig)
    rid = run.info.run_id
    assert artifact_file(rid, "plots/curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in artifact_file(rid, "plots/curve.svg").read_bytes()
    with mltrail.start_run(), pytest.raises(InvalidParameterValue, match="figure"):
        mltrail.log_figure("not a figure", "x.png")


def test_log_image_numpy_and_pil(tracking: FileStore) -> None:
    np = pytest.importorskip("numpy")
    image_mod = pytest.importorskip("PIL.Image")
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)
    gray = np.linspace(0, 1, 20).reshape(4, 5)
    pil = image_mod.new("RGBA", (3, 2), (0, 128, 255, 255))
    with mltrail.start_run() as run:
        mltrail.log_image(rgb, "images/rgb.png")
        mltrail.log_image(gray, "images/gray.png")
        mltrail.log_image(pil, "images/pil.png")
        with pytest.raises(InvalidParameterValue, match="shape"):
            mltrail.log_image(np.zeros((2, 2, 2, 2)), "bad.png")
        with pytest.raises(InvalidParameterValue, match=r"\[0, 1\]"):
            mltrail.log_image(np.full((2, 2), 2.5), "bad.png")
    rid = run.info.run_id
    with image_mod.open(artifact_file(rid, "images/rgb.png")) as img:
        assert img.size == (6, 4) and img.getpixel((0, 0)) == (255, 0, 0)
    with image_mod.open(artifact_file(rid, "images/gray.png")) as img:
        assert img.size == (5, 4) and img.getpixel((4, 3)) == 255
    with image_mod.open(artifact_file(rid, "images/pil.png")) as img:
        assert img.size == (3, 2) and img.getpixel((0, 0)) == (0, 128, 255, 255)


def test_get_artifact_uri(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        base = mltrail.get_artifact_uri()
        model = mltrail.get_artifact_uri("model/weights")
        mltrail.log_text("w", "model/weights")
    assert base == run.info.artifact_uri and base.startswith("file://")
    assert model == base + "/model/weights"
    assert Path(urlsplit(model).path).read_text() == "w"
    assert Path(urlsplit(base).path).is_relative_to(tracking.root)


# --- search_runs ----------------------------------------------------------------------------------


@pytest.fixture
def three_runs(tracking: FileStore) -> dict[str, str]:
    """Runs a, b (experiment 'exp-a') and c (experiment 'exp-b'); name -> run id."""
    ids = {}
    for name, exp, alpha, loss in [
        ("a", "exp-a", "0.1", 0.3),
        ("b", "exp-a", "0.2", 0.1),
        ("c", "exp-b", "0.1", 0.2),
    ]:
        mltrail.set_experiment(exp)
        with mltrail.start_run(run_name=name) as run:
            mltrail.log_param("alpha", alpha)
            mltrail.log_metric("loss", loss)
            mltrail.set_tag("kind", "test")
        ids[name] = run.info.run_id
        time.sleep(0.002)  # distinct start times: the default order is newest first
    return ids


def test_search_runs_returns_a_dataframe_by_default(three_runs: dict[str, str]) -> None:
    pd = pytest.importorskip("pandas")
    frame = mltrail.search_runs(experiment_names=["exp-a"])
    assert isinstance(frame, pd.DataFrame)
    assert set(frame["run_id"]) == {three_runs["a"], three_runs["b"]}
    for column in ("experiment_id", "status", "artifact_uri", "start_time", "end_time",
                   "metrics.loss", "params.alpha", "tags.kind", "tags.mlflow.runName"):  # fmt: skip
        assert column in frame.columns, column
    assert set(frame["status"]) == {"FINISHED"}
    assert pd.api.types.is_datetime64_any_dtype(frame["start_time"])
    assert sorted(frame["metrics.loss"]) == [0.1, 0.3]


def test_search_runs_as_a_list(three_runs: dict[str, str]) -> None:
    found = mltrail.search_runs(experiment_names=["exp-a", "exp-b"], output_format="list")
    assert all(isinstance(r, mltrail.Run) for r in found)
    assert {r.info.run_id for r in found} == set(three_runs.values())
    with pytest.raises(InvalidParameterValue, match="output_format"):
        mltrail.search_runs(output_format="json")


def test_search_runs_scope(three_runs: dict[str, str]) -> None:
    exp_b = mltrail.get_experiment_by_name("exp-b").experiment_id
    # the active experiment (the last set_experiment) is the default scope
    assert [r.info.run_name for r in mltrail.search_runs(output_format="list")] == ["c"]
    by_id = mltrail.search_runs(experiment_ids=[exp_b], output_format="list")
    assert [r.info.run_name for r in by_id] == ["c"]
    everything = mltrail.search_runs(search_all_experiments=True, output_format="list")
    assert len(everything) == 3
    assert mltrail.search_runs(experiment_names=["no-such"], output_format="list") == []


def test_search_runs_filter_order_and_max(three_runs: dict[str, str]) -> None:
    both = ["exp-a", "exp-b"]

    def names(**kwargs: object) -> list[str]:
        found = mltrail.search_runs(experiment_names=both, output_format="list", **kwargs)
        return [r.info.run_name for r in found]

    assert sorted(names(filter_string="params.alpha = '0.1'")) == ["a", "c"]
    assert names(filter_string="metrics.loss < 0.25 and params.alpha = '0.1'") == ["c"]
    assert names(order_by=["metrics.loss ASC"]) == ["b", "c", "a"]
    assert names(order_by=["metrics.loss DESC"], max_results=2) == ["a", "c"]
    assert names(order_by=["attributes.start_time ASC"]) == ["a", "b", "c"]
    assert names() == ["c", "b", "a"]  # newest first by default
    assert names(filter_string="metrics.loss > 1") == []
    with pytest.raises(InvalidParameterValue):
        names(filter_string="metrics.loss <<< 1")


def test_search_runs_with_no_match_is_an_empty_frame(tracking: FileStore) -> None:
    frame = mltrail.search_runs()
    assert len(frame) == 0 and "run_id" in frame.columns


# --- real scripts: source recording and the end of the interpreter --------------------------------

TRAIN_SCRIPT = """
import mltrail
run = mltrail.start_run(run_name="scripted")
mltrail.log_metric("loss", 0.5)
print(run.info.run_id)
mltrail.end_run()
"""


def read_run_yaml(store: FileStore, run_id: str) -> dict:
    return yaml.safe_load((store.run_path(run_id) / "run.yaml").read_text())


def test_script_in_a_git_repo_records_its_source(
    store: FileStore, repo: Path, git: Callable[..., str], run_script: ScriptRunner
) -> None:
    git(repo, "remote", "add", "origin", "https://ci-bot:s3cret@github.com/acme/project.git")
    git(repo, "checkout", "-q", "-b", "feature/x")
    (repo / "src").mkdir()
    (repo / "src" / "train.py").write_text(TRAIN_SCRIPT)
    git(repo, "add", "src/train.py")
    git(repo, "commit", "-q", "-m", "add training")
    head = git(repo, "rev-parse", "HEAD").strip()

    # run from the repository root; the store is found by walking up from there
    proc = run_script(TRAIN_SCRIPT, cwd=repo, name="src/train.py", check=True)
    run_id = proc.stdout.strip()
    run = FileStore(store.root).get_run(run_id)
    tags = run.data.tags
    assert tags["mlflow.source.name"] == "src/train.py"
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.git.commit"] == head
    assert tags["mlflow.source.git.branch"] == "feature/x"
    assert tags["mlflow.source.git.repoURL"] == "https://github.com/acme/project.git"
    source = read_run_yaml(store, run_id)["source"]
    assert source["python"] == platform.python_version()
    assert source["host"] == socket.gethostname() and source["platform"]
    assert source.get("git_dirty") is False
    assert "source" not in {
        f.path for f in mltrail.MlflowClient(str(store.root)).list_artifacts(run_id)
    }
    with_commit = FileStore(store.root).search_runs(
        None,
        f"tags.mlflow.source.git.commit = '{head}' and tags.mlflow.source.git.branch = 'feature/x'",
    )
    assert [r.info.run_id for r in with_commit] == [run_id]


def test_uncommitted_changes_are_kept_as_a_diff_artifact(
    store: FileStore, repo: Path, git: Callable[..., str], run_script: ScriptRunner
) -> None:
    (repo / "model.py").write_text("LAYERS = 2\n")
    git(repo, "add", "model.py")
    git(repo, "commit", "-q", "-m", "model")
    (repo / "model.py").write_text("LAYERS = 3  # experimenting\n")
    proc = run_script(TRAIN_SCRIPT, cwd=repo, name="train.py", check=True)
    run_id = proc.stdout.strip()
    assert read_run_yaml(store, run_id)["source"]["git_dirty"] is True
    diff = (store.run_path(run_id) / "artifacts" / "source" / "uncommitted.diff").read_text()
    assert "+LAYERS = 3  # experimenting" in diff and "-LAYERS = 2" in diff
    assert "mltrail-store.yaml" not in diff and "runs/" not in diff  # the store is left out


def test_script_outside_git_records_no_git_source(
    tmp_path: Path, clean_env: None, run_script: ScriptRunner
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    store_dir = folder / "store"
    proc = run_script(
        TRAIN_SCRIPT, cwd=folder, env={"MLTRAIL_TRACKING_URI": str(store_dir)}, check=True
    )
    run = FileStore(store_dir).get_run(proc.stdout.strip())
    assert run.data.tags["mlflow.source.name"].endswith("script.py")
    assert not any(k.startswith("mlflow.source.git") for k in run.data.tags)


@pytest.mark.parametrize(
    ("body", "returncode", "status"),
    [
        ("pass  # never calls end_run", 0, "FINISHED"),
        ("raise ValueError('boom')", 1, "FAILED"),
        ("raise KeyboardInterrupt", None, "KILLED"),
    ],
)
def test_a_run_left_open_is_ended_at_exit(
    store: FileStore,
    repo: Path,
    git: Callable[..., str],
    run_script: ScriptRunner,
    body: str,
    returncode: int | None,
    status: str,
) -> None:
    script = f"""
    import mltrail
    run = mltrail.start_run(run_name="open")
    mltrail.log_metric("loss", 0.5, step=1)
    print(run.info.run_id, flush=True)
    {body}
    """
    proc = run_script(script, cwd=repo, env={"MLTRAIL_TRACKING_URI": str(store.root)})
    if returncode is not None:
        assert proc.returncode == returncode, proc.stderr
    else:
        assert proc.returncode != 0
    run_id = proc.stdout.split()[0]
    run = FileStore(store.root).get_run(run_id)
    assert run.info.status == status, proc.stderr
    assert run.info.end_time is not None and run.data.metrics == {"loss": 0.5}
    assert git(repo, "status", "--porcelain", "--", "runs") == ""  # committed before exit
    assert f"Run open {status.lower()}" in git(repo, "log", "-1", "--format=%s")
