"""Copying an MLflow run's (or logged model's) artifact files into a run of the store."""

from __future__ import annotations

import shutil
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from mltrail.errors import MltrailError
from mltrail.interop.records import BadRun
from mltrail.interop.report import ImportReport

if TYPE_CHECKING:
    from pathlib import Path

    from mltrail.store import FileStore


def copy_artifacts(
    store: FileStore,
    run_id: str,
    found: Any,
    prefix: str,
    report: ImportReport,
    scratch: Path,
) -> int:
    """Copy artifacts into the run with mltrail's artifact writer (large ones go to the
    artifact store); each one that fails is reported and costs only itself."""
    arts = store.artifacts(run_id)
    copied = 0
    for art in found:
        if isinstance(art, BadRun):
            report.skip(f"artifact {art.where} of run {run_id}", art.why)
            continue
        rel = PurePosixPath(prefix, art.path) if prefix else PurePosixPath(art.path)
        try:
            check_room(store, art.size)
            with art.local(scratch) as local:
                parent = str(rel.parent)
                arts.log_file(local, None if parent == "." else parent, rel.name)
        except (MltrailError, OSError, ValueError) as e:
            report.skip(f"artifact {str(rel)!r} of run {run_id}", str(e))
            continue
        copied += 1
        report.artifacts += 1
        report.artifact_bytes += art.size or 0
    return copied


def check_room(store: FileStore, size: int | None) -> None:
    """Refuse a file larger than the free space where it would go (an absurd size)."""
    if size is None:
        return
    free = shutil.disk_usage(store.root).free
    if size > free:
        raise ValueError(f"{size} bytes, more than the {free} bytes free in the store")
