"""What the project tests share: one cache of made environments for the whole test run.

Making a ``virtualenv`` environment installs mltrail and its dependencies with pip (a
minute or more on a loaded machine), so every test that asks for the same
``python_env.yaml`` (:data:`PYTHON_ENV`) reuses one environment per manager: the cache
folder is shared by the xdist workers, and :func:`made` lets one worker make an
environment while the others wait for it.
"""

from __future__ import annotations

import fcntl
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mltrail.projects.environments import Environment, prepare
from mltrail.projects.spec import load_project

#: This interpreter's version: mltrail's managers use this interpreter for it, and
#: MLflow's virtualenv manager asks pyenv for it.
PYTHON = platform.python_version()
#: Nothing but mltrail itself (which mltrail adds, from this checkout), so it installs
#: from the package caches.
PYTHON_ENV = f'python: "{PYTHON}"\nbuild_dependencies: []\ndependencies: []\n'
BIN = str(Path(sys.executable).parent)


def _user_cache(tool_variable: str, tool: str) -> str:
    """Where pip or uv keeps its downloads for this user (kept when XDG_CACHE_HOME moves)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return os.environ.get(tool_variable) or str(Path(base) / tool)


@pytest.fixture(scope="session")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The XDG cache folder of the made environments, one for all xdist workers."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' base folders share this parent
    cache = root / "env-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture
def shared_envs(env_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """mltrail's environments in ``env_cache`` (pip's and uv's downloads stay in the
    user's caches), MLflow's beside them, and this interpreter's folder first on ``PATH``
    (uv and mlflow of the test extra). Returns the folder of mltrail's environments."""
    monkeypatch.setenv("PIP_CACHE_DIR", _user_cache("PIP_CACHE_DIR", "pip"))
    monkeypatch.setenv("UV_CACHE_DIR", _user_cache("UV_CACHE_DIR", "uv"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(env_cache))
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return env_cache / "mltrail" / "envs"


def python_env_project(folder: Path, mlproject: str) -> Path:
    """A project in ``folder`` with ``mlproject`` and the shared :data:`PYTHON_ENV`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLproject").write_text(mlproject)
    (folder / "python_env.yaml").write_text(PYTHON_ENV)
    return folder


@pytest.fixture
def made(shared_envs: Path) -> Callable[[Path, str], Environment]:
    """``made(project, manager)``: the project's environment, made first if needed, one
    at a time across workers (two builds of mltrail's source tree at once would write
    its build/ folder at the same time)."""

    def make(project: Path, manager: str) -> Environment:
        with open(shared_envs.parent / "making.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return prepare(load_project(project), manager)

    shared_envs.mkdir(parents=True, exist_ok=True)
    return make
