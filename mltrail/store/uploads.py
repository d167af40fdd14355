"""Artifacts to upload before a push: the step of `mltrail sync` between integrating the
remote's commits and pushing.

An artifact logged to a remote artifact store (a bucket) is uploaded and verified when it
is logged, so its pointer never names a missing blob. A pointer can still name a blob
that only this machine has: one logged while the store's `artifact_store` (or its
experiment's `artifact_location`) was a local folder, before the store moved to a bucket.
Pushing it would share a pointer nobody else can read, so before each push the pointers
the push adds are checked against their artifact store: a blob found missing there is
uploaded from this machine (the store's local blob folder or its cache of fetched blobs,
verified as at log time), and a blob that is nowhere stops the sync before anything is
pushed. A local artifact store is not shared by git at all: its pointers are left as
they are (docs/TEAMS.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from mltrail.errors import StoreError
from mltrail.store import blobs, layout
from mltrail.store.pointers import read_pointer


class UploadingStore(Protocol):
    """What the upload step needs of a store (a :class:`~mltrail.store.FileStore`)."""

    root: Path

    def run_blob_store(self, run_path: Path) -> blobs.Blobs: ...


def upload_pending_artifacts(store: UploadingStore, pointer_files: Iterable[Path]) -> int:
    """Make every pointer of ``pointer_files`` (the pointer files a push adds) name a blob
    that its artifact store holds; how many blobs were uploaded.

    Raises:
        StoreError: a blob is in neither its artifact store nor on this machine, or the
            artifact store cannot be reached: nothing may be pushed.
    """
    uploaded = 0
    for path in pointer_files:
        if not path.name.endswith(layout.POINTER_SUFFIX) or not path.is_file():
            continue
        run_path = _run_folder(path)
        if run_path is None:
            continue
        target = store.run_blob_store(run_path)
        if not target.remote:
            continue
        pointer = read_pointer(path)
        if target.holds(pointer.sha256, pointer.size):
            continue
        local = _local_copy(store, pointer.sha256, pointer.size)
        if local is None:
            raise StoreError(
                f"{path} points at {target.uri(pointer.sha256)}, which is missing, and this "
                "machine has no copy to upload; log that artifact again (or delete its "
                "run), then sync: nothing was pushed."
            )
        target.put(local, pointer.sha256, pointer.size)
        uploaded += 1
    return uploaded


def _run_folder(pointer: Path) -> Path | None:
    """The run folder holding ``pointer`` (the parent of its ``artifacts`` folder)."""
    for folder in pointer.parents:
        if folder.name == layout.ARTIFACTS_DIR:
            return folder.parent
    return None


def _local_copy(store: UploadingStore, digest: str, size: int) -> Path | None:
    """This machine's copy of a blob: the store's local blob folder, then its cache."""
    for folder in (store.root / layout.DEFAULT_ARTIFACT_STORE, blobs.cache_folder(store.root)):
        local = blobs.LocalBlobs(folder)
        if local.holds(digest, size):
            return local.path(digest)
    return None
