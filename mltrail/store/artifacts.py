"""Run artifacts: small files in the run folder, large ones content-addressed outside git.

A file larger than the store's ``large_artifact_threshold`` (or every file, when the
store sends all to its artifact store) is stored once in a blob store
(:mod:`mltrail.store.blobs`: a folder, or an fsspec URL such as ``s3://``) under its
SHA-256 (``<artifact_store>/sha256/ab/abcdef...``) and the run folder keeps a small YAML
pointer ``<name>.mltrail-pointer`` (hash, size, name), written only once the blob is
stored and verified.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from mltrail.entities import FileInfo
from mltrail.errors import InvalidParameterValue, ResourceNotFound, StoreError
from mltrail.store import formats, layout
from mltrail.store.blobs import Blobs, LocalBlobs, copy_atomic, store_all
from mltrail.store.pointers import Pointer, format_pointer, read_pointer

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


def safe_relpath(path: str | os.PathLike[str] | None, what: str = "artifact path") -> str:
    """``path`` as a clean relative POSIX path, or an error if it could leave its folder."""
    if path is None:
        return ""
    text = os.fspath(path).replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise _bad_path(what, text, "it must be relative to the run's artifacts")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _bad_path(what, text, "'..' would leave the run's artifacts")
    if any("\x00" in p for p in parts):  # checked before any os call sees the path
        raise _bad_path(what, text, "NUL characters are not allowed")
    return "/".join(parts)


def _bad_path(what: str, text: str, why: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Invalid {what} {_clip(text)}: {why}; give a path inside the run's artifacts, "
        "such as 'plots/loss.png'."
    )


def _too_long(what: str, path: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Invalid {what} {_clip(path)}: too long for the file system (each name at most "
        f"{_NAME_MAX} bytes, the whole path a few thousand); use a shorter name or folder."
    )


def _clip(path: str) -> str:
    text = repr(path)
    return text if len(text) <= 120 else f"{text[:100]}...({len(path)} characters)"


#: The longest file name most file systems take, and the longest path Linux takes (bytes).
_NAME_MAX = 255
_PATH_MAX = 4096


@contextmanager
def _name_errors(what: str, path: str) -> Iterator[None]:
    """Turn the OS's 'file name too long' into an error naming ``path``."""
    try:
        yield
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise _too_long(what, path) from e
        raise


def check_name_lengths(rel: str, what: str = "artifact path") -> str:
    """``rel`` itself, or an error if one of its names is longer than file systems allow."""
    for part in rel.split("/"):
        if len(os.fsencode(part)) > _NAME_MAX:
            raise _too_long(what, rel)
    return rel


def _missing_parents(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty: another writer uses it


def _copy_verified(blob: Path, dest: Path, pointer: Pointer, where: str) -> None:
    """Copy a blob to ``dest`` checking its SHA-256; a mismatch leaves no ``dest``."""
    h = hashlib.sha256()
    tmp = dest.with_name(f".mltrail-{uuid.uuid4().hex}.tmp")
    try:
        with open(blob, "rb") as f, open(tmp, "wb") as out:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != pointer.sha256:
            raise StoreError(
                f"The content of {where} in the artifact store ({blob}) does not match its "
                f"sha256 {pointer.sha256}: the artifact store is damaged; fetch that file again."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


class RunArtifacts:
    """The artifacts of one run.

    The run folder may come from anyone's clone: symbolic links in it are never followed
    (listings skip them with a warning, reading one is an error) and pointer files are
    checked (:mod:`mltrail.store.pointers`) before their hash names a file.
    """

    def __init__(
        self,
        run_path: Path,
        blobs: Blobs | Path,
        threshold: int,
        *,
        all_to_store: bool = False,
        offline: bool = False,
    ) -> None:
        self.base = run_path / layout.ARTIFACTS_DIR
        #: Where large artifacts' bytes go (a folder is a :class:`LocalBlobs`).
        self.blobs = LocalBlobs(blobs) if isinstance(blobs, Path) else blobs
        self.threshold = threshold
        #: Every file goes to the blob store, however small (``artifact_store_files: all``).
        self.all_to_store = all_to_store
        #: Never reach a remote blob store: its blobs read as absent (the site's default).
        self.offline = offline

    def goes_to_store(self, size: int) -> bool:
        """Whether a file of ``size`` bytes is kept in the blob store (behind a pointer)."""
        return self.all_to_store or size > self.threshold

    def _target(self, rel: str) -> Path:
        if self.base.is_symlink():
            raise _link_error(self.base)
        target = self.base / rel if rel else self.base
        base = self.base.resolve()
        try:
            resolved = target.resolve()
        except RuntimeError:  # a symlink loop (Python < 3.13)
            resolved = Path("/")
        if resolved != base and base not in resolved.parents:
            link = next((p for p in (target, *target.parents) if p.is_symlink()), target)
            raise _link_error(link)
        return target

    def local_path(self, path: str | None) -> Path:
        """Where artifact file or folder ``path`` is in the run folder (checked to stay in it)."""
        return self._target(safe_relpath(path))

    def exists(self, path: str | None) -> bool:
        """Whether artifact file or folder ``path`` was logged (a large one: its pointer is
        there and valid; its content may still be absent from the artifact store)."""
        target = self.local_path(path)
        if target.is_symlink():
            raise _link_error(target)
        if target.is_dir() or target.is_file():
            return True
        pointer_path = target.with_name(target.name + layout.POINTER_SUFFIX)
        if pointer_path.is_symlink():
            raise _link_error(pointer_path)
        if not pointer_path.is_file():
            return False
        read_pointer(pointer_path)  # an invalid one is an error naming it
        return True

    def log_file(
        self, local_path: Path, artifact_path: str | None = None, name: str | None = None
    ) -> str:
        """Store one local file; return its artifact path."""
        if not local_path.is_file():
            raise ResourceNotFound(f"Cannot log artifact {str(local_path)!r}: no such file.")
        rel = self._checked_rel(artifact_path, name or local_path.name)
        stored = {}
        if self.goes_to_store(local_path.stat().st_size):
            stored = store_all(self.blobs, [local_path])  # before anything is written
        return self._place(local_path, rel, stored.get(local_path))

    def _place(self, local_path: Path, rel: str, digest: str | None) -> str:
        """Write ``local_path`` at ``rel``: a copy, or (``digest``: its stored blob) a pointer."""
        with _name_errors("artifact path", rel):
            dest = self._target(rel)
            created = _missing_parents(dest.parent)
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                self._write(local_path, dest, digest)
            except OSError:
                _remove_empty(created)  # nothing half-written: not even empty folders
                raise
        return rel

    def _checked_rel(self, artifact_path: str | None, name: str) -> str:
        """The artifact path of file ``name`` in folder ``artifact_path``, or an error
        naming it (it would leave the run, or it is too long for the file system)."""
        rel = safe_relpath(PurePosixPath(safe_relpath(artifact_path)) / name)
        if rel.endswith(layout.POINTER_SUFFIX):
            raise InvalidParameterValue(
                f"Invalid artifact name {rel!r}: the suffix {layout.POINTER_SUFFIX} is reserved."
            )
        check_name_lengths(rel)
        if len(os.fsencode(self.base / rel)) + len(layout.POINTER_SUFFIX) >= _PATH_MAX:
            raise _too_long("artifact path", rel)
        return rel

    def _write(self, local_path: Path, dest: Path, digest: str | None) -> None:
        pointer_path = dest.with_name(dest.name + layout.POINTER_SUFFIX)
        size = local_path.stat().st_size
        if digest is None:
            copy_atomic(local_path, dest)
            try:
                pointer_path.unlink(missing_ok=True)  # the file replaces a large one
            except OSError as e:
                if e.errno != errno.ENAMETOOLONG:  # then there cannot be such a pointer
                    raise
            return
        formats.write_atomic(pointer_path, format_pointer(Pointer(digest, size, dest.name)))
        dest.unlink(missing_ok=True)

    def log_dir(self, local_dir: Path, artifact_path: str | None = None) -> list[str]:
        if not local_dir.is_dir():
            raise ResourceNotFound(
                f"Cannot log artifacts from {str(local_dir)!r}: no such directory."
            )
        prefix = safe_relpath(artifact_path)
        todo = []
        for root, dirs, files in os.walk(local_dir):
            dirs.sort()
            sub = Path(root).relative_to(local_dir).as_posix()
            dest_dir = "/".join(p for p in (prefix, "" if sub == "." else sub) if p)
            for name in sorted(files):
                rel = self._checked_rel(dest_dir, name)  # all checked before any is written
                todo.append((Path(root) / name, rel))
        large = [local for local, _ in todo if self.goes_to_store(local.stat().st_size)]
        stored = store_all(self.blobs, large)  # all uploaded and verified, in parallel
        return [self._place(local, rel, stored.get(local)) for local, rel in todo]

    def write_bytes(self, artifact_file: str, data: bytes) -> str:
        rel = safe_relpath(artifact_file, "artifact file")
        if not rel:
            raise InvalidParameterValue(
                "Invalid artifact file '': give a file name such as 'notes.txt'."
            )
        check_name_lengths(rel, "artifact file")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / PurePosixPath(rel).name
            local.write_bytes(data)
            parent = str(PurePosixPath(rel).parent)
            return self.log_file(local, None if parent == "." else parent)

    def blob_path(self, digest: str) -> Path:
        """Where the content with SHA-256 ``digest`` is kept, for a local blob store."""
        if not isinstance(self.blobs, LocalBlobs):
            raise StoreError(f"The artifact store of {self.base.parent} is not a local folder.")
        return self.blobs.path(digest)

    def list_dir(self, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly in artifact folder ``path``.

        A symbolic link or an invalid pointer costs only its own entry: it is left out
        with a warning naming it.
        """
        rel = safe_relpath(path)
        target = self._target(rel)
        if not target.is_dir():
            return []
        infos = []
        for entry in sorted(os.scandir(target), key=lambda e: e.name):
            try:
                info = self._info(rel, entry)
            except StoreError as e:
                log.warning("Skipped an artifact: %s", e)
                continue
            if info is not None:
                infos.append(info)
        return infos

    def _info(self, rel: str, entry: os.DirEntry[str]) -> FileInfo | None:
        child = f"{rel}/{entry.name}" if rel else entry.name
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            return None
        if entry.is_symlink():
            raise _link_error(Path(entry.path))
        if entry.is_dir(follow_symlinks=False):
            return FileInfo(child, True, None)
        if not entry.is_file(follow_symlinks=False):
            raise StoreError(f"{entry.path} is not a regular file or folder.")
        if entry.name.endswith(layout.POINTER_SUFFIX):
            pointer = read_pointer(Path(entry.path))
            return FileInfo(child[: -len(layout.POINTER_SUFFIX)], False, pointer.size)
        return FileInfo(child, False, entry.stat(follow_symlinks=False).st_size)

    def download(self, path: str | None, dst: Path) -> Path:
        """Copy the artifact file or folder ``path`` into ``dst``; return the local copy.

        In a folder, links and invalid pointers are skipped with a warning; asking for
        one of them by name is an error naming it.
        """
        rel = safe_relpath(path)
        src = self._target(rel)
        out = dst / rel if rel else dst
        with _name_errors("artifact path", rel):
            if src.is_dir() and not src.is_symlink():
                for info in self._walk(rel):
                    self.download(info, dst)
                out.mkdir(parents=True, exist_ok=True)
                return out
            source, pointer = self._source(rel, src)
            if source is None:
                raise ResourceNotFound(
                    f"Artifact {rel!r} is stored as "
                    f"{self.blobs.uri(pointer.sha256) if pointer else rel}, but that file is "
                    "missing there; fetch the artifact store or point the store's "
                    "`artifact_store` setting at a copy."
                )
            out.parent.mkdir(parents=True, exist_ok=True)
            if pointer is None:
                copy_atomic(source, out)
            else:
                _copy_verified(source, out, pointer, f"artifact {rel!r}")
        return out

    def _pointer(self, rel: str, src: Path) -> Pointer | None:
        """The checked pointer of file ``rel`` (None: it is a plain file in the run folder)."""
        if src.is_symlink():
            raise _link_error(src)
        if src.is_file():
            return None
        pointer_path = src.with_name(src.name + layout.POINTER_SUFFIX)
        if pointer_path.is_symlink():
            raise _link_error(pointer_path)
        if not pointer_path.is_file():
            raise ResourceNotFound(f"No artifact {rel!r} in run folder {self.base.parent}.")
        return read_pointer(pointer_path)

    def _source(self, rel: str, src: Path) -> tuple[Path | None, Pointer | None]:
        """The file holding ``rel``'s bytes (None: its blob is absent) and its pointer.

        A blob in a remote store is fetched into the local cache (verified) first.
        """
        pointer = self._pointer(rel, src)
        if pointer is None:
            return src, None
        if self.offline and self.blobs.remote:
            return None, pointer
        return self.blobs.fetch(pointer.sha256, pointer.size), pointer

    def remote_uri(self, path: str) -> str | None:
        """The URL of artifact ``path``'s blob if it lives in a remote store, else None.

        Reads only the run folder (no network): the site shows this for remote blobs.
        """
        if not self.blobs.remote:
            return None
        rel = safe_relpath(path)
        pointer = self._pointer(rel, self._target(rel))
        return None if pointer is None else self.blobs.uri(pointer.sha256)

    def content_path(self, path: str) -> Path | None:
        """The file holding artifact ``path``'s bytes (its blob for a pointer); None if absent.

        A link or an invalid pointer is an error naming it (never followed, never used).
        """
        rel = safe_relpath(path)
        return self._source(rel, self._target(rel))[0]

    def _walk(self, rel: str) -> list[str]:
        """Every file under folder ``rel`` (without recursion: a store may nest deeply)."""
        files: list[str] = []
        folders = [rel]
        while folders:
            for info in self.list_dir(folders.pop()):
                (folders if info.is_dir else files).append(info.path)
        return sorted(files)


def _link_error(path: Path) -> StoreError:
    return StoreError(
        f"{path} is a symbolic link; mltrail never follows links in a store (they could point "
        "anywhere on this machine). Replace it with the file itself, or remove it."
    )
