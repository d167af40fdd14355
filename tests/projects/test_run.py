"""``mltrail run`` and ``mltrail.projects.run`` on real projects in temp folders and git
repositories: what a run records, versions and sub-folders, failures, cancelling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mltrail
from mltrail.projects import ExecutionException, ProjectError
from mltrail.store import FileStore
from tests.conftest import make_repo, run_git

pytestmark = pytest.mark.usefixtures("tracking")

MLPROJECT = """
name: demo
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      label: string
    command: "python train.py --alpha {alpha} --label {label}"
  fail:
    command: "echo about to fail; exit 3"
  slow:
    command: "sleep 60"
"""
TRAIN = """
import argparse, sys
import mltrail
parser = argparse.ArgumentParser()
for name in ("--alpha", "--label", "--extra"):
    parser.add_argument(name)
args = parser.parse_args()
with mltrail.start_run() as run:
    mltrail.log_metric("version", VERSION)
    print("child run", run.info.run_id)
    print("a line on stderr", file=sys.stderr)
"""


def _project(root: Path, version: int = 1, subdir: str = "") -> Path:
    folder = root / subdir if subdir else root
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLproject").write_text(MLPROJECT)
    (folder / "train.py").write_text(TRAIN.replace("VERSION", str(version)))
    return folder


def _runs(name: str = "exp") -> list[mltrail.entities.Run]:
    experiment = mltrail.get_experiment_by_name(name)
    if experiment is None:
        return []
    return list(mltrail.MlflowClient().search_runs([experiment.experiment_id]))


def test_a_run_records_its_project_parameters_source_and_output(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj")
    _project(repo)
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "project")
    head = run_git(repo, "rev-parse", "HEAD").strip()
    submitted = mltrail.projects.run(
        str(repo), parameters={"label": "a b; echo no", "extra": 1}, experiment_name="exp"
    )
    (run,) = _runs()  # the child's start_run() resumed the project's run
    assert run.info.run_id == submitted.run_id and run.info.status == "FINISHED"
    assert run.data.metrics == {"version": 1.0}
    assert run.data.params == {"alpha": "0.5", "label": "a b; echo no", "extra": "1"}
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(repo)
    assert tags["mlflow.source.git.commit"] == head
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.env"] == "local"
    output = Path(mltrail.MlflowClient().download_artifacts(run.info.run_id, "mltrail-project"))
    log = (output / "output.log").read_text()
    assert f"child run {run.info.run_id}" in log and "a line on stderr" in log


def test_a_git_repository_runs_at_a_tag_or_branch_from_a_subfolder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    _project(repo, version=1, subdir="sub")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "one")
    run_git(repo, "tag", "v1")
    first = run_git(repo, "rev-parse", "HEAD").strip()
    run_git(repo, "checkout", "-qb", "feature")
    _project(repo, version=2, subdir="sub")
    run_git(repo, "commit", "-qam", "two")
    second = run_git(repo, "rev-parse", "HEAD").strip()
    run_git(repo, "checkout", "-q", "main")
    (repo / "untracked.txt").write_text("the user's work in progress")

    for version, uri in (("v1", str(repo)), ("feature", f"file://{repo}")):
        mltrail.projects.run(
            f"{uri}#sub", parameters={"label": version}, version=version, experiment_name="exp"
        )
    runs = {r.data.params["label"]: r for r in _runs()}
    assert runs["v1"].data.metrics == {"version": 1.0}
    assert runs["v1"].data.tags["mlflow.source.git.commit"] == first
    assert runs["feature"].data.metrics == {"version": 2.0}
    assert runs["feature"].data.tags["mlflow.source.git.commit"] == second
    assert runs["feature"].data.tags["mlflow.source.git.branch"] == "feature"
    assert runs["v1"].data.tags["mlflow.source.name"] == f"{repo}#sub"
    assert runs["v1"].data.tags["mltrail.project.subdir"] == "sub"
    # in place, the folder inside the repository is found from the work tree's root
    mltrail.projects.run(str(repo / "sub"), parameters={"label": "here"}, experiment_name="here")
    assert _runs("here")[0].data.tags["mltrail.project.subdir"] == "sub"
    # the user's work tree is untouched: same branch, same files
    assert run_git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert "untracked.txt" in run_git(repo, "status", "--porcelain")
    with pytest.raises(ProjectError, match="no commit, branch or tag 'nope'"):
        mltrail.projects.run(f"{repo}#sub", parameters={"label": "x"}, version="nope")
    with pytest.raises(ProjectError, match="outside the repository"):
        mltrail.projects.run(f"{repo}#../..", version="v1")


def test_a_failing_command_ends_failed_with_its_exit_code(tmp_path: Path) -> None:
    _project(tmp_path / "p")
    with pytest.raises(ExecutionException, match="ended FAILED"):
        mltrail.projects.run(str(tmp_path / "p"), "fail", experiment_name="exp")
    (run,) = _runs()
    assert run.info.status == "FAILED"
    assert run.data.tags["mltrail.project.exitCode"] == "3"


@pytest.mark.parametrize(
    ("entry", "parameters", "says"),
    [
        ("main", {}, "needs a value for 'label'"),
        ("main", {"label": "x", "alpha": "fast"}, "must be a number"),
        ("nope", {}, "No entry point 'nope'"),
    ],
)
def test_bad_input_is_refused_before_any_run_exists(
    tmp_path: Path, entry: str, parameters: dict[str, str], says: str
) -> None:
    _project(tmp_path / "p")
    with pytest.raises(ProjectError, match=None) as caught:
        mltrail.projects.run(
            str(tmp_path / "p"), entry, parameters=parameters, experiment_name="exp"
        )
    assert says in str(caught.value)
    assert _runs() == []


def test_cancel_stops_the_command_and_marks_the_run_killed(tmp_path: Path) -> None:
    _project(tmp_path / "p")
    submitted = mltrail.projects.run(
        str(tmp_path / "p"), "slow", experiment_name="exp", synchronous=False
    )
    assert submitted.get_status() == "RUNNING"
    pid = submitted._process.pid
    submitted.cancel()
    assert submitted.get_status() == "KILLED"
    assert mltrail.get_run(submitted.run_id).info.status == "KILLED"
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the whole process group is gone


def test_the_cli_runs_a_script_and_sigterm_kills_the_run(
    tracking: FileStore, tmp_path: Path
) -> None:
    project = _project(tmp_path / "p")
    (project / "hello.py").write_text("import mltrail\nmltrail.log_param('hello', 'world')\n")
    command = [sys.executable, "-m", "mltrail", "run", str(project), "--store", str(tracking.root)]
    done = subprocess.run([*command, "-e", "hello.py", "--experiment-name", "exp"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    failed = subprocess.run([*command, "-e", "fail", "--experiment-name", "exp"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert failed.returncode == 1 and "about to fail" in failed.stdout
    slow = subprocess.Popen([*command, "-e", "slow", "--experiment-name", "exp"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(_runs()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    slow.send_signal(signal.SIGTERM)
    slow.communicate(timeout=60)
    assert slow.returncode != 0
    statuses = sorted(r.info.status for r in _runs())
    assert statuses == ["FAILED", "FINISHED", "KILLED"]
    (hello,) = [r for r in _runs() if r.info.status == "FINISHED"]
    assert hello.data.params == {"hello": "world"}


def test_a_missing_conda_names_a_manager_that_would_work(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    (project / "python_env.yaml").write_text("python: '3.11'\n")
    if __import__("shutil").which("conda"):
        pytest.skip("conda is installed here")
    with pytest.raises(ProjectError, match=r"conda, which is not installed.*virtualenv"):
        mltrail.projects.run(str(project), parameters={"label": "x"}, env_manager="conda")
    assert _runs() == []
