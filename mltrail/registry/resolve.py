"""``mltrail models resolve``: renumber versions that share a number after a merge.

Two clones that register a version of one model at the same time both pick the next
free number; their files differ (unique ids), so git merges them without a conflict,
and the merged model has two versions with one number.  The earlier registration (by
creation time, then id) keeps the number; each later one gets the next free number.
Aliases follow the version they were set on (they hold its id).  The outcome depends
only on the merged files, so two clones resolving the same merge agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mltrail.registry.registry import Registry
from mltrail.registry.state import ModelState


@dataclass(frozen=True)
class Renumbering:
    name: str
    version_id: str
    run_id: str | None
    old: int
    new: int

    def to_dictionary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version_id": self.version_id,
            "run_id": self.run_id,
            "old_version": self.old,
            "new_version": self.new,
        }


def resolve(registry: Registry, name: str | None = None) -> list[Renumbering]:
    """Renumber the later of each set of same-numbered versions (of ``name``, or of every
    model); one commit per model.  Returns what changed (empty: nothing to resolve)."""
    changes: list[Renumbering] = []
    with registry.files.lock():
        states = [registry.state(name)] if name is not None else registry.states()
        for state in states:
            changes += _resolve_model(registry, state)
    return changes


def _resolve_model(registry: Registry, state: ModelState) -> list[Renumbering]:
    duplicates = state.duplicates()
    if not duplicates:
        return []
    later = sorted(
        (v for records in duplicates.values() for v in records[1:]),
        key=lambda v: (v.creation_timestamp, v.version_id),
    )
    number = state.next_number()
    changes, paths = [], []
    renumbered: dict[str, int] = {}
    for record in later:
        changes.append(
            Renumbering(state.name, record.version_id, record.run_id, record.version, number)
        )
        paths.append(registry.files.write_version(state.path, replace(record, version=number)))
        renumbered[record.version_id] = number
        number += 1
    for alias in state.aliases:
        if alias.version_id in renumbered:
            moved = replace(alias, version=renumbered[alias.version_id])
            paths.append(registry.files.write_alias(state.path, moved))
    _commit(registry, state.name, changes, paths)
    return changes


def _commit(registry: Registry, name: str, changes: list[Renumbering], paths: list[Path]) -> None:
    moves = ", ".join(f"v{c.old} -> v{c.new}" for c in changes)
    title = f"model {name}: renumber {moves} (registered concurrently in two clones)"
    event = {"moves": [[c.version_id, c.old, c.new] for c in changes]}
    registry.record_change(paths, title, action="renumber", model=name, **event)
