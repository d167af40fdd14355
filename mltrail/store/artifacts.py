"""Run artifacts: small files in the run folder, large ones content-addressed outside git.

A file larger than the store's ``large_artifact_threshold`` is copied once into the
artifact store under its SHA-256 (``<artifact_store>/sha256/ab/abcdef...``) and the run
folder keeps a small YAML pointer ``<name>.mltrail-pointer`` (hash, size, name).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from mltrail.entities import FileInfo
from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.store import formats, layout

_CHUNK = 1 << 20


def safe_relpath(path: str | os.PathLike[str] | None, what: str = "artifact path") -> str:
    """``path`` as a clean relative POSIX path, or an error if it could leave its folder."""
    if path is None:
        return ""
    text = os.fspath(path).replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise InvalidParameterValue(
            f"Invalid {what} {text!r}: it must be relative to the run's artifacts."
        )
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidParameterValue(
            f"Invalid {what} {text!r}: '..' would leave the run's artifacts."
        )
    if any("\x00" in p for p in parts):
        raise InvalidParameterValue(f"Invalid {what} {text!r}: NUL characters are not allowed.")
    return "/".join(parts)


class RunArtifacts:
    """The artifacts of one run."""

    def __init__(self, run_path: Path, cas_root: Path, threshold: int) -> None:
        self.base = run_path / layout.ARTIFACTS_DIR
        self.cas_root = cas_root
        self.threshold = threshold

    def _target(self, rel: str) -> Path:
        target = self.base / rel if rel else self.base
        base = self.base.resolve()
        resolved = target.resolve()
        if resolved != base and base not in resolved.parents:
            raise InvalidParameterValue(
                f"Invalid artifact path {rel!r}: it resolves outside the run."
            )
        return target

    def log_file(
        self, local_path: Path, artifact_path: str | None = None, name: str | None = None
    ) -> str:
        """Store one local file; return its artifact path."""
        if not local_path.is_file():
            raise ResourceNotFound(f"Cannot log artifact {str(local_path)!r}: no such file.")
        rel = safe_relpath(PurePosixPath(safe_relpath(artifact_path)) / (name or local_path.name))
        if rel.endswith(layout.POINTER_SUFFIX):
            raise InvalidParameterValue(
                f"Invalid artifact name {rel!r}: the suffix {layout.POINTER_SUFFIX} is reserved."
            )
        dest = self._target(rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        size = local_path.stat().st_size
        if size > self.threshold:
            digest = self._store_large(local_path)
            pointer = {"sha256": digest, "size": size, "name": dest.name}
            formats.write_yaml(dest.with_name(dest.name + layout.POINTER_SUFFIX), pointer)
            dest.unlink(missing_ok=True)
        else:
            shutil.copyfile(local_path, dest)
            dest.with_name(dest.name + layout.POINTER_SUFFIX).unlink(missing_ok=True)
        return rel

    def log_dir(self, local_dir: Path, artifact_path: str | None = None) -> list[str]:
        if not local_dir.is_dir():
            raise ResourceNotFound(
                f"Cannot log artifacts from {str(local_dir)!r}: no such directory."
            )
        prefix = safe_relpath(artifact_path)
        logged = []
        for root, dirs, files in os.walk(local_dir):
            dirs.sort()
            sub = Path(root).relative_to(local_dir).as_posix()
            dest_dir = "/".join(p for p in (prefix, "" if sub == "." else sub) if p)
            for name in sorted(files):
                logged.append(self.log_file(Path(root) / name, dest_dir))
        return logged

    def write_bytes(self, artifact_file: str, data: bytes) -> str:
        rel = safe_relpath(artifact_file, "artifact file")
        if not rel:
            raise InvalidParameterValue(
                "Invalid artifact file '': give a file name such as 'notes.txt'."
            )
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / PurePosixPath(rel).name
            local.write_bytes(data)
            parent = str(PurePosixPath(rel).parent)
            return self.log_file(local, None if parent == "." else parent)

    def _store_large(self, local_path: Path) -> str:
        h = hashlib.sha256()
        with open(local_path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        digest = h.hexdigest()
        blob = self.blob_path(digest)
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            tmp = blob.with_name(f".{digest}.{os.getpid()}.tmp")
            shutil.copyfile(local_path, tmp)
            os.replace(tmp, blob)
        return digest

    def blob_path(self, digest: str) -> Path:
        return self.cas_root / "sha256" / digest[:2] / digest

    def list_dir(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relpath(path)
        target = self._target(rel)
        if not target.is_dir():
            return []
        infos = []
        for entry in sorted(os.scandir(target), key=lambda e: e.name):
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                continue
            if entry.is_dir():
                infos.append(FileInfo(child, True, None))
            elif entry.name.endswith(layout.POINTER_SUFFIX):
                pointer = formats.read_mapping(Path(entry.path))
                infos.append(
                    FileInfo(
                        child[: -len(layout.POINTER_SUFFIX)], False, int(pointer.get("size", 0))
                    )
                )
            else:
                infos.append(FileInfo(child, False, entry.stat().st_size))
        return infos

    def download(self, path: str | None, dst: Path) -> Path:
        """Copy the artifact file or folder ``path`` into ``dst``; return the local copy."""
        rel = safe_relpath(path)
        src = self._target(rel)
        out = dst / rel if rel else dst
        if src.is_dir():
            for info in self._walk(rel):
                self.download(info, dst)
            out.mkdir(parents=True, exist_ok=True)
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_file():
            shutil.copyfile(src, out)
            return out
        pointer_path = src.with_name(src.name + layout.POINTER_SUFFIX)
        if not pointer_path.is_file():
            raise ResourceNotFound(f"No artifact {rel!r} in run folder {self.base.parent}.")
        pointer = formats.read_mapping(pointer_path)
        blob = self.blob_path(str(pointer.get("sha256", "")))
        if not blob.is_file():
            raise ResourceNotFound(
                f"Artifact {rel!r} is stored as sha256 {pointer.get('sha256')} in {self.cas_root}, "
                "but that file is missing there; fetch the artifact store or point the store's "
                "`artifact_store` setting at a copy."
            )
        shutil.copyfile(blob, out)
        return out

    def content_path(self, path: str) -> Path | None:
        """The file holding artifact ``path``'s bytes (its blob for a pointer); None if absent."""
        src = self._target(safe_relpath(path))
        if src.is_file():
            return src
        pointer_path = src.with_name(src.name + layout.POINTER_SUFFIX)
        if not pointer_path.is_file():
            raise ResourceNotFound(f"No artifact {path!r} in run folder {self.base.parent}.")
        blob = self.blob_path(str(formats.read_mapping(pointer_path).get("sha256", "")))
        return blob if blob.is_file() else None

    def _walk(self, rel: str) -> list[str]:
        out = []
        for info in self.list_dir(rel):
            out.extend(self._walk(info.path) if info.is_dir else [info.path])
        return out
