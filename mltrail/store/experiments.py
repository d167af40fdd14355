"""Experiments on disk: ``experiments/<id>/experiment.yaml``."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import replace
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
from mltrail.store import formats, layout, locks
from mltrail.store.blobs import experiment_location

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
            artifact_location=self._location(rec),
            lifecycle_stage=stage,
            tags=tags,
            creation_time=_optional(rec, "creation_time", int, None),
            last_update_time=_optional(rec, "last_update_time", int, None),
            description=description,
        )

    def _location(self, rec: dict[str, Any]) -> str:
        """The record's ``artifact_location`` as a URL (default: the runs folder)."""
        raw = rec.get("artifact_location")
        if raw is None:
            return (self.root / layout.RUNS_DIR).as_uri()
        try:
            text = experiment_location(raw, self.root, "'artifact_location'")
        except InvalidParameterValue as e:
            raise ValueError(str(e)) from e
        return text if "://" in text else (self.root / text).as_uri()

    def blob_location(self, experiment_id: str) -> str | None:
        """The experiment's own artifact store (a URL), or None: the store's default."""
        exp = self.get(experiment_id)
        default = (self.root / layout.RUNS_DIR).as_uri()
        return None if exp.artifact_location == default else exp.artifact_location

    def get(self, experiment_id: str) -> Experiment:
        """The experiment ``experiment_id``; an id merged into another gives that one."""
        path = self._path(experiment_id)
        try:
            record = self._load(path)
        except FileNotFoundError:
            raise ResourceNotFound(
                f"No experiment with id {experiment_id!r}; see `mltrail experiments list`."
            ) from None
        merged, aliases = self._merged()
        return merged.get(aliases.get(record.experiment_id, record.experiment_id), record)

    def _records(self) -> list[Experiment]:
        """Every experiment record on disk, one per folder, in id order."""
        found = []
        base = self.root / layout.EXPERIMENTS_DIR
        names = sorted(os.listdir(base), key=lambda n: (len(n), n)) if base.is_dir() else []
        for name in names:
            path = base / name / layout.EXPERIMENT_FILE
            if name.isdigit() and path.is_file():
                exp = self._load_or_warn(path)
                if exp is not None:
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

    def _merged(self) -> tuple[dict[str, Experiment], dict[str, str]]:
        """The experiments as users see them, and each merged-away id -> the id it joined.

        Clones that each create an experiment of one name leave two records after a
        merge; records sharing a name and a lifecycle stage are one experiment, under
        the oldest id (docs/FORMAT.md, "Experiments of one name").
        """
        groups: dict[tuple[str, str], list[Experiment]] = {}
        for exp in self._records():
            groups.setdefault((exp.name, exp.lifecycle_stage), []).append(exp)
        merged: dict[str, Experiment] = {}
        aliases: dict[str, str] = {}
        for group in groups.values():
            head = _merge(group) if len(group) > 1 else group[0]
            merged[head.experiment_id] = head
            aliases.update((e.experiment_id, head.experiment_id) for e in group[1:])
        return merged, aliases

    def aliases(self) -> dict[str, str]:
        """Each experiment id merged into another (see ``_merged``) -> the id it joined."""
        return self._merged()[1]

    def _group_ids(self, experiment_id: str) -> list[str]:
        """The ids of every record that is one experiment with ``experiment_id``."""
        head = self.get(experiment_id).experiment_id
        aliases = self.aliases()
        return [head, *sorted(a for a, h in aliases.items() if h == head)]

    def list(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        stages = ViewType.stages(view_type)
        merged = self._merged()[0].values()
        return sorted(
            (e for e in merged if e.lifecycle_stage in stages),
            key=lambda e: (len(e.experiment_id), e.experiment_id),
        )

    def get_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``: the active one, else the deleted one."""
        named = [e for e in self.list(ViewType.ALL) if e.name == name]
        named.sort(key=lambda e: e.lifecycle_stage != LifecycleStage.ACTIVE)
        return named[0] if named else None

    def create(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        experiment_id: str | None = None,
        now_ms: int | None = None,
        *,
        lifecycle_stage: str = LifecycleStage.ACTIVE,
        last_update_time: int | None = None,
        artifact_location: str | None = None,
    ) -> Experiment:
        """Write a new experiment record.

        ``artifact_location`` (checked: a supported URL or a folder inside the store) is
        where its runs' large artifacts go instead of the store's ``artifact_store``.

        ``experiment_id``, ``now_ms`` (its creation time), ``lifecycle_stage`` and
        ``last_update_time`` are for records brought from elsewhere (the default
        experiment, ``mltrail import mlflow``): a given id must be free.
        """
        validation.validate_experiment_name(name)
        location = None
        if artifact_location is not None:
            location = experiment_location(artifact_location, self.root, "artifact_location")
        with self._lock():  # the name check and the write, one writer at a time
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
            if experiment_id is not None and layout.experiment_dir(self.root, eid).exists():
                raise ResourceAlreadyExists(f"An experiment with id {eid} exists already.")
            if lifecycle_stage not in (LifecycleStage.ACTIVE, LifecycleStage.DELETED):
                raise InvalidParameterValue(f"Invalid lifecycle stage {lifecycle_stage!r}.")
            rec = {
                "experiment_id": eid,
                "name": name,
                "lifecycle_stage": lifecycle_stage,
                "creation_time": now,
                "last_update_time": now if last_update_time is None else last_update_time,
                "description": "",
                "tags": {},
            }
            rec.update(_split_tags(tags or {}))
            if location is not None:
                rec["artifact_location"] = location
            path = layout.experiment_dir(self.root, eid) / layout.EXPERIMENT_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            formats.write_yaml(path, rec)
            return self._load(path)

    def update(self, experiment_id: str, **changes: Any) -> Experiment:
        """Apply field changes (name, lifecycle_stage, tags, description) to one experiment.

        Every record merged into the experiment gets the change, so they stay one.
        """
        with self._lock():
            ids = self._group_ids(experiment_id)
            if "name" in changes:
                name = validation.validate_experiment_name(changes["name"])
                other = self.get_by_name(name)
                if other is not None and other.experiment_id not in ids:
                    raise ResourceAlreadyExists(
                        f"Experiment {name!r} already exists with id {other.experiment_id}."
                    )
            for eid in ids:
                self._rewrite(eid, dict(changes))
            return self.get(ids[0])

    def _rewrite(self, experiment_id: str, changes: dict[str, Any]) -> None:
        path = self._path(experiment_id)
        rec = formats.read_mapping(path, missing_ok=False)
        if "tags" in changes:
            changes.update(_split_tags({**(rec.get("tags") or {}), **changes.pop("tags")}))
        rec.update(changes)
        rec["last_update_time"] = int(time.time() * 1000)
        formats.write_yaml(path, rec)

    def delete_tag(self, experiment_id: str, key: str) -> Experiment:
        if key in (NOTE_TAG, MLFLOW_NOTE_TAG):
            return self.update(experiment_id, description="")
        with self._lock():
            ids = self._group_ids(experiment_id)
            found = False
            for eid in ids:
                path = self._path(eid)
                rec = formats.read_mapping(path, missing_ok=False)
                tags = dict(rec.get("tags") or {})
                if key in tags:
                    del tags[key]
                    formats.write_yaml(path, {**rec, "tags": tags})
                    found = True
            if not found:
                raise ResourceNotFound(f"Experiment {experiment_id} has no tag {key!r}.")
            return self.get(ids[0])

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        """Experiment writes, one at a time across threads and processes (names are unique)."""
        return locks.hold(self.root, layout.EXPERIMENTS_DIR)


def _merge(group: list[Experiment]) -> Experiment:
    """Records of one experiment made in several clones, as one: the oldest id leads.

    Its fields win; tags set only in the others are kept.
    """
    ordered = sorted(group, key=lambda e: (len(e.experiment_id), e.experiment_id))
    head = ordered[0]
    tags: dict[str, str] = {}
    for exp in reversed(ordered):
        tags.update(exp.tags)
    times = [e.last_update_time for e in ordered if isinstance(e.last_update_time, int)]
    return replace(head, tags=tags, last_update_time=max(times, default=head.last_update_time))


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
