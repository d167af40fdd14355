"""The same project run by ``mlflow run`` (mlflow 3.17.2, the test extra) and by
``mltrail run`` records the same params and MLflow's project tags, with the ``local``,
``virtualenv`` and ``uv`` env managers."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import mltrail
from mltrail.store import FileStore
from tests.conftest import make_repo, run_git
from tests.projects.conftest import PYTHON, python_env_project

MLFLOW = shutil.which("mlflow", path=str(Path(sys.executable).parent))
pytestmark = [
    pytest.mark.skipif(MLFLOW is None, reason="mlflow (test extra) is not installed"),
    pytest.mark.usefixtures("tracking"),
]
MLPROJECT = """
name: compare
python_env: python_env.yaml
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


def mlflow_cannot_run(env_manager: str) -> str | None:
    """Why ``mlflow run --env-manager env_manager`` cannot make its environment here."""
    if env_manager == "virtualenv":
        pyenv = shutil.which("pyenv")
        if pyenv is None:
            return "MLflow's virtualenv manager installs Python with pyenv, not installed here"
        found = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True,
                               check=False, timeout=60).stdout.split()  # fmt: skip
        if PYTHON not in found:
            return f"MLflow's virtualenv manager needs Python {PYTHON} in pyenv (it has {found})"
    if env_manager == "uv" and shutil.which("uv") is None:
        return "uv (test extra) is not installed"
    return None


def run_with_mlflow(repo: Path, env_manager: str, args: list[str], root: Path) -> dict[str, Any]:
    """What ``mlflow run repo`` records: the run's params and tags."""
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true",
           "MLFLOW_TRACKING_URI": f"file://{root / 'mlruns'}",
           "MLFLOW_ENV_ROOT": str(root / f"mlflow-envs-{env_manager}"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    # cwd=repo: MLflow reads a defaulted path from the current folder (mltrail: the project's)
    command = [str(MLFLOW), "run", str(repo), "--env-manager", env_manager, *args]
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    read = subprocess.run([sys.executable, "-c", READ_MLFLOW_RUN, env["MLFLOW_TRACKING_URI"]],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert read.returncode == 0, read.stderr
    (theirs,) = [json.loads(line) for line in read.stdout.splitlines()]
    return theirs  # type: ignore[no-any-return]


@pytest.mark.parametrize("env_manager", ["local", "virtualenv", "uv"])
def test_mltrail_records_what_mlflow_run_records(
    env_manager: str, tmp_path: Path, tracking: FileStore, request: pytest.FixtureRequest
) -> None:
    repo = make_repo(tmp_path / "proj")
    python_env_project(repo, MLPROJECT)
    (repo / "data.csv").write_text("x\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "project")
    if env_manager != "local":  # one environment for all the tests
        request.getfixturevalue("made")(repo, env_manager)
    args = ["-P", "label=hello world", "-P", "extra=3"]
    cannot = mlflow_cannot_run(env_manager)
    # Without MLflow's manager, its local run's tags are compared, plus mlflow.project.env
    theirs = run_with_mlflow(repo, "local" if cannot else env_manager, args, tmp_path)

    mltrail.projects.run(
        str(repo), parameters={"label": "hello world", "extra": "3"}, env_manager=env_manager
    )
    (ours,) = mltrail.MlflowClient().search_runs(["0"])
    # MLflow logs each value shell-quoted ("'hello world'"); mltrail logs the value itself
    assert ours.data.params == {k: shlex.split(v)[0] for k, v in theirs["params"].items()}
    assert theirs["params"]["label"] == "'hello world'"
    for tag in COMPARED:
        assert ours.data.tags.get(tag) == theirs["tags"].get(tag), tag
    assert ours.data.tags["mlflow.project.env"] == env_manager
    if env_manager == "local" or cannot:
        # MLflow records the env manager only for the ones that make an environment
        assert "mlflow.project.env" not in theirs["tags"]
        ours_only = OURS_ONLY
    else:
        assert theirs["tags"]["mlflow.project.env"] == env_manager
        ours_only = tuple(t for t in OURS_ONLY if t != "mlflow.project.env")
    assert sorted(theirs["tags"]) == sorted(t for t in ours.data.tags if t not in ours_only)
    assert theirs["tags"]["mlflow.source.name"].endswith(str(repo).rstrip("/"))
    assert ours.data.tags["mlflow.source.name"] == str(repo)
    if cannot:
        pytest.skip(f"compared with mlflow run's local run: {cannot}")
