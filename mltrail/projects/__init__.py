"""MLflow Projects: run an MLproject's entry point reproducibly as a run of the store.

``mltrail.projects.run(uri, entry_point="main", parameters=None, ...)`` and the CLI's
``mltrail run URI`` (docs/PROJECTS.md): the project is read and checked (``spec``), its code
fetched (``fetch``: a folder, or a git repository at a version), its environment made
(``environments``), and the command run as a run that records where it came from
(``runner``).
"""

from __future__ import annotations

from typing import Any

from mltrail.projects.runner import ExecutionException, RunRequest, SubmittedRun
from mltrail.projects.spec import EntryPoint, Parameter, Project, ProjectError, load_project

__all__ = [
    "EntryPoint",
    "ExecutionException",
    "Parameter",
    "Project",
    "ProjectError",
    "SubmittedRun",
    "load_project",
    "run",
]


def run(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: dict[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    env_manager: str | None = None,
    synchronous: bool = True,
    run_name: str | None = None,
    **ignored: Any,
) -> SubmittedRun:
    """Run the entry point ``entry_point`` of the project at ``uri``, as MLflow's
    ``mlflow.projects.run`` does (local backend only).

    Args:
        uri: a project folder, or a git repository (``https://``, ``git@...``, a path),
            with ``#subdir`` for a project inside it.
        entry_point: an entry point of the MLproject, or a ``.py`` / ``.sh`` file.
        version: a commit, tag or branch of the git repository (checked out into a
            temporary folder).
        parameters: values of the entry point's parameters (others become ``--key value``).
        experiment_name: the experiment of the run (created when missing).
        experiment_id: or its id.
        env_manager: ``local``, ``virtualenv``, ``uv`` or ``conda`` (default: the project's).
        synchronous: wait for the run, and raise ExecutionException when it fails.
        run_name: the run's name.
        ignored: MLflow's ``backend``, ``backend_config``, ``storage_dir`` and
            ``build_image`` are accepted; only the local backend exists.

    Returns:
        The SubmittedRun (``run_id``, ``wait()``, ``get_status()``, ``cancel()``).
    """
    from mltrail.projects import runner

    backend = ignored.pop("backend", "local")
    if backend not in (None, "local"):
        raise ProjectError(f"Only the local backend exists in mltrail; got backend={backend!r}.")
    request = RunRequest(
        uri, entry_point, dict(parameters or {}), experiment_name, experiment_id, run_name,
        env_manager, version,
    )  # fmt: skip
    return runner.run(request, synchronous)
