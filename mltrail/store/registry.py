"""The model registry on disk: ``models/<model dir>/``, one small YAML file per record.

``model.yaml`` holds what belongs to the model (name, description, tags); each version is
``versions/<version id>.yaml`` (a unique, time-sortable id: two clones registering at once
write different files); each alias is ``aliases/<alias>.yaml``.  A deleted version keeps
its file with ``deleted_timestamp`` set (a tombstone), so its number is never reused.
See docs/FORMAT.md, "Model registry".
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mltrail.errors import CorruptedRecord
from mltrail.store import formats, layout, locks

STAGES = ("None", "Staging", "Production", "Archived")
_CACHE_LIMIT = 100_000


@dataclass(frozen=True)
class ModelRecord:
    """``model.yaml``: absent for a model created by its first registration."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description,
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class VersionRecord:
    """``versions/<version_id>.yaml``: one registration, pointing at a run's artifacts."""

    version_id: str
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    source: str
    run_id: str | None
    current_stage: str = "None"
    description: str = ""
    user_id: str = ""
    run_link: str | None = None
    status: str = "READY"
    tags: dict[str, str] = field(default_factory=dict)
    deleted_timestamp: int | None = None
    #: The logged model (MLflow 3) registered, when the source is one; absent otherwise.
    model_id: str | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_timestamp is not None

    def to_record(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "name": self.name,
            "version": self.version,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "source": self.source,
            "run_id": self.run_id,
            "current_stage": self.current_stage,
            "description": self.description,
            "user_id": self.user_id,
            "run_link": self.run_link,
            "status": self.status,
            "tags": dict(self.tags),
            "deleted_timestamp": self.deleted_timestamp,
            **({"model_id": self.model_id} if self.model_id is not None else {}),
        }


@dataclass(frozen=True)
class AliasRecord:
    """``aliases/<alias>.yaml``: the version is found by ``version_id`` (it survives a
    renumbering); ``version`` is for people reading the file, and for hand-written ones."""

    alias: str
    version: int
    version_id: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {"alias": self.alias, "version": self.version, "version_id": self.version_id}


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key!r} must be an integer, not {value!r}")
    return value


def _opt_int(value: Any, key: str) -> int | None:
    return None if value is None else _int(value, key)


def _text(value: Any, key: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be text, not {value!r}")
    return value


def _opt_text(value: Any, key: str) -> str | None:
    return None if value is None else _text(value, key)


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"'tags' must be a mapping, not {value!r}")
    return {str(k): str(v) for k, v in value.items()}


def model_from_record(path: Path, rec: dict[str, Any]) -> ModelRecord:
    try:
        return ModelRecord(
            name=_text(rec["name"], "name"),
            creation_timestamp=_int(rec["creation_timestamp"], "creation_timestamp"),
            last_updated_timestamp=_int(
                rec.get("last_updated_timestamp", rec["creation_timestamp"]),
                "last_updated_timestamp",
            ),
            description=_text(rec.get("description"), "description", ""),
            tags=_tags(rec.get("tags")),
        )
    except (KeyError, TypeError) as e:
        raise CorruptedRecord(f"{path}: registered model record is malformed ({e}).") from e


def version_from_record(path: Path, rec: dict[str, Any]) -> VersionRecord:
    try:
        stage = _text(rec.get("current_stage"), "current_stage", "None")
        if stage not in STAGES:
            raise TypeError(f"'current_stage' must be one of {', '.join(STAGES)}, not {stage!r}")
        created = _int(rec["creation_timestamp"], "creation_timestamp")
        return VersionRecord(
            version_id=_text(rec.get("version_id"), "version_id", path.stem),
            name=_text(rec["name"], "name"),
            version=_int(rec["version"], "version"),
            creation_timestamp=created,
            last_updated_timestamp=_int(
                rec.get("last_updated_timestamp", created), "last_updated_timestamp"
            ),
            source=_text(rec["source"], "source"),
            run_id=_opt_text(rec.get("run_id"), "run_id"),
            current_stage=stage,
            description=_text(rec.get("description"), "description", ""),
            user_id=_text(rec.get("user_id"), "user_id", ""),
            run_link=_opt_text(rec.get("run_link"), "run_link"),
            status=_text(rec.get("status"), "status", "READY"),
            tags=_tags(rec.get("tags")),
            deleted_timestamp=_opt_int(rec.get("deleted_timestamp"), "deleted_timestamp"),
            model_id=_opt_text(rec.get("model_id"), "model_id"),
        )
    except (KeyError, TypeError) as e:
        raise CorruptedRecord(f"{path}: model version record is malformed ({e}).") from e


def alias_from_record(path: Path, rec: dict[str, Any]) -> AliasRecord:
    try:
        return AliasRecord(
            alias=_text(rec.get("alias"), "alias", path.stem),
            version=_int(rec["version"], "version"),
            version_id=_opt_text(rec.get("version_id"), "version_id"),
        )
    except (KeyError, TypeError) as e:
        raise CorruptedRecord(f"{path}: model alias record is malformed ({e}).") from e


def _records(folder: Path) -> list[Path]:
    """The record files of a folder (in-progress ``.*.tmp`` writes and others skipped)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [folder / n for n in sorted(names) if n.endswith(layout.RECORD_SUFFIX) and n[0] != "."]


#: Told about each unreadable record a tolerant read leaves out.
Skip = Callable[[CorruptedRecord], None]
_Record = TypeVar("_Record")


def _read_all(folder: Path, read: Callable[[Path], _Record], skip: Skip | None) -> list[_Record]:
    found = []
    for path in _records(folder):
        try:
            found.append(read(path))
        except FileNotFoundError:  # removed meanwhile
            continue
        except CorruptedRecord as e:
            if skip is None:
                raise
            skip(e)
    return found


_Named = TypeVar("_Named", ModelRecord, VersionRecord)


def _in_folder(model_path: Path, record: _Named, path: Path) -> _Named:
    """``record``, if the model it names is the one of its folder (else the listing
    would show it under another model's name)."""
    if layout.model_dirname(record.name) != model_path.name:
        raise CorruptedRecord(
            f"{path}: names the model {record.name!r}, whose folder is "
            f"{layout.model_dirname(record.name)!r}, not {model_path.name!r}; fix or move it."
        )
    return record


def _read_alias(path: Path) -> AliasRecord:
    return alias_from_record(path, formats.read_mapping(path, missing_ok=False))


@dataclass(frozen=True)
class _Cached:
    """A parsed version record: the file's identity, when and what bytes were read."""

    sig: tuple[int, int, int]
    read_ns: int
    digest: bytes
    record: VersionRecord


class RegistryFiles:
    """Reads and writes the registry records of the store rooted at ``root``.

    One per store object (``FileStore.registry_files``), as the run index is: it keeps the
    parsed version records by path and file identity (records are replaced by rename, so
    a change gives a new inode), derived and bounded, for every reader of that store.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._versions: dict[Path, _Cached] = {}

    # -- models --------------------------------------------------------------------
    def model_path(self, name: str) -> Path:
        return layout.model_dir(self.root, name)

    def model_paths(self) -> list[Path]:
        base = self.root / layout.MODELS_DIR
        try:
            names = sorted(os.listdir(base))
        except FileNotFoundError:
            return []
        return [base / n for n in names if n[0] != "." and (base / n).is_dir()]

    def read_model(self, model_path: Path) -> ModelRecord | None:
        path = model_path / layout.MODEL_FILE
        try:
            rec = formats.read_mapping(path, missing_ok=False)
        except FileNotFoundError:
            return None
        return _in_folder(model_path, model_from_record(path, rec), path)

    def write_model(self, model_path: Path, record: ModelRecord) -> Path:
        path = model_path / layout.MODEL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        formats.write_yaml(path, record.to_record())
        return path

    def remove_model(self, model_path: Path) -> None:
        shutil.rmtree(model_path)

    # -- versions --------------------------------------------------------------------
    def read_versions(self, model_path: Path, skip: Skip | None = None) -> list[VersionRecord]:
        """Every version record of a model, tombstones included, in file-name order.

        ``skip``: called with the error of each unreadable record, which is left out
        (without it, the first unreadable record raises :class:`CorruptedRecord`).
        """
        return _read_all(model_path / layout.VERSIONS_DIR, self._read_version, skip)

    def _read_version(self, path: Path) -> VersionRecord:
        """The version record at ``path``, parsed again only when its bytes changed.

        An entry is trusted on the file's identity alone (inode, time, size) when it was
        read well after the file's last change: a rewrite in the same clock tick as the
        read could otherwise keep all three. Else the bytes are read and compared by
        digest, which is always safe and still skips the YAML parse (a registry change
        re-reads the versions it has just written).
        """
        st = os.stat(path)
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        now = time.time_ns()
        hit = self._versions.get(path)
        if hit is not None and hit.sig == sig and hit.read_ns - layout.RACY_NS > st.st_mtime_ns:
            return hit.record
        data = formats.read_bytes(path, limit=formats.MAX_RECORD_BYTES)
        digest = hashlib.blake2b(data, digest_size=16).digest()
        if hit is not None and hit.digest == digest:
            record = hit.record
        else:
            record = version_from_record(
                path, formats.as_mapping(path, formats.parse_record(path, data))
            )
            _in_folder(path.parent.parent, record, path)
        if len(self._versions) >= _CACHE_LIMIT:
            self._versions.clear()
        self._versions[path] = _Cached(sig, now, digest, record)
        return record

    def write_version(self, model_path: Path, record: VersionRecord) -> Path:
        path = layout.version_file(model_path, record.version_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        formats.write_yaml(path, record.to_record())
        return path

    # -- aliases -----------------------------------------------------------------------
    def read_aliases(self, model_path: Path, skip: Skip | None = None) -> list[AliasRecord]:
        """Every alias record of a model; ``skip`` as for :meth:`read_versions`."""
        return _read_all(model_path / layout.ALIASES_DIR, _read_alias, skip)

    def write_alias(self, model_path: Path, record: AliasRecord) -> Path:
        path = layout.alias_file(model_path, record.alias)
        path.parent.mkdir(parents=True, exist_ok=True)
        formats.write_yaml(path, record.to_record())
        return path

    def remove_alias(self, model_path: Path, alias: str) -> Path:
        path = layout.alias_file(model_path, alias)
        path.unlink(missing_ok=True)
        return path

    # -- writers on this machine ----------------------------------------------------------
    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Serialize registry writers of this store on this machine, threads and processes
        (numbers come from a read-then-write).  Clones are reconciled after a merge instead
        (``resolve``)."""
        return locks.hold(self.root, layout.MODELS_DIR)
