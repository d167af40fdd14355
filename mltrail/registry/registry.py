"""``Registry``: every change to the model registry, written to its files and committed
as one git commit.

Writers on one machine take the store's registry lock around read-number-write-commit,
so they never give two versions one number; clones that did are reconciled by
:func:`mltrail.registry.resolve.resolve` (``mltrail models resolve``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceNotFound
from mltrail.registry import commits, names
from mltrail.registry.entities import ModelVersion, ModelVersionStage, RegisteredModel
from mltrail.registry.reader import RegistryReader
from mltrail.registry.sources import checked_source
from mltrail.registry.state import ModelState
from mltrail.store import layout
from mltrail.store.registry import AliasRecord, ModelRecord, VersionRecord

_ARCHIVING_STAGES = (ModelVersionStage.STAGING, ModelVersionStage.PRODUCTION)


def _now() -> int:
    return int(time.time() * 1000)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Registry(RegistryReader):
    """Reads (see :class:`RegistryReader`) and changes the registry of one store."""

    def record_change(self, paths: list[Path], title: str, **event: Any) -> None:
        commits.record_change(self.store, paths, title, event)

    def _model_record(self, state: ModelState) -> ModelRecord:
        """model.yaml as it is, or as it would be for a model made by its first version."""
        if state.record is not None:
            return state.record
        created = min((v.creation_timestamp for v in state.versions), default=_now())
        return ModelRecord(state.name, created, created)

    # -- registered models --------------------------------------------------------------
    def create_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        tags, text = names.check_tags(tags), names.check_description(description)
        with self.files.lock():
            state = self.state(name, must_exist=False)
            if state.exists:
                raise ResourceAlreadyExists(
                    f"Registered model {name!r} already exists "
                    f"({len(state.live)} versions); register a new version instead."
                )
            now = _now()
            path = self.files.write_model(state.path, ModelRecord(name, now, now, text, tags))
            self.record_change([path], f"model {name}: create", action="create", model=name)
        return self.get_model(name)

    def _change_model(
        self, name: str, what: str, change: Callable[[ModelRecord], ModelRecord], **event: Any
    ) -> RegisteredModel:
        """Apply ``change`` to model.yaml (created if the model has none) and commit it."""
        with self.files.lock():
            state = self.state(name)
            record = replace(change(self._model_record(state)), last_updated_timestamp=_now())
            path = self.files.write_model(state.path, record)
            self.record_change([path], f"model {name}: {what}", model=name, **event)
        return self.get_model(name)

    def update_model(self, name: str, description: str) -> RegisteredModel:
        text = names.check_description(description)
        return self._change_model(
            name, "describe", lambda r: replace(r, description=text), action="describe"
        )

    def set_model_tag(self, name: str, key: str, value: Any) -> RegisteredModel:
        tag = names.check_tags({key: value})
        what = f"tag {_short(f'{key}={tag[key]}')}"
        change = lambda r: replace(r, tags={**r.tags, **tag})  # noqa: E731
        return self._change_model(name, what, change, action="tag", key=key)

    def delete_model_tag(self, name: str, key: str) -> RegisteredModel:
        def change(record: ModelRecord) -> ModelRecord:
            if key not in record.tags:
                raise ResourceNotFound(f"Model {name!r} has no tag {key!r}.")
            return replace(record, tags={k: v for k, v in record.tags.items() if k != key})

        return self._change_model(
            name, f"delete tag {_short(key)}", change, action="untag", key=key
        )

    def rename_model(self, name: str, new_name: str) -> RegisteredModel:
        new_name = names.check_model_name(new_name)
        with self.files.lock():
            old, new = self.state(name), self.state(new_name, must_exist=False)
            if new.exists or new.path == old.path:
                raise ResourceAlreadyExists(f"Registered model {new_name!r} already exists.")
            record = replace(self._model_record(old), name=new_name, last_updated_timestamp=_now())
            self.files.write_model(new.path, record)
            for v in old.versions:
                self.files.write_version(new.path, replace(v, name=new_name))
            for a in old.aliases:
                self.files.write_alias(new.path, a)
            self.files.remove_model(old.path)
            title = f"model {new_name}: rename from {name}"
            self.record_change(
                [old.path, new.path], title, action="rename", model=new_name, old=name
            )
        return self.get_model(new_name)

    def delete_model(self, name: str) -> None:
        with self.files.lock():
            state = self.state(name)
            count = len(state.live)
            self.files.remove_model(state.path)
            title = f"model {name}: delete (with {count} version{'s' * (count != 1)})"
            self.record_change([state.path], title, action="delete", model=name, versions=count)

    # -- versions ---------------------------------------------------------------------------
    def create_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        *,
        create_model: bool = False,
        user_id: str = "",
    ) -> ModelVersion:
        """Register ``source`` (see :func:`checked_source`) as the model's next version."""
        name = names.check_model_name(name)
        tags, text = names.check_tags(tags), names.check_description(description)
        found, origin, model_id = checked_source(self, source, run_id)
        with self.files.lock():
            state = self.state(name, must_exist=not create_model)
            now = _now()
            record = VersionRecord(
                version_id=layout.new_run_id(now),
                name=name,
                version=state.next_number(),
                creation_timestamp=now,
                last_updated_timestamp=now,
                source=found.uri,
                run_id=found.run_id,
                description=text,
                user_id=user_id,
                run_link=run_link,
                tags=tags,
                model_id=model_id,
            )
            path = self.files.write_version(state.path, record)
            via = f"{origin} (run {found.run_id[:8]})" if origin else f"run {found.run_id[:8]}"
            title = f"model {name}: register v{record.version} from {via}"
            event = {
                "version": record.version,
                "version_id": record.version_id,
                "run_id": found.run_id,
                "source": found.uri,
            }
            self.record_change([path], title, action="register", model=name, **event)
        return self.get_version(name, record.version)

    def _change_version(
        self,
        name: str,
        version: int | str,
        what: str,
        change: Callable[[VersionRecord], VersionRecord],
        **event: Any,
    ) -> ModelVersion:
        number = names.check_version(version)
        with self.files.lock():
            state = self.state(name)
            record = replace(change(state.find(number)), last_updated_timestamp=_now())
            path = self.files.write_version(state.path, record)
            title = f"model {name} v{number}: {what}"
            self.record_change([path], title, model=name, version=number, **event)
        return self.get_version(name, number)

    def update_version(self, name: str, version: int | str, description: str) -> ModelVersion:
        text = names.check_description(description)
        change = lambda r: replace(r, description=text)  # noqa: E731
        return self._change_version(name, version, "describe", change, action="describe")

    def set_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        tag = names.check_tags({key: value})
        what = f"tag {_short(f'{key}={tag[key]}')}"
        change = lambda r: replace(r, tags={**r.tags, **tag})  # noqa: E731
        self._change_version(name, version, what, change, action="tag", key=key)

    def delete_version_tag(self, name: str, version: int | str, key: str) -> None:
        def change(record: VersionRecord) -> VersionRecord:
            if key not in record.tags:
                raise ResourceNotFound(
                    f"Model {name!r} version {record.version} has no tag {key!r}."
                )
            return replace(record, tags={k: v for k, v in record.tags.items() if k != key})

        what = f"delete tag {_short(key)}"
        self._change_version(name, version, what, change, action="untag", key=key)

    def delete_version(self, name: str, version: int | str) -> None:
        """Leave a tombstone (the number is never reused) and drop the aliases on it."""
        number = names.check_version(version)
        with self.files.lock():
            state = self.state(name)
            record = state.find(number)
            now = _now()
            paths = [self.files.write_version(state.path, replace(record, deleted_timestamp=now))]
            dropped = sorted(
                a for a, t in state.alias_targets().items() if t.version_id == record.version_id
            )
            paths += [self.files.remove_alias(state.path, a) for a in dropped]
            extra = f" (removed alias {', '.join(dropped)})" if dropped else ""
            title = f"model {name} v{number}: delete{extra}"
            event = {"version": number, "aliases": dropped}
            self.record_change(paths, title, action="delete", model=name, **event)

    def transition_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        number, stage = names.check_version(version), names.check_stage(stage)
        if archive_existing_versions and stage not in _ARCHIVING_STAGES:
            raise InvalidParameterValue(
                f"archive_existing_versions only applies to {' and '.join(_ARCHIVING_STAGES)}, "
                f"not to the stage {stage}."
            )
        with self.files.lock():
            state = self.state(name)
            target = state.find(number)
            now = _now()
            changed = [replace(target, current_stage=stage, last_updated_timestamp=now)]
            if archive_existing_versions:
                changed += [
                    replace(v, current_stage=ModelVersionStage.ARCHIVED, last_updated_timestamp=now)
                    for v in state.live
                    if v.current_stage == stage and v.version_id != target.version_id
                ]
            paths = [self.files.write_version(state.path, v) for v in changed]
            archived = [v.version for v in changed[1:]]
            extra = f" (archived {', '.join(f'v{n}' for n in archived)})" if archived else ""
            title = f"model {name} v{number}: {target.current_stage} -> {stage}{extra}"
            event = {"version": number, "old": target.current_stage, "new": stage}
            self.record_change(
                paths, title, action="transition", model=name, archived=archived, **event
            )
        return self.get_version(name, number)

    # -- aliases ------------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int | str) -> None:
        alias, number = names.check_alias(alias), names.check_version(version)
        with self.files.lock():
            state = self.state(name)
            clash = [a.alias for a in state.aliases if a.alias.lower() == alias.lower()]
            if clash and alias not in clash:
                raise InvalidParameterValue(
                    f"Model {name!r} has the alias {clash[0]!r}; aliases differing only in "
                    "case would clash on case-insensitive file systems."
                )
            target = state.find(number)
            before = state.alias_targets().get(alias)
            record = AliasRecord(alias, number, target.version_id)
            path = self.files.write_alias(state.path, record)
            was = f" (was v{before.version})" if before and before is not target else ""
            title = f"model {name}: alias {alias} -> v{number}{was}"
            event = {"alias": alias, "version": number, "old": before.version if before else None}
            self.record_change([path], title, action="alias", model=name, **event)

    def delete_alias(self, name: str, alias: str) -> None:
        with self.files.lock():
            state = self.state(name)
            if alias not in {a.alias for a in state.aliases}:
                raise ResourceNotFound(
                    f"Model {name!r} has no alias {alias!r}; {state.describe_aliases()}."
                )
            before = state.alias_targets().get(alias)
            path = self.files.remove_alias(state.path, alias)
            was = f" (was v{before.version})" if before else ""
            title = f"model {name}: delete alias {alias}{was}"
            event = {"alias": alias, "old": before.version if before else None}
            self.record_change([path], title, action="unalias", model=name, **event)
