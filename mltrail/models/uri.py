"""Model URIs to local model directories.

Accepted: a local path, ``file://`` URIs, ``runs:/<run_id>/<path>`` (an artifact folder
of a run in the store in use) and ``models:/<name>/<version|stage|latest>`` or
``models:/<name>@<alias>`` (resolved by the registry to the version's source, which is
then resolved in turn), or ``models:/<model_id>`` (a logged model: its run's folder).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from mltrail.errors import InvalidParameterValue, ResourceNotFound

if TYPE_CHECKING:
    from mltrail.store import FileStore

_MAX_HOPS = 8


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``(run_id, artifact path)`` of ``runs:/<run_id>/<path>``."""
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidParameterValue(
            f"Invalid URI {uri!r}: use runs:/<run_id>/<artifact path>, e.g. runs:/abc123/model."
        )
    return run_id, path.strip("/")


def runs_uri(run_id: str, artifact_path: str) -> str:
    return f"runs:/{run_id}/{artifact_path}"


def _store(store: FileStore | None) -> FileStore:
    if store is not None:
        return store
    from mltrail.tracking import context

    found: FileStore = context.get_store(create=False)
    return found


def resolve_model_uri(
    uri: str | os.PathLike[str],
    dst_path: str | os.PathLike[str] | None = None,
    store: FileStore | None = None,
) -> Path:
    """The local directory holding the model at ``uri`` (downloaded only when needed)."""
    text = os.fspath(uri)
    for _ in range(_MAX_HOPS):
        if text.startswith("models:"):
            text = _registry_source(text, _store(store))
            continue
        if text.startswith("runs:"):
            parse_runs_uri(text)  # a malformed URI is reported before any store is looked for
            return _run_model_dir(text, _store(store), dst_path)
        return _local_dir(text)
    raise InvalidParameterValue(f"The model URI {os.fspath(uri)!r} refers to itself in a loop.")


def _registry_source(uri: str, store: FileStore) -> str:
    from mltrail.registry.sources import logged_model_source

    logged = logged_model_source(store.root, uri)  # models:/m-<id>: a logged model (MLflow 3)
    if logged is not None:
        return logged[0].uri
    spec = uri[len("models:") :].lstrip("/")
    if not spec:
        raise InvalidParameterValue(
            f"Invalid URI {uri!r}: use models:/<name>/<version>, models:/<name>/<stage>, "
            "models:/<name>/latest or models:/<name>@<alias>."
        )
    from mltrail.registry.uris import model_version_for

    version: Any = model_version_for(store, spec)
    return str(version.source)


def _local_dir(text: str) -> Path:
    parts = urlsplit(text)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
    elif parts.scheme and len(parts.scheme) > 1:
        raise InvalidParameterValue(
            f"Unsupported model URI {text!r}: use a local path, file://, runs:/ or models:/."
        )
    else:
        path = Path(text)
    path = path.expanduser()
    if not path.exists():
        raise ResourceNotFound(f"No model at {text!r}: {path} does not exist.")
    return path.parent if path.is_file() else path


def _run_model_dir(uri: str, store: FileStore, dst_path: str | os.PathLike[str] | None) -> Path:
    from mltrail.models.confine import refuse_links
    from mltrail.store import layout

    run_id, rel = parse_runs_uri(uri)
    artifacts = store.artifacts(run_id)
    folder = artifacts.local_path(rel)  # no '..', absolute path or link out of the run
    if not folder.is_dir():
        listed = ", ".join(i.path for i in artifacts.list_dir(None)) or "none"
        raise ResourceNotFound(
            f"No model at {uri}: run {run_id} has no artifact folder {rel!r} "
            f"(its artifacts: {listed})."
        )
    pointers = any(name.endswith(layout.POINTER_SUFFIX) for _, _, files in os.walk(folder)
                   for name in files)  # fmt: skip
    if not pointers and dst_path is None:
        refuse_links(folder, uri)
        return folder  # every byte is in the run folder: load it in place
    dst = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="mltrail-model-"))
    return artifacts.download(rel, dst)


def download_artifact(uri: str, dst: Path, store: FileStore | None = None) -> Path:
    """Copy a file or folder named by a local path, file:// or runs:/ URI into ``dst``."""
    import shutil

    if uri.startswith("runs:"):
        run_id, rel = parse_runs_uri(uri)
        return _store(store).artifacts(run_id).download(rel, dst)
    parts = urlsplit(uri)
    src = Path(unquote(parts.path)) if parts.scheme == "file" else Path(uri).expanduser()
    if not src.exists():
        raise ResourceNotFound(f"No artifact at {uri!r}: {src} does not exist.")
    target = dst / src.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, target)
    else:
        shutil.copyfile(src, target)
    return target
