"""The fluent API's artifact calls: files, text, dicts, figures and images of a run.

They write to the active run (started on first use, as MLflow's do) or to ``run_id``
where MLflow's take one; the run lifecycle is in :mod:`mltrail.tracking.fluent`.
"""

from __future__ import annotations

import os
from typing import Any

from mltrail.entities import FileInfo
from mltrail.tracking.fluent import _client, _run_client


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local file into the artifacts of the active run (or ``run_id``)."""
    client, rid = _run_client(run_id)
    client.log_artifact(rid, os.fspath(local_path), artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local folder's files into the artifacts of the active run (or ``run_id``)."""
    client, rid = _run_client(run_id)
    client.log_artifacts(rid, os.fspath(local_dir), artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write ``text`` as the artifact ``artifact_file``."""
    client, rid = _run_client(run_id)
    client.log_text(rid, text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Write ``dictionary`` as JSON or YAML (by extension) as the artifact ``artifact_file``."""
    client, rid = _run_client(run_id)
    client.log_dict(rid, dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """Save a matplotlib or plotly figure as the artifact ``artifact_file``."""
    client, rid = _run_client(None)
    client.log_figure(rid, figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    """Save a numpy array or PIL image as the artifact ``artifact_file`` of the active run.

    Or, with ``key`` (and ``step``) instead of ``artifact_file``, one image of a
    step-wise series, stored as MLflow stores it (see ``MlflowClient.log_image``).
    ``synchronous`` has no effect (mltrail always writes synchronously).
    """
    client, rid = _run_client(None)
    client.log_image(rid, image, artifact_file, key, step, timestamp, synchronous=None)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The ``file://`` URI of the active run's artifacts (or of ``artifact_path`` in them)."""
    client, rid = _run_client(None)
    return client.get_artifact_uri(rid, artifact_path)


def list_artifacts(run_id: str, path: str | None = None) -> list[FileInfo]:
    """The artifacts of ``run_id`` under ``path`` (mltrail's own; MLflow has it on the client)."""
    return _client().list_artifacts(run_id, path)
