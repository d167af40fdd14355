"""The environment a project's command runs in: ``local``, ``virtualenv``, ``uv``, ``conda``
or ``docker`` (from the project's ``docker_env``).

- ``local``: this Python environment: ``.py`` entry points and ``python`` in a command
  run this interpreter (its folder goes first on ``PATH``).
- ``virtualenv``: a venv made from the project's ``python_env.yaml`` (its ``python``
  version where that interpreter is installed, then ``build_dependencies`` and
  ``dependencies`` with pip); ``uv`` makes the same with uv when it is installed (on
  ``PATH``, or beside this interpreter).
- ``conda`` and ``docker``: need the ``conda`` / ``docker`` command; without it, an error
  says what is missing and which manager would work.

Environments are cached under ``$XDG_CACHE_HOME/mltrail/envs`` (``~/.cache``) by a hash
of their spec (the environment file, the requirement files it names, the manager and the
Python), so the second run of a project starts at once. A half-made environment (the
command was killed) is made again; two runs making the same one wait for each other.
The environment also gets mltrail itself (the installation running this command) unless
its dependencies name it, so ``import mltrail`` in the project's code finds the run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrail.projects.spec import (
    CONDA_ENV,
    DOCKER_ENV,
    PYTHON_ENV,
    Project,
    ProjectError,
    read_mapping,
)

MANAGERS = ("local", "virtualenv", "uv", "conda")
#: Written last into a finished environment: one without it is made again.
READY = ".mltrail-ready"
Report = Callable[[str], None]


@dataclass(frozen=True)
class Environment:
    """How to run a command in the environment: the manager, the Python for ``.py``
    entry points, environment variables to set, and a prefix for the command."""

    manager: str
    python: str
    variables: dict[str, str] = field(default_factory=dict)
    prefix: list[str] = field(default_factory=list)


def default_manager(project: Project) -> str:
    """MLflow's choice: the project's own kind of environment, else ``local``."""
    if project.env_type == DOCKER_ENV:
        return "docker"
    if project.env_type == CONDA_ENV and project.env_file is not None:
        return "conda"
    if project.env_file is not None:
        return "virtualenv"
    return "local"


def prepare(project: Project, manager: str | None, report: Report = lambda _: None) -> Environment:
    """The environment ``manager`` makes for ``project`` (None: :func:`default_manager`)."""
    chosen = manager or default_manager(project)
    if project.env_type == DOCKER_ENV:
        if manager not in (None, "docker", "local"):
            raise ProjectError(
                f"The project runs in docker_env; --env-manager {manager} cannot run it."
            )
        if chosen == "docker":
            return _docker(project)
    if chosen == "local":  # `python` in a command is this interpreter, as for the venvs
        here = str(Path(sys.executable).parent)
        return Environment("local", sys.executable, {"PATH": _path_with(here)})
    if chosen not in MANAGERS:
        raise ProjectError(f"Unknown env manager {chosen!r}; use one of {', '.join(MANAGERS)}.")
    if chosen == "conda":
        return _conda(project, report)
    spec = _python_env(project)
    return _venv(project, spec, chosen, report)


def _path_with(folder: str) -> str:
    return os.pathsep.join([folder, *os.environ.get("PATH", "").split(os.pathsep)])


def _python_env(project: Project) -> dict[str, Any]:
    """The project's python_env.yaml, checked (an empty spec when it has none)."""
    if project.env_type != PYTHON_ENV or project.env_file is None:
        if project.env_type == CONDA_ENV:
            raise ProjectError(
                f"{project.env_file} is a conda environment; run with --env-manager conda, or "
                "add a python_env.yaml for virtualenv and uv."
            )
        return {}
    where = project.env_file
    spec = read_mapping(where, "python, build_dependencies, dependencies")
    for key in ("build_dependencies", "dependencies"):
        value = spec.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProjectError(f"{where}: {key} must be a list of requirement strings.")
        spec[key] = value
    if spec.get("python") is not None and not re.fullmatch(r"\d+(\.\d+){0,2}", str(spec["python"])):
        raise ProjectError(
            f"{where}: python must be a version such as 3.11; got {spec['python']!r}."
        )
    return spec


def _interpreter(version: str | None, manager: str) -> str:
    """An installed Python of ``version`` (major.minor); this one when it matches."""
    if version is None:
        return sys.executable
    wanted = tuple(int(p) for p in str(version).split(".")[:2])
    if wanted == sys.version_info[:2]:
        return sys.executable
    found = shutil.which(f"python{wanted[0]}.{wanted[1]}") if len(wanted) == 2 else None
    if found is None and manager != "uv":
        raise ProjectError(
            f"The project asks for Python {version}, which is not installed here (this is "
            f"{sys.version_info[0]}.{sys.version_info[1]}); install it, or run with "
            "--env-manager local."
        )
    return found or str(version)


def _mltrail_requirement() -> str:
    """What installs this mltrail into another environment: its source folder or wheel
    when it was installed from one, else the released version."""
    from importlib import metadata

    import mltrail

    version = getattr(mltrail, "__version__", None)
    for dist in metadata.distributions(name="mltrail"):
        direct = dist.read_text("direct_url.json")
        url = json.loads(direct).get("url", "") if direct else ""
        if url.startswith("file://") and Path(url[len("file://") :]).exists():
            return url[len("file://") :]
        version = dist.version
    source = Path(mltrail.__file__).resolve().parent.parent
    if (source / "pyproject.toml").is_file():  # running from a checkout
        return str(source)
    return f"mltrail=={version}" if version else "mltrail"


def _spec_hash(project: Project, spec: dict[str, Any], manager: str, extra: str) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([manager, spec, extra], sort_keys=True, default=str).encode())
    for requirement in spec.get("dependencies", []):
        parts = requirement.split()
        if len(parts) == 2 and parts[0] in ("-r", "--requirement", "-c", "--constraint"):
            named = (project.directory / parts[1]).resolve()
            if named.is_relative_to(project.directory) and named.is_file():
                digest.update(named.read_bytes())
    return digest.hexdigest()[:20]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mltrail" / "envs"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _find_uv() -> str | None:
    """uv on ``PATH``, else beside this interpreter (``pip install uv`` in an environment
    that is not activated)."""
    return shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))


def _venv(project: Project, spec: dict[str, Any], manager: str, report: Report) -> Environment:
    uv = _find_uv() if manager == "uv" else None
    if manager == "uv" and uv is None:
        raise ProjectError(
            "--env-manager uv needs uv, which is not installed (pip install uv); "
            "--env-manager virtualenv makes the same environment with pip."
        )
    python = _interpreter(spec.get("python"), manager)
    requirements = list(spec.get("dependencies", []))
    if not any(re.match(r"mltrail\b", r.strip()) for r in requirements):
        requirements.append(_mltrail_requirement())
    # this interpreter by its installation, not by the name it was started as (python,
    # python3, a symlink): the CLI and the Python API share one environment
    made_with = f"{sys.prefix} {sys.version_info[:2]}" if python == sys.executable else python
    folder = cache_root() / _spec_hash(project, spec, manager, f"{made_with} {requirements[-1]}")
    bin_dir = folder / "bin"
    with _locked(folder.with_suffix(".lock")):
        if not (folder / READY).is_file():
            shutil.rmtree(folder, ignore_errors=True)
            report(f"Making the {manager} environment {folder} (once; later runs reuse it).")
            _make_venv(
                folder, python, uv, spec.get("build_dependencies", []), requirements, project
            )
            (folder / READY).write_text("")
    variables = {
        "VIRTUAL_ENV": str(folder),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return Environment(manager, str(bin_dir / "python"), variables)


def _make_venv(
    folder: Path,
    python: str,
    uv: str | None,
    build: list[str],
    requirements: list[str],
    project: Project,
) -> None:
    target = str(folder / "bin" / "python")
    if uv is not None:
        _step([uv, "venv", "--quiet", "--python", python, str(folder)], project, "uv venv")
        install = [uv, "pip", "install", "--quiet", "--python", target]
    else:
        _step([python, "-m", "venv", str(folder)], project, "python -m venv")
        install = [target, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for group, label in ((build, "build_dependencies"), (requirements, "dependencies")):
        if group:
            _step(
                [*install, *(a for r in group for a in r.split())], project, f"installing {label}"
            )


def _step(command: list[str], project: Project, what: str) -> None:
    proc = subprocess.run(command, cwd=project.directory, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise ProjectError(f"Making the environment failed while {what}: {tail}")


def _conda(project: Project, report: Report) -> Environment:
    conda = shutil.which("conda")
    if conda is None:
        alternative = (
            "virtualenv" if project.env_type == PYTHON_ENV and project.env_file else "local"
        )
        raise ProjectError(
            f"--env-manager conda needs conda, which is not installed here; --env-manager "
            f"{alternative} would run this project."
        )
    if project.env_type != CONDA_ENV or project.env_file is None:
        raise ProjectError("--env-manager conda needs a conda_env (conda.yaml) in the project.")
    folder = cache_root() / (
        "conda-" + hashlib.sha256(project.env_file.read_bytes()).hexdigest()[:20]
    )
    with _locked(folder.with_suffix(".lock")):
        if not (folder / READY).is_file():
            shutil.rmtree(folder, ignore_errors=True)
            report(f"Making the conda environment {folder} (once; later runs reuse it).")
            create = [conda, "env", "create", "--quiet", "-p", str(folder)]
            _step([*create, "-f", str(project.env_file)], project, "conda env create")
            (folder / READY).write_text("")
    return Environment(
        "conda", "python", {}, [conda, "run", "--no-capture-output", "-p", str(folder)]
    )


def _docker(project: Project) -> Environment:
    docker = shutil.which("docker")
    if docker is None:
        raise ProjectError(
            "The project runs in docker_env, and docker is not installed here; install it, or "
            "run with --env-manager local to use this Python environment instead."
        )
    assert project.docker_env is not None
    image = str(project.docker_env["image"])
    workdir = "/mlflow/projects/code"
    prefix = [docker, "run", "--rm", "-v", f"{project.directory}:{workdir}", "-w", workdir]
    for volume in project.docker_env.get("volumes") or []:
        prefix += ["-v", str(volume)]
    for item in project.docker_env.get("environment") or []:
        prefix += ["-e", "=".join(map(str, item)) if isinstance(item, list) else str(item)]
    return Environment("docker", "python", {}, [*prefix, image])
