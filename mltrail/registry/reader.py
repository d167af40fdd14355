"""Reading the registry of a store: models, versions, lookups by number, stage and alias."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mltrail.errors import CorruptedRecord, ResourceNotFound
from mltrail.registry import names
from mltrail.registry.entities import ModelVersion, RegisteredModel
from mltrail.registry.specs import ModelSpec
from mltrail.registry.state import ModelState, resolve_command
from mltrail.store.registry import ModelRecord, Skip

if TYPE_CHECKING:
    from pathlib import Path

    from mltrail.store import FileStore

log = logging.getLogger(__name__)


class RegistryReader:
    """The registered models of ``store``, read from its files on every call."""

    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.files = store.registry_files
        self._warned: set[tuple[str, tuple[int, ...]]] = set()
        self._skipped: set[str] = set()

    # -- models ---------------------------------------------------------------------
    def _load(self, path: Path, name: str | None, tolerant: bool = False) -> ModelState:
        """The model in folder ``path``; ``tolerant``: leave out (and warn about) each
        unreadable record instead of raising :class:`CorruptedRecord` (reads only:
        a writer must see every number in use)."""
        problems: list[CorruptedRecord] = []
        skip = problems.append if tolerant else None
        record = self._read_model(path, skip)
        versions = self.files.read_versions(path, skip)
        stored = record.name if record else (versions[0].name if versions else name)
        if name is not None and stored != name:
            raise CorruptedRecord(
                f"{path} holds the model {stored!r}, not {name!r}; move or remove that folder."
            )
        aliases = self.files.read_aliases(path, skip)
        for problem in problems:
            self._warn_skipped(problem)
        state = ModelState.build(
            stored or path.name, path, record, versions, aliases, tuple(map(str, problems))
        )
        self._warn_duplicates(state)
        return state

    def _read_model(self, path: Path, skip: Skip | None) -> ModelRecord | None:
        try:
            return self.files.read_model(path)
        except CorruptedRecord as e:
            if skip is None:
                raise
            skip(e)
            return None

    def _warn_skipped(self, problem: CorruptedRecord) -> None:
        if str(problem) not in self._skipped:
            self._skipped.add(str(problem))
            log.warning("skipping an unreadable registry record: %s", problem)

    def _warn_duplicates(self, state: ModelState) -> None:
        numbers = tuple(sorted(state.duplicates()))
        if numbers and (state.name, numbers) not in self._warned:
            self._warned.add((state.name, numbers))
            shown = ", ".join(f"v{n}" for n in numbers)
            log.warning(
                "Model %r has several versions numbered %s (registered at the same time in "
                "two clones); run `%s` to renumber the later ones.",
                state.name,
                shown,
                resolve_command(state.name),
            )

    def state(self, name: str, must_exist: bool = True, tolerant: bool = False) -> ModelState:
        """The model called ``name``; an unreadable record of it raises, unless
        ``tolerant`` (see :meth:`_load`)."""
        name = names.check_model_name(name)
        state = self._load(self.files.model_path(name), name, tolerant)
        if must_exist and not state.exists:
            raise ResourceNotFound(
                f"No registered model {name!r} in the store {self.store.root}; "
                f"{self.describe_models()}{state.describe_problems()}."
            )
        return state

    def _read_state(self, name: str) -> ModelState:
        """The model called ``name`` for a read: its readable records."""
        return self.state(name, tolerant=True)

    def states(self) -> list[ModelState]:
        """Every registered model, by name; unreadable records are left out with a warning."""
        found = [self._load(path, None, tolerant=True) for path in self.files.model_paths()]
        return sorted((s for s in found if s.exists), key=lambda s: s.name)

    def describe_models(self) -> str:
        found = [s.name for s in self.states()]
        if not found:
            return "it has no registered models yet (see `mltrail models register --help`)"
        shown = ", ".join(repr(n) for n in found[:20])
        return f"models: {shown}{' ...' if len(found) > 20 else ''}"

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model, by name."""
        return [s.model_entity() for s in self.states()]

    def get_model(self, name: str) -> RegisteredModel:
        return self._read_state(name).model_entity()

    # -- versions ---------------------------------------------------------------------------
    def list_versions(self, name: str | None = None) -> list[ModelVersion]:
        """The live versions of one model (or of all), by name then number."""
        states = [self._read_state(name)] if name is not None else self.states()
        return [v for s in states for v in s.version_entities()]

    def get_version(self, name: str, version: int | str) -> ModelVersion:
        state = self._read_state(name)
        return state.version_entity(state.find(names.check_version(version)))

    def latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        state = self._read_state(name)
        wanted = [names.check_stage(s) for s in stages] if stages else None
        return [state.version_entity(v) for v in state.latest(wanted)]

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        state = self._read_state(name)
        return state.version_entity(state.by_alias(alias))

    def version_for_spec(self, spec: ModelSpec) -> ModelVersion:
        """The version ``models:/<spec>`` names."""
        state = self._read_state(spec.name)
        if spec.version is not None:
            return state.version_entity(state.find(spec.version))
        if spec.alias is not None:
            return state.version_entity(state.by_alias(spec.alias))
        if spec.stage is not None:
            stage = names.check_stage(spec.stage)
            found = state.latest([stage])
            if not found:
                raise ResourceNotFound(
                    f"Model {state.name!r} has no version in stage {stage}; "
                    f"{state.describe_stages()}."
                )
            return state.version_entity(found[0])
        live = state.live
        if not live:
            raise ResourceNotFound(f"Model {state.name!r} has no versions.")
        return state.version_entity(state.find(live[-1].version))
