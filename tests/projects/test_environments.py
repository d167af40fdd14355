"""``--env-manager virtualenv`` and ``uv`` for real: an environment made from
``python_env.yaml`` (with mltrail installed from this checkout), cached by its spec, and
started at once the second time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

import mltrail
from mltrail.projects import runner
from mltrail.projects.environments import Environment
from tests.conftest import make_repo, run_git
from tests.projects.conftest import python_env_project

pytestmark = pytest.mark.usefixtures("tracking")

MLPROJECT = """
name: envs
python_env: python_env.yaml
entry_points:
  main:
    command: "python where.py"
"""
WHERE = """
import sys
import mltrail
with mltrail.start_run():
    mltrail.log_params({"python": sys.executable, "mltrail": mltrail.__file__})
"""
#: The second start of a project whose environment is made (issue 11 §3).
CACHED_START_S = 1.0


@pytest.mark.parametrize("manager", ["virtualenv", "uv"])
def test_an_environment_is_made_once_and_then_starts_at_once(
    manager: str,
    tmp_path: Path,
    shared_envs: Path,
    made: Callable[[Path, str], Environment],
) -> None:
    repo = make_repo(tmp_path / "proj")
    python_env_project(repo, MLPROJECT)
    (repo / "where.py").write_text(WHERE)
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "project")
    environment = made(repo, manager)  # by this test, or earlier by another one
    venv = Path(environment.python).parent.parent
    assert venv.parent == shared_envs and environment.manager == manager

    reports: list[str] = []
    request = runner.RunRequest(str(repo), env_manager=manager, experiment_name="exp")
    started = time.perf_counter()
    submitted = runner.submit(request, reports.append, echo=False)
    start_s = time.perf_counter() - started
    assert submitted.wait(), reports
    assert not [r for r in reports if r.startswith("Making")], "the cached one is reused"
    assert start_s < CACHED_START_S, f"a cached {manager} environment took {start_s:.2f} s"

    run = mltrail.get_run(submitted.run_id)
    assert run.data.tags["mlflow.project.env"] == manager
    # the command ran the environment's Python, which imports the mltrail installed in it
    assert Path(run.data.params["python"]).parent.parent == venv
    assert Path(run.data.params["mltrail"]).is_relative_to(venv)
    assert (venv / ".mltrail-ready").is_file()


def test_virtualenv_is_the_default_for_a_python_env_project(
    tmp_path: Path, made: Callable[[Path, str], Environment]
) -> None:
    project = python_env_project(tmp_path / "p", MLPROJECT)
    (project / "where.py").write_text(WHERE)
    environment = made(project, "virtualenv")
    submitted = mltrail.projects.run(str(project), experiment_name="exp")
    run = mltrail.get_run(submitted.run_id)
    assert run.data.tags["mlflow.project.env"] == "virtualenv"
    assert run.data.params["python"] == environment.python


def test_one_interpreter_by_any_name_shares_one_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mltrail run` (started as python3) and `mltrail.projects.run` (python) reuse the
    environment either made. Making it is tested above; here it is only counted."""
    import sys

    from mltrail.projects import environments
    from mltrail.projects.spec import load_project

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made: list[Path] = []

    def make_venv(folder: Path, *args: object) -> None:
        made.append(folder)
        (folder / "bin").mkdir(parents=True)

    monkeypatch.setattr(environments, "_make_venv", make_venv)
    project = load_project(python_env_project(tmp_path / "p", "name: p\n"))
    real = Path(sys.executable)
    alias = tmp_path / "python3-alias"
    alias.symlink_to(real)
    for spelling in (str(real), str(alias), str(real)):
        monkeypatch.setattr(sys, "executable", spelling)
        environments.prepare(project, "virtualenv")
    assert len(made) == 1
