"""Two clones each create experiment ``churn`` before they ever sync, then merge.

The documented outcome (docs/FORMAT.md, "Experiments of one name"): one experiment
``churn`` holding every run of both, under the oldest id; the other id keeps resolving.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrail.cli import build_cli
from mltrail.store import FileStore, init_store
from mltrail.tracking.client import MlflowClient
from tests.conftest import ScriptRunner, configure_identity, make_repo, run_git

_TRAIN = """
import mltrail as mlflow
mlflow.set_tracking_uri("runs")
exp = mlflow.set_experiment("churn")
mlflow.set_experiment_tag("owner", "{who}")
with mlflow.start_run(run_name="{who}-run") as run:
    mlflow.log_param("clone", "{who}")
    mlflow.log_metric("auc", 0.5)
print(exp.experiment_id, run.info.run_id)
"""


def _clone(hub: Path, path: Path) -> Path:
    run_git(hub.parent, "clone", "-q", str(hub), str(path))
    configure_identity(path)
    run_git(path, "config", "pull.rebase", "false")
    return path


def _train(run_script: ScriptRunner, clone: Path, who: str) -> tuple[str, str]:
    proc = run_script(_TRAIN.format(who=who), cwd=clone, name=f"train_{who}.py", check=True)
    experiment_id, run_id = proc.stdout.split()
    return experiment_id, run_id


@pytest.fixture
def merged(tmp_path: Path, clean_env: None, run_script: ScriptRunner) -> dict[str, str]:
    """Clone B after merging clone A; ids of both clones' experiment and run."""
    origin = make_repo(tmp_path / "origin")
    init_store(origin / "runs")
    hub = tmp_path / "hub.git"
    run_git(tmp_path, "clone", "-q", "--bare", str(origin), str(hub))
    a, b = _clone(hub, tmp_path / "a"), _clone(hub, tmp_path / "b")
    exp_a, run_a = _train(run_script, a, "a")
    exp_b, run_b = _train(run_script, b, "b")
    assert exp_a != exp_b
    run_git(a, "push", "-q", "origin", "main")
    run_git(b, "pull", "-q", "--no-edit", "origin", "main")  # no conflict
    assert run_git(b, "status", "--porcelain", "--", "runs") == ""
    return {"root": str(b / "runs"), "exp_a": exp_a, "exp_b": exp_b, "a": run_a, "b": run_b}


def test_one_experiment_holds_both_clones_runs(merged: dict[str, str]) -> None:
    client = MlflowClient(merged["root"])
    head = min(merged["exp_a"], merged["exp_b"], key=lambda e: (len(e), e))
    churn = client.get_experiment_by_name("churn")
    assert churn is not None and churn.experiment_id == head
    assert churn.tags["owner"] in ("a", "b")
    assert [e.name for e in client.search_experiments()].count("churn") == 1
    runs = client.search_runs([head])
    assert {r.info.run_id for r in runs} == {merged["a"], merged["b"]}
    assert {r.info.experiment_id for r in runs} == {head}
    # Both clones' ids keep resolving, to the one experiment.
    for eid in (merged["exp_a"], merged["exp_b"]):
        assert client.get_experiment(eid).experiment_id == head
        assert {r.info.run_id for r in client.search_runs([eid])} == {merged["a"], merged["b"]}
    assert client.get_run(merged["a"]).info.experiment_id == head


def test_fluent_search_and_cli_see_both(merged: dict[str, str]) -> None:
    import mltrail
    from mltrail.tracking import context

    mltrail.set_tracking_uri(merged["root"])
    try:
        found = mltrail.search_runs(experiment_names=["churn"], output_format="list")
        assert {r.info.run_id for r in found} == {merged["a"], merged["b"]}
        # A new run of "churn" joins the merged experiment.
        with mltrail.start_run(experiment_id=mltrail.set_experiment("churn").experiment_id):
            pass
        assert len(mltrail.search_runs(experiment_names=["churn"], output_format="list")) == 3
    finally:
        context.close_all()
        context.reset_tracking_uri()
    result = CliRunner().invoke(
        build_cli(),
        ["runs", "list", "--experiment", "churn", "--json", "--store", merged["root"]],
    )
    assert result.exit_code == 0, result.output
    listed = {r["info"]["run_id"] for r in json.loads(result.stdout)}
    assert {merged["a"], merged["b"]} <= listed


def test_renaming_moves_every_record(merged: dict[str, str]) -> None:
    client = MlflowClient(merged["root"])
    client.rename_experiment(merged["exp_b"], "churn-v2")
    assert client.get_experiment_by_name("churn") is None
    moved = client.get_experiment_by_name("churn-v2")
    assert moved is not None
    assert len(client.search_runs([moved.experiment_id])) == 2


def test_site_shows_one_experiment_and_keeps_both_links(
    merged: dict[str, str], tmp_path: Path
) -> None:
    from mltrail_generator.pipeline import build_site

    out = tmp_path / "site"
    build_site(FileStore(Path(merged["root"])), out)
    head = min(merged["exp_a"], merged["exp_b"], key=lambda e: (len(e), e))
    other = merged["exp_b"] if head == merged["exp_a"] else merged["exp_a"]
    data = (out / "experiments" / head / "runs.js").read_text()
    assert merged["a"] in data and merged["b"] in data
    home = (out / "index.html").read_text()
    assert home.count(f"experiments/{head}/") >= 1 and f"experiments/{other}/" not in home
    moved = (out / "experiments" / other / "index.html").read_text()
    assert f'url=../../experiments/{head}/index.html"' in moved
