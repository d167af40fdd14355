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
    """Copy a local file or folder into the artifacts of the active run (or of ``run_id``).

    Small files are copied into the run's folder in the store and committed with it; a
    file above the store's size threshold goes to its content-addressed artifact store,
    with a small pointer file committed instead (MLflow has no such split).

    Args:
        local_path: the file to copy; a folder is copied whole under its own name (as
            MLflow does; ``log_artifacts`` copies a folder's contents instead).
        artifact_path: the artifact folder to put it in (default: the top).
        run_id: the run to log to instead of the active one.

    Example:
        >>> import mltrail
        >>> with open("notes.txt", "w") as f:
        ...     _ = f.write("trained on the March data")
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_artifact("notes.txt", artifact_path="docs")
        >>> [f.path for f in mltrail.list_artifacts(run.info.run_id, "docs")]
        ['docs/notes.txt']
    """
    client, rid = _run_client(run_id)
    client.log_artifact(rid, os.fspath(local_path), artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy the files of a local folder, sub-folders included, into the run's artifacts.

    Args:
        local_dir: the folder whose contents are copied (not the folder itself).
        artifact_path: the artifact folder to put them in (default: the top).
        run_id: the run to log to instead of the active one.

    Example:
        >>> import mltrail, os
        >>> os.makedirs("report/plots")
        >>> for name in ("report/summary.md", "report/plots/loss.csv"):
        ...     with open(name, "w") as f:
        ...         _ = f.write("...")
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_artifacts("report", artifact_path="report")
        >>> [f.path for f in mltrail.list_artifacts(run.info.run_id, "report")]
        ['report/plots', 'report/summary.md']
    """
    client, rid = _run_client(run_id)
    client.log_artifacts(rid, os.fspath(local_dir), artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write ``text`` as an artifact file of the active run (or of ``run_id``).

    Args:
        text: the file's contents (written as UTF-8).
        artifact_file: the artifact's path, e.g. ``"notes/summary.md"``.
        run_id: the run to log to instead of the active one.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_text("converged after 40 epochs", "notes/summary.txt")
        >>> [f.path for f in mltrail.list_artifacts(run.info.run_id, "notes")]
        ['notes/summary.txt']
    """
    client, rid = _run_client(run_id)
    client.log_text(rid, text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Write ``dictionary`` as a JSON or YAML artifact file, chosen by its extension.

    A name ending in ``.yaml`` or ``.yml`` is written as YAML, any other as indented JSON.

    Args:
        dictionary: what to write (anything JSON or YAML can represent).
        artifact_file: the artifact's path, e.g. ``"config.yaml"``.
        run_id: the run to log to instead of the active one.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_dict({"layers": [64, 32]}, "config.yaml")
        >>> path = mltrail.Client().download_artifacts(run.info.run_id, "config.yaml")
        >>> print(open(path).read())
        layers:
        - 64
        - 32
    """
    client, rid = _run_client(run_id)
    client.log_dict(rid, dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """Save a matplotlib or plotly figure as an artifact of the active run.

    The format follows the file's extension (``.png``, ``.svg``, ``.pdf`` ...; ``.html``
    for a plotly figure).

    Args:
        figure: a matplotlib ``Figure`` or a plotly figure.
        artifact_file: the artifact's path, e.g. ``"plots/loss.png"``.
        save_kwargs: extra arguments for ``savefig`` (matplotlib) or ``write_image`` /
            ``to_html`` (plotly).

    Example:
        >>> import mltrail
        >>> from matplotlib.figure import Figure
        >>> figure = Figure()
        >>> _ = figure.subplots().plot([0.9, 0.5, 0.4])
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_figure(figure, "plots/loss.png")
        >>> [f.path for f in mltrail.list_artifacts(run.info.run_id, "plots")]
        ['plots/loss.png']
    """
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
    """Save a numpy array or PIL image as an artifact of the active run.

    With ``artifact_file``, one image file; with ``key`` (and ``step``) instead, one image
    of a step-wise series, stored under ``images/`` with the file names MLflow uses (see
    ``Client.log_image``).

    Args:
        image: a PIL image, or a numpy array (height x width, x 3 or x 4 channels) of
            ``uint8`` or of floats in [0, 1].
        artifact_file: the artifact's path, e.g. ``"samples/digit.png"``.
        key: the name of a step-wise image series (instead of ``artifact_file``).
        step: the step of this image in the series (default 0).
        timestamp: milliseconds since the epoch of this image in the series (default: now).
        synchronous: no effect: mltrail always writes synchronously.

    Example:
        >>> import mltrail
        >>> import numpy as np
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "samples/black.png")
        >>> [f.path for f in mltrail.list_artifacts(run.info.run_id, "samples")]
        ['samples/black.png']
    """
    client, rid = _run_client(None)
    client.log_image(rid, image, artifact_file, key, step, timestamp, synchronous=None)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """Return the ``file://`` URI of the active run's artifacts, or of one path in them.

    Args:
        artifact_path: a path inside the artifacts (default: their top folder).

    Returns:
        A ``file://`` URI inside the store (MLflow's may be a remote URI).

    Example:
        >>> import mltrail
        >>> with mltrail.start_run():
        ...     mltrail.get_artifact_uri("model")
        'file:///.../artifacts/model'
    """
    client, rid = _run_client(None)
    return client.get_artifact_uri(rid, artifact_path)


def list_artifacts(run_id: str, path: str | None = None) -> list[FileInfo]:
    """List the files and folders directly inside an artifact folder of a run.

    mltrail's own addition: MLflow has ``list_artifacts`` only on the client (and in
    ``mlflow.artifacts``).

    Args:
        run_id: the run.
        path: the artifact folder to list (default: the top).

    Returns:
        A ``FileInfo`` (path from the artifacts' top, ``is_dir``, ``file_size``) for each
        entry, sorted by name; an empty list for a missing folder.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_text("hello", "greeting.txt")
        >>> mltrail.list_artifacts(run.info.run_id)
        [FileInfo(path='greeting.txt', is_dir=False, file_size=5)]
    """
    return _client().list_artifacts(run_id, path)
