"""The artifact proxy (``/api/2.0/mlflow-artifacts/artifacts/...``) and ``artifacts/list``.

Paths are ``<experiment>/<run>/artifacts/<path>`` (``locations.py``): every read and write
stays in that run's artifacts, checked by the store's own path rules (no ``..``, no
absolute paths, no symbolic links followed). Uploads stream to a temporary file, then go
in through ``Client.log_artifact``, so large files reach the artifact store as when logged
from Python.
"""

from __future__ import annotations

import asyncio
import mimetypes
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any

from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.server import locations, messages
from mltrail.server.asgi import Receive, body_chunks, too_large
from mltrail.server.messages import Fields
from mltrail.store.artifacts import safe_relpath
from mltrail.tracking.client import Client

_CHUNK = 1 << 20


def list_proxy(client: Client, path: str) -> dict[str, Any]:
    """``GET .../mlflow-artifacts/artifacts?path=``: entries relative to ``path``."""
    run_id, rel = locations.split_proxy_path(path)
    client.get_run(run_id)
    infos = client.list_artifacts(run_id, rel or None)
    return {"files": [messages.file_info(i, rel) for i in infos]}


def list_run(client: Client, f: Fields) -> dict[str, Any]:
    """``GET /api/2.0/mlflow/artifacts/list``: entries relative to the run's artifacts."""
    run_id = f.text("run_id") or f.need("run_uuid")
    run = client.get_run(run_id)
    rel = safe_relpath(f.text("path"))
    out: dict[str, Any] = {
        "root_uri": locations.run_artifact_uri(run.info.experiment_id, run_id),
        "files": [messages.file_info(i) for i in client.list_artifacts(run_id, rel or None)],
    }
    return out


def open_download(client: Client, path: str) -> tuple[Path, str]:
    """The file holding artifact ``path`` and its content type; 404 when there is none."""
    run_id, rel = locations.split_proxy_path(path)
    client.get_run(run_id)
    artifacts = client.store.artifacts(run_id)
    if not rel or artifacts.local_path(rel).is_dir():
        raise InvalidParameterValue(f"Artifact {rel!r} is a folder; list it instead.")
    content = artifacts.content_path(rel)
    if content is None:
        raise ResourceNotFound(f"Artifact {rel!r} of run {run_id} is missing from the store.")
    kind = mimetypes.guess_type(PurePosixPath(rel).name)[0] or "application/octet-stream"
    return content, kind


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        while chunk := await asyncio.to_thread(f.read, _CHUNK):
            yield chunk


async def upload(client: Client, path: str, receive: Receive, limit: int) -> dict[str, Any]:
    """``PUT .../mlflow-artifacts/artifacts/<path>``: the body becomes that artifact."""
    run_id, rel = locations.split_proxy_path(path)
    if not rel:
        raise InvalidParameterValue("Give the artifact's file path after the run's artifacts/.")
    await asyncio.to_thread(client.get_run, run_id)
    target = PurePosixPath(rel)
    with tempfile.TemporaryDirectory(prefix="mltrail-upload-") as tmp:
        local = Path(tmp) / target.name
        size = 0
        with open(local, "wb") as out:
            async for chunk in body_chunks(receive):
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                out.write(chunk)
        parent = str(target.parent)
        await asyncio.to_thread(_log, client, run_id, local, None if parent == "." else parent)
    return {}


def _log(client: Client, run_id: str, local: Path, artifact_path: str | None) -> None:
    client.log_artifact(run_id, local, artifact_path)
    client.store.after_write_if_ended(run_id, "Log artifact")
