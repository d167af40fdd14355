"""A model's history (who, when, what) read back from git: the commits of its folder.

Registry commits carry a ``Mltrail-Registry:`` trailer with the parsed action; other
commits that touched the folder (hand edits, ``mltrail commit``) are ``other`` events.
A rename is followed: the old name's commits before it are part of the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrail import git
from mltrail.registry import names
from mltrail.registry.commits import parse_trailer
from mltrail.store import layout

#: Actions a registry commit can carry (``event.action``).
ACTIONS = (
    "create",
    "register",
    "transition",
    "alias",
    "unalias",
    "describe",
    "tag",
    "untag",
    "delete",
    "rename",
    "renumber",
    "other",
)
_MAX_RENAMES = 50


@dataclass(frozen=True)
class RegistryEvent:
    """One commit in a model's history.

    ``details`` holds the action's fields: ``version``; ``old``/``new`` stages for a
    transition; ``alias`` and ``old`` (its previous version) for alias moves; ``run_id``,
    ``source``, ``version_id`` for a registration; ``archived`` versions; ``moves``
    (``[version_id, old, new]``) for a renumbering; ``old`` (the former name) for a rename.
    """

    commit: str
    author_name: str
    author_email: str
    #: Author time, milliseconds since the epoch (as every other mltrail timestamp).
    timestamp: int
    #: The commit title, e.g. ``model churn v3: Staging -> Production (archived v2)``.
    summary: str
    action: str
    model: str
    version: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "author_name": self.author_name,
            "author_email": self.author_email,
            "timestamp": self.timestamp,
            "summary": self.summary,
            "action": self.action,
            "model": self.model,
            "version": self.version,
            "details": self.details,
        }


def _event(entry: git.LogEntry, name: str) -> RegistryEvent:
    data = parse_trailer(entry.message) or {"action": "other"}
    version = data.get("version")
    details = {k: v for k, v in data.items() if k not in ("action", "model", "version")}
    return RegistryEvent(
        commit=entry.commit,
        author_name=entry.author_name,
        author_email=entry.author_email,
        timestamp=entry.time * 1000,
        summary=entry.message.partition("\n")[0],
        action=str(data["action"]) if data["action"] in ACTIONS else "other",
        model=str(data.get("model") or name),
        version=version if isinstance(version, int) else None,
        details=details,
    )


def model_history(
    store_root: Path, name: str, rev: str = "HEAD", max_count: int | None = None
) -> list[RegistryEvent]:
    """The registry events of model ``name``, newest first ([] outside a git repository).

    ``store_root`` is the store's folder in its work tree (for a site built from another
    commit, pass the live store and ``rev``)."""
    name = names.check_model_name(name)
    repo = git.find_repo_root(store_root)
    if repo is None:
        return []
    events: list[RegistryEvent] = []  # git's order: newest first, old names after
    commits: set[str] = set()
    queue: list[tuple[str, str]] = [(name, rev)]
    followed: set[tuple[str, str]] = set()
    while queue and len(followed) < _MAX_RENAMES:
        current, upto = queue.pop(0)
        followed.add((current, upto))
        for entry in git.log_paths(repo, [layout.model_dir(store_root, current)], upto):
            if entry.commit in commits:
                continue
            commits.add(entry.commit)
            event = _event(entry, current)
            events.append(event)
            old = event.details.get("old")
            is_rename = event.action == "rename" and event.model == current
            if is_rename and isinstance(old, str) and (old, event.commit) not in followed:
                queue.append((old, event.commit))
    return events[:max_count] if max_count is not None else events
