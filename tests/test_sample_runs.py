"""The example store in ``sample_runs/store``: reproducible byte for byte, and holding
what it promises (four experiments, a sweep, long nested training curves, artifacts,
logged models, a registry with stages and aliases, and a sweep of the sample project
recorded as ``mltrail run`` records it).

The registry's history (read from git) is not tested here: the store is committed as
plain files of this repository, so its history is this repository's own git log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

import mltrail
from mltrail import Client, RunStatus, ViewType
from mltrail.tracking import context
from tests.conftest import PIN_HINT, pinned_versions, skip_unless_ci

SAMPLE = Path(__file__).resolve().parents[1] / "sample_runs"
STORE = SAMPLE / "store"
GENERATE = SAMPLE / "generate.py"
PROJECT = SAMPLE / "project"
#: generate.py's exit status when git or the project's history is missing (NO_HISTORY).
NO_HISTORY = 3
#: Not part of the store's content: derived caches, large-artifact blobs, a git repo
#: that init_store creates when the output folder is outside any repository.
IGNORED = {".cache", ".artifacts", ".git"}
REGENERATE = f"rerun `python {GENERATE.relative_to(SAMPLE.parent)}` and commit the result"

CLASSIFICATION = "breast-cancer-classification"
REGRESSION = "diabetes-regression"
CURVES = "training-curves"
SWEEP = "diabetes-sweep"


def store_files(root: Path) -> dict[str, bytes]:
    """Every file of a store (relative posix path -> bytes), without the ignored parts."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not IGNORED & set(rel.parts) and not path.name.endswith(".tmp"):
            found[rel.as_posix()] = path.read_bytes()
    return found


def environment_tag(root: Path) -> str:
    """The library versions a store was generated with (every experiment's tag)."""
    exp = Client(tracking_uri=str(root)).get_experiment_by_name(CURVES)
    assert exp is not None
    return exp.tags.get("environment", "")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("sklearn", "matplotlib", "numpy", "PIL"):
        pytest.importorskip(module)
    tmp = tmp_path_factory.mktemp("sample-runs")
    out = tmp / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTRAIL_", "MLFLOW_", "GIT_"))}
    proc = subprocess.run(
        [sys.executable, str(GENERATE), "--out", str(out)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode == NO_HISTORY:  # a source archive or a shallow clone
        skip_unless_ci(f"the sample store cannot be regenerated here: {proc.stderr.strip()}")
    assert proc.returncode == 0, f"generate.py failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the committed store (reading a store writes its cache: not in the repo)."""
    assert (STORE / "mltrail-store.yaml").is_file(), f"no example store: {REGENERATE}"
    copy = tmp_path_factory.mktemp("committed") / "store"
    shutil.copytree(STORE, copy, ignore=shutil.ignore_patterns(*IGNORED))
    mltrail.set_tracking_uri(copy)
    yield copy
    context.reset_tracking_uri()


def test_regenerates_byte_for_byte(regenerated: Path, committed: Path) -> None:
    expected, actual = store_files(STORE), store_files(regenerated)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(p for p in set(expected) & set(actual) if expected[p] != actual[p])
    if not (missing or extra or changed):
        return
    ours, theirs = environment_tag(regenerated), environment_tag(committed)
    if ours != theirs:
        skip_unless_ci(
            f"the store was generated with {theirs}; this environment has {ours}: bytes not "
            f"compared. To compare them, {PIN_HINT} under the Python it names; to move the "
            f"store to these versions, {REGENERATE}, then update constraints.txt"
        )
    report = [
        f"{label}: {', '.join(paths[:5])}{' ...' if len(paths) > 5 else ''} ({len(paths)})"
        for label, paths in (("missing", missing), ("extra", extra), ("changed", changed))
        if paths
    ]
    pytest.fail(f"sample_runs/store is out of date ({'; '.join(report)}): {REGENERATE}.")


def test_without_git_history_generate_says_why_and_deletes_nothing(tmp_path: Path) -> None:
    """A source archive: no repository, so no commit to record for the project's runs."""
    pytest.importorskip("sklearn")
    copy = tmp_path / "sample_runs"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns("store", "__pycache__"))
    (copy / "store").mkdir()
    (copy / "store" / "keep.txt").write_text("not deleted")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTRAIL_", "GIT_"))}
    env["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    proc = subprocess.run([sys.executable, str(copy / "generate.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == NO_HISTORY, proc.stderr
    assert "is not in a git repository" in proc.stderr and "full git clone" in proc.stderr
    assert (copy / "store" / "keep.txt").is_file()


def test_constraints_pin_the_versions_the_store_was_made_with(committed: Path) -> None:
    recorded = dict(part.split(" ", 1) for part in environment_tag(committed).split(", "))
    recorded.pop("python")
    pins = pinned_versions()
    assert {name: pins.get(name) for name in recorded} == recorded, (
        f"constraints.txt must pin the versions of the store's environment tag ({recorded})"
    )


def test_stays_small() -> None:
    files = store_files(STORE)
    assert sum(len(b) for b in files.values()) < 3_000_000
    assert not [p for p in files if p.endswith(".mltrail-pointer")], "every artifact is in git"


def experiment_id(name: str) -> str:
    exp = mltrail.get_experiment_by_name(name)
    assert exp is not None, f"no experiment {name!r}"
    assert exp.description.strip().startswith("#"), "experiments carry a Markdown description"
    return exp.experiment_id


def runs_of(name: str, view: int = ViewType.ACTIVE_ONLY) -> list[mltrail.Run]:
    return mltrail.search_runs(  # type: ignore[no-any-return]
        [experiment_id(name)], run_view_type=view, output_format="list"
    )


def test_four_experiments(committed: Path) -> None:
    names = {e.name for e in mltrail.search_experiments()}
    assert {CLASSIFICATION, REGRESSION, CURVES, SWEEP} <= names
    frame = mltrail.search_runs(search_all_experiments=True)
    assert len(frame) >= 30
    assert {"FINISHED", "FAILED", "KILLED"} <= set(frame["status"])


def test_classification_sweep(committed: Path) -> None:
    runs = runs_of(CLASSIFICATION)
    (parent,) = [r for r in runs if r.info.run_name == "grid-search"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    configs = {tuple(sorted(r.data.params.items())) for r in children}
    assert len(children) >= 8 and len(configs) == len(children)
    assert {r.data.params["model"] for r in children} >= {"logistic_regression", "random_forest"}
    failed = [r for r in children if r.info.status == RunStatus.FAILED]
    assert len(failed) == 1
    finished = [r for r in children if r.info.status == RunStatus.FINISHED]
    assert all(0.9 < r.data.metrics["test_accuracy"] <= 1 for r in finished)
    best = max(finished, key=lambda r: r.data.metrics["cv_accuracy"])
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.metrics["best_cv_accuracy"] == best.data.metrics["cv_accuracy"]
    ranked = mltrail.search_runs(
        [experiment_id(CLASSIFICATION)],
        filter_string="metrics.cv_accuracy > 0.9 and params.model = 'logistic_regression'",
        order_by=["metrics.cv_accuracy DESC"],
        output_format="list",
    )
    assert (
        ranked and ranked[0].data.metrics["cv_accuracy"] >= ranked[-1].data.metrics["cv_accuracy"]
    )


def test_regression_deleted_and_killed_runs(committed: Path) -> None:
    active = runs_of(REGRESSION)
    deleted = runs_of(REGRESSION, ViewType.DELETED_ONLY)
    assert [r.info.run_name for r in deleted] == ["ridge-debug"]
    assert len(runs_of(REGRESSION, ViewType.ALL)) == len(active) + 1
    assert any(r.info.status == RunStatus.KILLED for r in active)
    assert all(r.data.metrics["test_r2"] > 0.1 for r in active if "test_r2" in r.data.metrics)


def test_training_curves_are_long_and_nested(committed: Path) -> None:
    client = Client()
    runs = runs_of(CURVES)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) >= 3
    for parent in parents:
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert len(children) >= 2, parent.info.run_name
        for child in children:
            assert set(child.data.metrics) >= {"train/loss", "val/loss", "val/accuracy"}
            if child.info.status != RunStatus.FINISHED:
                continue
            for key in child.data.metrics:
                steps = {m.step for m in client.get_metric_history(child.info.run_id, key)}
                assert len(steps) >= 1000, (child.info.run_name, key, len(steps))
    assert any(r.info.status == RunStatus.FAILED for r in runs), "a diverged run"


def project_commit() -> str | None:
    """The last commit of ``sample_runs/project`` (None without git or its history)."""
    git = ["git", "-C", str(PROJECT)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        shallow = subprocess.run([*git, "rev-parse", "--is-shallow-repository"], env=env,
                                 capture_output=True, text=True, check=False)  # fmt: skip
        found = subprocess.run([*git, "log", "-1", "--format=%H", "--", "."], env=env,
                               capture_output=True, text=True, check=False)  # fmt: skip
    except FileNotFoundError:
        return None
    if shallow.returncode or shallow.stdout.strip() != "false" or found.returncode:
        return None
    return found.stdout.strip() or None


def test_project_sweep_records_what_mltrail_run_records(committed: Path) -> None:
    """One sweep of sample_runs/project, with the tags of a real ``mltrail run`` sweep."""
    client = Client()
    runs = runs_of(SWEEP)
    (parent,) = [r for r in runs if "mltrail.sweep" in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == int(parent.data.tags["mltrail.sweep"]) == len(runs) - 1 == 6
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlflow.project.entryPoint"] == "train"
    grid = {(r.data.params["alpha"], r.data.params["l1_ratio"]) for r in children}
    assert grid == {(a, b) for a in ("0.001", "0.01", "0.1") for b in ("0.2", "0.8")}
    commits = {r.data.tags["mlflow.source.git.commit"] for r in children}
    assert len(commits) == 1
    for run in children:
        tags = run.data.tags
        assert run.info.status == "FINISHED"
        assert parent.info.start_time < run.info.start_time < run.info.end_time
        assert tags["mlflow.source.type"] == "PROJECT"
        assert tags["mlflow.source.name"] == tags["mltrail.project.subdir"] == "sample_runs/project"
        assert tags["mlflow.project.entryPoint"] == "train"
        assert tags["mlflow.project.env"] == "local"
        assert not {"mlflow.source.git.branch", "mlflow.source.git.repoURL"} & set(tags)
        assert run.data.params["max_iter"] == "10000" and run.data.params["selection"] == "cyclic"
        assert 40 < run.data.metrics["test_rmse"] < 80
        (logged,) = client.get_metric_history(run.info.run_id, "test_rmse")
        assert run.info.start_time < logged.timestamp < run.info.end_time, "the simulated clock"
        log = Path(client.download_artifacts(run.info.run_id, "mltrail-project/output.log"))
        text = log.read_text()
        assert f"test_rmse      {run.data.metrics['test_rmse']:.4f}" in text
        assert "/" not in text, "no paths of the machine that made it"
    latest = project_commit()
    if latest is None:
        pytest.skip("no git history of sample_runs/project here: the recorded commit is unchecked")
    assert commits == {latest}, (
        f"sample_runs/project changed since the store was made (its last commit is {latest}): "
        f"{REGENERATE}"
    )


def all_artifacts(client: Client, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for info in client.list_artifacts(run_id, path):
        out.extend(all_artifacts(client, run_id, info.path) if info.is_dir else [info.path])
    return out


def test_artifacts(committed: Path, tmp_path: Path) -> None:
    client = Client()
    found: dict[str, list[tuple[str, str]]] = {}
    for run in mltrail.search_runs(
        search_all_experiments=True, run_view_type=ViewType.ALL, output_format="list"
    ):
        for path in all_artifacts(client, run.info.run_id):
            found.setdefault(PurePosixPath(path).suffix, []).append((run.info.run_id, path))
    assert {".png", ".md", ".csv", ".json"} <= set(found)
    run_id, png = found[".png"][0]
    local = Path(client.download_artifacts(run_id, png, str(tmp_path)))
    assert local.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    run_id, path = found[".csv"][0]
    text = Path(client.download_artifacts(run_id, path, str(tmp_path))).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 2 and len({len(row) for row in rows}) == 1


# --- models and the registry ----------------------------------------------------------

CLASSIFIER = "breast-cancer-classifier"
REGRESSOR = "diabetes-regressor"


def versions_of(client: Client, name: str) -> dict[int, mltrail.ModelVersion]:
    found = client.search_model_versions(f"name = '{name}'")
    return {int(v.version): v for v in found}


def test_registered_models(committed: Path) -> None:
    client = Client()
    models = {m.name: m for m in client.search_registered_models()}
    assert set(models) == {CLASSIFIER, REGRESSOR}
    for model in models.values():
        assert (model.description or "").startswith("# "), "models carry a Markdown description"
        assert model.tags.get("team")
    classifier = versions_of(client, CLASSIFIER)
    assert {v: m.current_stage for v, m in classifier.items()} == {
        1: "Archived",
        2: "None",
        3: "Production",
        4: "Staging",
    }
    assert models[CLASSIFIER].aliases == {"champion": "3", "challenger": "4"}
    regressor = versions_of(client, REGRESSOR)
    assert sorted(m.current_stage for m in regressor.values()) == ["Production", "Staging"]
    assert set(models[REGRESSOR].aliases) == {"champion", "challenger"}
    for name in (CLASSIFIER, REGRESSOR):
        champion = client.get_model_version_by_alias(name, "champion")
        assert champion.current_stage == "Production"
        assert client.get_model_version_by_alias(name, "challenger").current_stage == "Staging"
        latest = client.get_latest_versions(name, ["Production"])
        assert [v.version for v in latest] == [champion.version]


def test_versions_point_at_the_runs_models(committed: Path) -> None:
    """Each version comes from its own run, whose model is in the run's artifacts."""
    client = Client()
    for name, experiment in ((CLASSIFIER, CLASSIFICATION), (REGRESSOR, REGRESSION)):
        versions = versions_of(client, name).values()
        assert len({v.run_id for v in versions}) == len(versions)
        for version in versions:
            run_id = str(version.run_id)
            assert version.source == f"runs:/{run_id}/model"
            assert version.description and version.user_id in ("ana", "ben")
            run = client.get_run(run_id)
            assert client.get_experiment(run.info.experiment_id).name == experiment
            logged = json.loads(run.data.tags["mlflow.log-model.history"])
            assert [entry["artifact_path"] for entry in logged] == ["model"]
            created = dt.datetime.fromisoformat(logged[0]["utc_time_created"])
            created_ms = created.replace(tzinfo=dt.UTC).timestamp() * 1000
            ended = run.info.end_time or 0
            assert run.info.start_time <= created_ms <= ended, "times come from the simulated clock"
            assert "model/model.skops" in all_artifacts(client, run_id)
    champion = client.get_model_version_by_alias(CLASSIFIER, "champion")
    assert client.get_run(str(champion.run_id)).data.tags.get("best") == "true"


def test_champion_predicts_its_input_example(committed: Path) -> None:
    import mltrail.pyfunc
    import mltrail.sklearn
    from mltrail.models import Model
    from mltrail.models.uri import resolve_model_uri

    uri = f"models:/{CLASSIFIER}@champion"
    model = mltrail.pyfunc.load_model(uri)
    local = resolve_model_uri(uri)
    example = Model.load(local).load_input_example(local)
    assert list(example.columns)[:2] == ["mean radius", "mean texture"]
    predictions = model.predict(example)
    assert len(predictions) == len(example) >= 3
    assert set(predictions) <= {0, 1}
    schema = model.metadata.get_input_schema()
    assert schema is not None and schema.input_names() == list(example.columns)
    regressor = mltrail.sklearn.load_model(f"models:/{REGRESSOR}/Production")
    local = resolve_model_uri(f"models:/{REGRESSOR}@champion")
    example = Model.load(local).load_input_example(local)
    assert all(25 < p < 350 for p in regressor.predict(example)), "disease progression scores"


def test_models_are_small_skops_files() -> None:
    files = store_files(STORE)
    models = {p: b for p, b in files.items() if p.endswith("/artifacts/model/model.skops")}
    assert len(models) >= 6
    assert all(len(b) < 100_000 for b in models.values())
    assert all(b.startswith(b"PK\x03\x04") for b in models.values()), "skops files are zips"
