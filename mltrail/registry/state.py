"""One registered model as read from its folder, and the lookups over it.

Version numbers are unique within a model except after a git merge of two clones that
registered at the same time: then two records hold one number.  Listing shows both (with
a warning); a lookup of that number (or of the latest version, when it is that number)
raises :class:`RegistryConflict` naming ``mltrail models resolve``.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mltrail.errors import RegistryConflict, ResourceNotFound
from mltrail.registry.entities import ModelVersion, ModelVersionStage, RegisteredModel
from mltrail.store.registry import AliasRecord, ModelRecord, VersionRecord


def _order(v: VersionRecord) -> tuple[int, int, str]:
    """Versions by number; among equal numbers the earlier registration first."""
    return (v.version, v.creation_timestamp, v.version_id)


def resolve_command(name: str) -> str:
    return f"mltrail models resolve {shlex.quote(name)}"


@dataclass(frozen=True)
class ModelState:
    name: str
    path: Path
    record: ModelRecord | None
    #: Every version record, tombstones included, by number then registration time.
    versions: tuple[VersionRecord, ...]
    aliases: tuple[AliasRecord, ...]
    #: Why each record file left out of a tolerant read could not be read.
    problems: tuple[str, ...] = ()

    @staticmethod
    def build(
        name: str,
        path: Path,
        record: ModelRecord | None,
        versions: Iterable[VersionRecord],
        aliases: Iterable[AliasRecord],
        problems: tuple[str, ...] = (),
    ) -> ModelState:
        ordered = tuple(sorted(versions, key=_order))
        by_name = tuple(sorted(aliases, key=lambda a: a.alias))
        return ModelState(name, path, record, ordered, by_name, problems)

    @property
    def exists(self) -> bool:
        return self.record is not None or bool(self.versions)

    @property
    def live(self) -> list[VersionRecord]:
        return [v for v in self.versions if not v.deleted]

    def next_number(self) -> int:
        """Numbers are never reused: deleted versions keep theirs."""
        return max((v.version for v in self.versions), default=0) + 1

    def duplicates(self) -> dict[int, list[VersionRecord]]:
        """Numbers held by more than one record (live or deleted), earlier registration first."""
        by_number: dict[int, list[VersionRecord]] = defaultdict(list)
        for v in self.versions:
            by_number[v.version].append(v)
        return {n: vs for n, vs in by_number.items() if len(vs) > 1}

    def conflict(self, number: int) -> RegistryConflict:
        records = self.duplicates()[number]
        ids = ", ".join(f"{v.version_id[:12]} (run {str(v.run_id)[:8]})" for v in records)
        return RegistryConflict(
            f"Model {self.name!r} has {len(records)} versions numbered {number} ({ids}), "
            f"registered at the same time in two clones and merged; run "
            f"`{resolve_command(self.name)}` to renumber the later one."
        )

    # -- lookups ----------------------------------------------------------------------
    def find(self, number: int) -> VersionRecord:
        records = [v for v in self.versions if v.version == number]
        if len(records) > 1:
            raise self.conflict(number)
        if not records or records[0].deleted:
            gone = " (it was deleted; numbers are never reused)" if records else ""
            raise ResourceNotFound(
                f"Model {self.name!r} has no version {number}{gone}; {self.describe_versions()}"
                f"{self.describe_problems()}."
            )
        return records[0]

    def find_id(self, version_id: str) -> VersionRecord | None:
        return next((v for v in self.live if v.version_id == version_id), None)

    def latest(self, stages: Sequence[str] | None = None) -> list[VersionRecord]:
        """The newest live version of each stage (all stages with a version if None)."""
        wanted = ModelVersionStage.ALL if not stages else tuple(stages)
        found = []
        for stage in wanted:
            in_stage = [v for v in self.live if v.current_stage == stage]
            if in_stage:
                top = in_stage[-1]
                if sum(v.version == top.version for v in self.versions) > 1:
                    raise self.conflict(top.version)
                found.append(top)
        return found

    def alias_targets(self) -> dict[str, VersionRecord]:
        """alias -> the live version it points at (by id, else by an unambiguous number)."""
        targets = {}
        for a in self.aliases:
            if a.version_id is not None:
                target = self.find_id(a.version_id)
            else:
                numbered = [v for v in self.versions if v.version == a.version]
                target = numbered[0] if len(numbered) == 1 and not numbered[0].deleted else None
            if target is not None:
                targets[a.alias] = target
        return targets

    def by_alias(self, alias: str) -> VersionRecord:
        target = self.alias_targets().get(alias)
        if target is None:
            raise ResourceNotFound(
                f"Model {self.name!r} has no alias {alias!r}; {self.describe_aliases()}"
                f"{self.describe_problems()}."
            )
        return target

    # -- descriptions for error messages -------------------------------------------------
    def describe_versions(self) -> str:
        numbers = [str(v.version) for v in self.live]
        if not numbers:
            return "it has no versions"
        shown = ", ".join(numbers[-20:])
        return f"versions: {'... ' if len(numbers) > 20 else ''}{shown}"

    def describe_stages(self) -> str:
        parts = []
        for stage in ModelVersionStage.ALL:
            numbers = [f"v{v.version}" for v in self.live if v.current_stage == stage]
            if numbers:
                parts.append(f"{stage} ({', '.join(numbers[-5:])})")
        return "stages: " + "; ".join(parts) if parts else "it has no versions"

    def describe_problems(self) -> str:
        """``; unreadable: <file>: <why>`` for the records a tolerant read left out."""
        return "".join(f"; unreadable: {p.rstrip('.')}" for p in self.problems[:5])

    def describe_aliases(self) -> str:
        targets = self.alias_targets()
        if not targets:
            return "it has no aliases"
        return "aliases: " + ", ".join(f"{a} -> v{v.version}" for a, v in targets.items())

    # -- entities ---------------------------------------------------------------------------
    def version_entity(self, v: VersionRecord) -> ModelVersion:
        aliases = sorted(a for a, t in self.alias_targets().items() if t.version_id == v.version_id)
        return _entity(self.name, v, aliases)

    def version_entities(self) -> list[ModelVersion]:
        by_id: dict[str, list[str]] = defaultdict(list)
        for alias, target in self.alias_targets().items():
            by_id[target.version_id].append(alias)
        return [_entity(self.name, v, sorted(by_id[v.version_id])) for v in self.live]

    def model_entity(self) -> RegisteredModel:
        versions = {v.version_id: v for v in self.version_entities()}
        latest = []
        for stage in ModelVersionStage.ALL:
            in_stage = [v for v in self.live if v.current_stage == stage]
            if in_stage:
                latest.append(versions[in_stage[-1].version_id])
        rec = self.record
        times = [v.creation_timestamp for v in self.versions]
        updates = [v.last_updated_timestamp for v in self.versions]
        created = rec.creation_timestamp if rec else min(times, default=None)
        updated = max([*updates, *([rec.last_updated_timestamp] if rec else [])], default=None)
        return RegisteredModel(
            name=self.name,
            creation_timestamp=created,
            last_updated_timestamp=updated,
            description=(rec.description or None) if rec else None,
            latest_versions=latest,
            tags=dict(rec.tags) if rec else {},
            aliases={a: str(v.version) for a, v in self.alias_targets().items()},
        )


def _entity(name: str, v: VersionRecord, aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        name=name,
        version=v.version,
        creation_timestamp=v.creation_timestamp,
        last_updated_timestamp=v.last_updated_timestamp,
        description=v.description or None,
        user_id=v.user_id or None,
        current_stage=v.current_stage,
        source=v.source,
        run_id=v.run_id,
        status=v.status,
        tags=dict(v.tags),
        run_link=v.run_link,
        aliases=aliases,
        version_id=v.version_id,
        model_id=v.model_id,
    )
