"""The same project run by ``mlflow run`` (mlflow 3.17.2, the test extra) and by
``mltrail run`` records the same params and MLflow's project tags."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mltrail
from mltrail.store import FileStore
from tests.conftest import make_repo, run_git

MLFLOW = shutil.which("mlflow", path=str(Path(sys.executable).parent))
pytestmark = [
    pytest.mark.skipif(MLFLOW is None, reason="mlflow (test extra) is not installed"),
    pytest.mark.usefixtures("tracking"),
]
MLPROJECT = """
name: compare
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      label: string
      data: {type: path, default: data.csv}
    command: "python -c 'print(1)' {alpha} {label} {data}"
"""
#: Tags both record; the rest are each tool's own (mltrail.*, MLflow's run-name bookkeeping).
COMPARED = (
    "mlflow.source.type",
    "mlflow.source.git.commit",
    "mlflow.project.entryPoint",
    "mlflow.project.backend",
    "mlflow.user",
)
#: What mltrail adds: the env manager even when local, and the branch of a folder run in place.
OURS_ONLY = ("mlflow.project.env", "mlflow.source.git.branch", "mltrail.project.subdir")
READ_MLFLOW_RUN = """
import json, sys, mlflow
client = mlflow.MlflowClient(sys.argv[1])
for experiment in client.search_experiments():
    for run in client.search_runs([experiment.experiment_id]):
        print(json.dumps({"params": run.data.params, "tags": run.data.tags}))
"""


def test_mltrail_records_what_mlflow_run_records(tmp_path: Path, tracking: FileStore) -> None:
    repo = make_repo(tmp_path / "proj")
    (repo / "MLproject").write_text(MLPROJECT)
    (repo / "data.csv").write_text("x\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "project")
    args = ["-P", "label=hello world", "-P", "extra=3"]
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true",
           "MLFLOW_TRACKING_URI": f"file://{tmp_path / 'mlruns'}",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    # cwd=repo: MLflow reads a defaulted path from the current folder (mltrail: the project's)
    command = [MLFLOW, "run", str(repo), "--env-manager", "local", *args]
    theirs_run = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True,
                                timeout=300)  # fmt: skip
    assert theirs_run.returncode == 0, theirs_run.stderr
    read = subprocess.run([sys.executable, "-c", READ_MLFLOW_RUN, env["MLFLOW_TRACKING_URI"]],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert read.returncode == 0, read.stderr
    (theirs,) = [json.loads(line) for line in read.stdout.splitlines()]

    mltrail.projects.run(str(repo), parameters={"label": "hello world", "extra": "3"})
    (ours,) = mltrail.MlflowClient().search_runs(["0"])
    # MLflow logs each value shell-quoted ("'hello world'"); mltrail logs the value itself
    assert ours.data.params == {k: shlex.split(v)[0] for k, v in theirs["params"].items()}
    assert theirs["params"]["label"] == "'hello world'"
    for tag in COMPARED:
        assert ours.data.tags.get(tag) == theirs["tags"].get(tag), tag
    assert sorted(theirs["tags"]) == sorted(t for t in ours.data.tags if t not in OURS_ONLY)
    # MLflow records the env manager only for the ones that make an environment
    assert "mlflow.project.env" not in theirs["tags"]
    assert ours.data.tags["mlflow.project.env"] == "local"
    assert theirs["tags"]["mlflow.source.name"].endswith(str(repo).rstrip("/"))
    assert ours.data.tags["mlflow.source.name"] == str(repo)
