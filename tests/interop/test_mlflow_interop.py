"""``mltrail import mlflow`` / ``mltrail export mlflow`` against stores made by real
MLflow 3.17.2 (file store, SQLite, a live ``mlflow server``): every field compared."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mlflow_compare import compare_stores

from mltrail.cli import build_cli
from mltrail.interop import import_mlflow
from mltrail.interop.export import export_mlflow
from mltrail.store import init_store

MAKE = Path(__file__).with_name("make_mlflow_store.py")
MLFLOW_VENV = Path("/work/venvs/mlflow/bin")
POINTS = 100_000


def _env() -> dict[str, str]:
    return {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "GIT_PYTHON_REFRESH": "quiet"}


def make_store(uri: str, workdir: Path, points: int, *more: str) -> dict[str, str]:
    """Fill the MLflow store ``uri`` with real MLflow (in its own process)."""
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, str(MAKE), uri, str(workdir), str(points), *more],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=workdir,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mlflow_client(uri: str) -> Any:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(uri)


@pytest.fixture(scope="module")
def mlruns(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    work = tmp_path_factory.mktemp("mlflow-file")
    made = make_store((work / "mlruns").as_uri(), work, POINTS)
    return work / "mlruns", made


def _store(path: Path) -> Any:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for key, value in (("user.name", "T"), ("user.email", "t@example.com")):
        subprocess.run(["git", "-C", str(path), "config", key, value], check=True)
    store, _ = init_store(path / "runs")
    marker = store.root / "mltrail-store.yaml"  # 300 kB is "large" here
    marker.write_text(marker.read_text().replace("10485760", "100000"))
    subprocess.run(["git", "-C", str(path), "commit", "-qam", "Lower the threshold"], check=True)
    return type(store)(store.root)


def _client(store: Any) -> Any:
    import mltrail

    return mltrail.Client(str(store.root))


def _log(path: Path) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(path), "log", "--format=%s"], capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def _loads_logged_model(store: Any, model_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """mltrail loads ``models:/m-<id>`` from the store, and predicts as MLflow's model."""
    import mltrail.pyfunc

    monkeypatch.setenv("MLTRAIL_TRACKING_URI", str(store.root))
    assert list(mltrail.pyfunc.load_model(f"models:/{model_id}").predict([[0.0], [3.0]])) == [0, 1]


def _carries_mlflow3(report: Any, store: Any, made: dict[str, str]) -> None:
    """The logged model, its linked metrics and the run inputs came across."""
    assert (report.logged_models, report.linked_metrics, report.datasets) == (1, 4, 2)
    assert report.model_inputs == 1
    assert not [what for what, _ in report.not_imported if "logged model" in what]
    model = _client(store).get_logged_model(made["model_id"])
    assert (model.source_run_id, model.artifact_path) == (made["trained"], "model")
    (used,) = _client(store).get_run(made["trained"]).inputs.dataset_inputs
    assert (used.dataset.name, used.context) == ("train-set", "training")


def test_a_file_store_comes_across_field_by_field(
    mlruns: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, made = mlruns
    store = _store(tmp_path)
    start = time.perf_counter()
    report = import_mlflow(store, str(source))
    took = time.perf_counter() - start
    print(f"imported {report.metric_points} points in {took:.2f} s")
    assert report.runs == 8 and report.metric_points >= POINTS
    assert compare_stores(mlflow_client(source.as_uri()), _client(store)) == []
    _carries_mlflow3(report, store, made)
    _loads_logged_model(store, made["model_id"], monkeypatch)
    trail = _client(store)
    assert trail.get_run(made["child-0"]).data.tags["mlflow.parentRunId"] == made["parent"]
    big = store.root / "runs" / made["parent"][-2:] / made["parent"] / "artifacts" / "data"
    assert (big / "big.bin.mltrail-pointer").is_file()  # large: in the artifact store
    model = trail.get_model_version_by_alias("churn-model", "champion")
    assert model.source == f"runs:/{made['trained']}/model" and model.current_stage == "Production"
    assert model.model_id == made["model_id"]
    # one commit for the whole import, naming what came across
    assert _log(tmp_path)[0].startswith(
        "Import 8 runs, 2 experiments, 1 logged model, 3 model versions"
    )
    assert (
        subprocess.run(
            ["git", "-C", str(tmp_path), "status", "--porcelain"], capture_output=True, text=True
        ).stdout
        == ""
    )


def test_importing_again_adds_only_new_runs(
    mlruns: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    source = tmp_path / "copy"
    shutil.copytree(mlruns[0], source)
    store = _store(tmp_path / "repo")
    import_mlflow(store, str(source))
    commits = _log(tmp_path / "repo")
    again = import_mlflow(store, str(source))
    assert (again.runs, again.versions, again.runs_present) == (0, 0, 8)
    assert (again.logged_models, again.logged_models_present, again.linked_metrics) == (0, 1, 0)
    assert _log(tmp_path / "repo") == commits  # no empty commit either
    late = make_store(source.as_uri(), tmp_path, 0, "--more")["late"]
    third = import_mlflow(store, str(source))
    assert third.runs == 1 and third.runs_present == 8
    assert _client(store).get_run(late).data.metrics == {"auc": 0.9}
    assert _log(tmp_path / "repo")[0].startswith("Import 1 run from MLflow")


def exp_id(ml: Any, made: dict[str, str]) -> str:
    return str(ml.get_run(made["trained"]).info.experiment_id)


def test_export_is_read_by_mlflow_and_comes_back_the_same(
    mlruns: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    source, made = mlruns
    store = _store(tmp_path / "repo")
    import_mlflow(store, str(source))
    dest = tmp_path / "exported"
    result = CliRunner().invoke(
        build_cli(), ["export", "mlflow", str(dest), "--store", str(store.root)]
    )
    assert result.exit_code == 0, result.output
    ml = mlflow_client(dest.as_uri())
    # MLflow's own client reads it: every field of the original is there
    assert compare_stores(ml, _client(store)) == []
    assert len(ml.get_metric_history(made["parent"], "loss")) == POINTS
    version = ml.get_model_version_by_alias("churn-model", "champion")
    assert version.current_stage == "Production" and str(version.version) == "2"
    import mlflow.pyfunc
    import mlflow.sklearn

    assert mlflow.sklearn.load_model("models:/churn-model@champion").predict([[3.0]])[0] == 1
    # MLflow 3's logged model: found by id, loaded by models:/m-<id>
    assert ml.get_logged_model(made["model_id"]).source_run_id == made["trained"]
    loaded = mlflow.pyfunc.load_model(f"models:/{made['model_id']}")
    assert list(loaded.predict([[0.0], [3.0]])) == [0, 1]
    with open(dest / ".trash" / made["old_experiment"] / "meta.yaml") as f:
        assert "deleted" in f.read()
    # what `mlflow ui` shows: its server answers the logged model, its files, the inputs
    with mlflow_server(dest.as_uri(), tmp_path) as url:
        ui = mlflow_client(url)
        (shown,) = ui.search_logged_models(experiment_ids=[exp_id(ml, made)])
        assert (shown.model_id, shown.model_type) == (made["model_id"], "classifier")
        assert {f.path for f in ui.list_logged_model_artifacts(made["model_id"])} >= {"MLmodel"}
        run = ui.get_run(made["trained"])
        assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["train-set"]
        assert [m.model_id for m in run.outputs.model_outputs] == [made["model_id"]]
    mlflow_client(dest.as_uri())
    # and back: a fresh store from the export equals the original
    again = _store(tmp_path / "again")
    import_mlflow(again, str(dest))
    assert compare_stores(mlflow_client(source.as_uri()), _client(again)) == []


def test_a_sqlite_database_comes_across(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    db = f"sqlite:///{work / 'mlflow.db'}"
    made = make_store(db, work, 1000)
    store = _store(tmp_path / "repo")
    report = import_mlflow(store, db)
    assert report.runs == 8, report.lines()
    assert compare_stores(mlflow_client(db), _client(store)) == []
    assert _client(store).get_model_version("churn-model", 1).run_id == made["trained"]
    _carries_mlflow3(report, store, made)
    _loads_logged_model(store, made["model_id"], monkeypatch)
    # exported and read back by MLflow: the same as the database
    dest = tmp_path / "exported"
    export_mlflow(store, dest)
    assert compare_stores(mlflow_client(dest.as_uri()), _client(store)) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(backend: str, work: Path, *more: str) -> Iterator[str]:
    """A real ``mlflow server`` on a free port of 127.0.0.1 over ``backend``; its URL."""
    port = _free_port()
    mlflow_bin = MLFLOW_VENV / "mlflow"
    if not mlflow_bin.exists():
        mlflow_bin = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen(
        [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", backend, "--workers", "1", *more],
        cwd=work,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers are stopped with it
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:  # a loaded machine: MLflow's shutdown is slow
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    work = tmp_path_factory.mktemp("mlflow-server")
    backend = f"sqlite:///{work / 'server.db'}"
    with mlflow_server(backend, work, "--artifacts-destination", str(work / "artifacts")) as url:
        yield url, make_store(url, work / "client", 500)


def test_a_live_server_comes_across(
    server: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, made = server
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "not-checked-by-mlflow")
    store = _store(tmp_path)
    report = import_mlflow(store, url)
    assert report.runs == 8, report.lines()
    diffs = compare_stores(mlflow_client(url), _client(store))
    assert diffs == []
    _carries_mlflow3(report, store, made)
    _loads_logged_model(store, made["model_id"], monkeypatch)
    assert _client(store).get_model_version_by_alias("churn-model", "challenger").version == 1


def _small_copy(
    mlruns: tuple[Path, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str], Path]:
    """A copy of the file store without its long history: the copy, the ids made, and
    the folder of the experiment "churn"."""
    source = tmp_path / "copy"
    shutil.copytree(mlruns[0], source, ignore=shutil.ignore_patterns("loss"))
    made = mlruns[1]
    return source, made, next(p for p in source.iterdir() if (p / made["failed"]).is_dir())


def test_one_corrupt_run_costs_only_itself(
    mlruns: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    source, made, exp = _small_copy(mlruns, tmp_path)
    (exp / made["failed"] / "meta.yaml").write_text("run_id: [unclosed\n")
    (exp / "models" / made["model_id"] / "meta.yaml").write_text("model_id: [unclosed\n")
    # a hostile artifact: a link out of the store is never followed
    (exp / made["parent"] / "artifacts" / "passwd").symlink_to("/etc/passwd")
    store = _store(tmp_path / "repo")
    report = import_mlflow(store, str(source))
    assert report.runs == 7
    _check_corrupt_model(store, report, made)
    reasons = dict(report.not_imported)
    assert any(made["failed"] in what for what in reasons)
    assert any("passwd" in what and "symbolic link" in why for what, why in reasons.items())
    assert not (
        store.root / "runs" / made["parent"][-2:] / made["parent"] / "artifacts" / "passwd"
    ).exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("s3://bucket/mlruns", "not an MLflow store"),
        ("{tmp}/nothing-here", "no such folder"),
        ("{tmp}", "not an MLflow file store"),
        ("sqlite:///{tmp}/garbage.db", "not a readable SQLite database"),
        ("http://127.0.0.1:{port}", "no MLflow tracking server answers"),
    ],
)
def test_bad_sources_are_one_line_errors(source: str, message: str, tmp_path: Path) -> None:
    store = _store(tmp_path / "repo")
    (tmp_path / "garbage.db").write_bytes(b"not a database" * 100)
    arg = source.format(
        tmp=tmp_path / "repo" / "x" if source == "{tmp}" else tmp_path, port=_free_port()
    )
    if source == "{tmp}":
        (tmp_path / "empty").mkdir()
        arg = str(tmp_path / "empty")
    result = CliRunner().invoke(build_cli(), ["import", "mlflow", arg, "--store", str(store.root)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_a_logged_model_an_earlier_import_left_out_is_added(
    mlruns: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    source, made = mlruns
    store = _store(tmp_path)
    import_mlflow(store, str(source))
    # as an import made before logged models came across: the files, no record or inputs
    run_dir = store.run_path(made["trained"])
    shutil.rmtree(run_dir / "logged-models")
    (run_dir / "inputs.yaml").unlink()
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qam", "Older import"], check=True)
    again = import_mlflow(store, str(source))
    assert (again.runs, again.logged_models, again.linked_metrics, again.artifacts) == (0, 1, 4, 0)
    assert again.datasets == 1
    model = _client(store).get_logged_model(made["model_id"])
    assert model.artifact_path == "model" and model.params["solver"] == "lbfgs"
    assert _client(store).get_run(made["trained"]).inputs.dataset_inputs
    assert _log(tmp_path)[0].startswith("Import 0 runs, 1 logged model from MLflow")


def _check_corrupt_model(store: Any, report: Any, made: dict[str, str]) -> None:
    """A logged model whose meta.yaml is not YAML: reported, its run still whole."""
    assert report.logged_models == 0
    assert any(made["model_id"] in what for what, _ in report.not_imported)
    # its run came whole; the versions of its files are reported, not pointed elsewhere
    assert _client(store).get_run(made["trained"]).data.params["C"] == "1.0"
    skipped = [what for what, why in report.not_imported if "is not in a run" in why]
    assert skipped == ["version 1 of model 'churn-model'", "version 2 of model 'churn-model'"]


def test_a_deleted_logged_model_brings_its_files_not_its_record(
    mlruns: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    source, made, exp = _small_copy(mlruns, tmp_path)
    meta = exp / "models" / made["model_id"] / "meta.yaml"
    meta.write_text(meta.read_text().replace("status: 2", "status: 2\nlifecycle_stage: deleted"))
    store = _store(tmp_path / "repo")
    report = import_mlflow(store, str(source))
    assert report.logged_models == 0
    assert [why for what, why in report.not_imported if made["model_id"] in what] == [
        "deleted in MLflow (mltrail keeps no deleted logged models); its files are in the "
        "run at 'model'"
    ]
    # the versions registered from it still load its files
    assert _client(store).get_model_version("churn-model", 2).source == (
        f"runs:/{made['trained']}/model"
    )
    again = import_mlflow(store, str(source))
    assert (again.artifacts, again.logged_models) == (0, 0)
