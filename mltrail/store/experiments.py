"""Experiments on disk: ``experiments/<id>/experiment.yaml``."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from mltrail import validation
from mltrail.entities import Experiment, LifecycleStage, ViewType
from mltrail.errors import (
    CorruptedRecord,
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from mltrail.store import formats, layout

log = logging.getLogger(__name__)
NOTE_TAG = "mltrail.note.content"
MLFLOW_NOTE_TAG = "mlflow.note.content"


class ExperimentStore:
    """Create, read and change the experiments of a store rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Parsed records keyed by file identity; records are replaced by rename, so a
        # change gives a new inode. Times within the racy window are not trusted.
        self._cache: dict[Path, tuple[tuple[int, int, int], Experiment]] = {}
        #: (file, problem) already warned about by ``list``.
        self._warned: set[tuple[Path, str]] = set()

    def _path(self, experiment_id: str) -> Path:
        eid = str(experiment_id)
        if not eid or not eid.isdigit():
            raise ResourceNotFound(
                f"No experiment with id {eid!r} (experiment ids are numbers; "
                "see `mltrail experiments list`)."
            )
        return layout.experiment_dir(self.root, eid) / layout.EXPERIMENT_FILE

    def _load(self, path: Path) -> Experiment:
        st = os.stat(path)
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = self._cache.get(path)
        if hit is not None and hit[0] == sig:
            return hit[1]
        exp = self._parse(path)
        if st.st_mtime_ns < time.time_ns() - layout.RACY_NS:
            self._cache[path] = (sig, exp)
        return exp

    def _parse(self, path: Path) -> Experiment:
        rec = formats.read_mapping(path, missing_ok=False)
        try:
            return self._experiment(path, rec)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CorruptedRecord(
                f"{path}: experiment record is missing or has a bad field ({e}); "
                "fix or remove the file."
            ) from e

    def _experiment(self, path: Path, rec: dict[str, Any]) -> Experiment:
        """The record's fields, checked: a store cloned from others may hold anything."""
        eid = _field(rec, "experiment_id", (str, int))
        if str(eid) != path.parent.name:
            raise ValueError(f"'experiment_id' {eid!r} is not its folder's name")
        try:
            name = validation.validate_experiment_name(_field(rec, "name", str))
        except InvalidParameterValue as e:
            raise ValueError(str(e)) from e
        stage = rec.get("lifecycle_stage", LifecycleStage.ACTIVE)
        if stage not in (LifecycleStage.ACTIVE, LifecycleStage.DELETED):
            raise ValueError(f"'lifecycle_stage' must be active or deleted, not {stage!r}")
        tags = {str(k): str(v) for k, v in _optional(rec, "tags", dict, {}).items()}
        description = str(_optional(rec, "description", str, ""))
        if description:
            tags[MLFLOW_NOTE_TAG] = description
        return Experiment(
            experiment_id=str(eid),
            name=name,
            artifact_location=(self.root / layout.RUNS_DIR).as_uri(),
            lifecycle_stage=stage,
            tags=tags,
            creation_time=_optional(rec, "creation_time", int, None),
            last_update_time=_optional(rec, "last_update_time", int, None),
            description=description,
        )

    def get(self, experiment_id: str) -> Experiment:
        path = self._path(experiment_id)
        try:
            return self._load(path)
        except FileNotFoundError:
            raise ResourceNotFound(
                f"No experiment with id {experiment_id!r}; see `mltrail experiments list`."
            ) from None

    def list(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        """The experiments in ``view_type``, oldest id first; unreadable records are skipped
        with a warning naming the file (``get`` of that id raises :class:`CorruptedRecord`)."""
        stages = ViewType.stages(view_type)
        found = []
        base = self.root / layout.EXPERIMENTS_DIR
        names = sorted(os.listdir(base), key=lambda n: (len(n), n)) if base.is_dir() else []
        for name in names:
            path = base / name / layout.EXPERIMENT_FILE
            if name.isdigit() and path.is_file():
                exp = self._load_or_warn(path)
                if exp is not None and exp.lifecycle_stage in stages:
                    found.append(exp)
        return found

    def _load_or_warn(self, path: Path) -> Experiment | None:
        try:
            return self._load(path)
        except CorruptedRecord as e:
            key = (path, str(e))
            if key not in self._warned:  # once per problem: list() runs on every lookup
                self._warned.add(key)
                log.warning("skipping an unreadable experiment: %s", e)
            return None
        except FileNotFoundError:  # removed meanwhile
            return None

    def get_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name`` (active or deleted), oldest first on a clash."""
        for exp in self.list(ViewType.ALL):
            if exp.name == name:
                return exp
        return None

    def create(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        experiment_id: str | None = None,
        now_ms: int | None = None,
    ) -> Experiment:
        validation.validate_experiment_name(name)
        existing = self.get_by_name(name)
        if existing is not None:
            state = (
                " (deleted; restore it or purge it first)"
                if existing.lifecycle_stage == "deleted"
                else ""
            )
            raise ResourceAlreadyExists(
                f"Experiment {name!r} already exists with id {existing.experiment_id}{state}."
            )
        now = int(time.time() * 1000) if now_ms is None else now_ms
        eid = experiment_id or layout.new_experiment_id(now)
        rec = {
            "experiment_id": eid,
            "name": name,
            "lifecycle_stage": LifecycleStage.ACTIVE,
            "creation_time": now,
            "last_update_time": now,
            "description": "",
            "tags": {},
        }
        rec.update(_split_tags(tags or {}))
        path = layout.experiment_dir(self.root, eid) / layout.EXPERIMENT_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        formats.write_yaml(path, rec)
        return self._load(path)

    def update(self, experiment_id: str, **changes: Any) -> Experiment:
        """Apply field changes (name, lifecycle_stage, tags, description) to one record."""
        path = self._path(experiment_id)
        try:
            rec = formats.read_mapping(path, missing_ok=False)
        except FileNotFoundError:
            raise ResourceNotFound(f"No experiment with id {experiment_id!r}.") from None
        if "name" in changes:
            name = validation.validate_experiment_name(changes["name"])
            other = self.get_by_name(name)
            if other is not None and other.experiment_id != str(experiment_id):
                raise ResourceAlreadyExists(
                    f"Experiment {name!r} already exists with id {other.experiment_id}."
                )
        if "tags" in changes:
            split = _split_tags({**(rec.get("tags") or {}), **changes.pop("tags")})
            changes.update(split)
        rec.update(changes)
        rec["last_update_time"] = int(time.time() * 1000)
        formats.write_yaml(path, rec)
        return self._load(path)

    def delete_tag(self, experiment_id: str, key: str) -> Experiment:
        path = self._path(experiment_id)
        rec = formats.read_mapping(path, missing_ok=False)
        tags = dict(rec.get("tags") or {})
        if key in (NOTE_TAG, MLFLOW_NOTE_TAG):
            return self.update(experiment_id, description="")
        if key not in tags:
            raise ResourceNotFound(f"Experiment {experiment_id} has no tag {key!r}.")
        del tags[key]
        rec["tags"] = tags
        formats.write_yaml(path, rec)
        return self._load(path)


def _field(rec: dict[str, Any], key: str, kinds: type | tuple[type, ...]) -> Any:
    value = rec[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise TypeError(f"{key!r} has the wrong type: {value!r}")
    return value


def _optional(rec: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    return default if rec.get(key) is None else _field(rec, key, kind)


def _split_tags(tags: dict[str, Any]) -> dict[str, Any]:
    """Tags as stored: the note tag becomes the ``description`` field."""
    out: dict[str, Any] = {"tags": {}}
    for key, value in tags.items():
        validation.validate_key("tag", key)
        text = validation.validate_tag_value(key, value)
        if key in (NOTE_TAG, MLFLOW_NOTE_TAG):
            out["description"] = text
        else:
            out["tags"][key] = text
    return out
