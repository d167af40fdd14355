"""Gather the model registry for the site: models, versions, lineage, history from git.

Like runs, in two levels: :func:`gather_registry` reads every model's records, each
version's lineage and each model's history (small YAML files and one ``git log`` per
model); a version's model folder (MLmodel, input example, requirements) is read by
``gather.modelfiles`` only for a page about to be rendered. Nothing here renders.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mltrail import git, registry
from mltrail.errors import ResourceNotFound
from mltrail.registry import ModelVersion, RegisteredModel
from mltrail.registry.history import RegistryEvent
from mltrail.registry.provenance import Lineage, model_path
from mltrail.store import FileStore, layout

#: Run tag listing the models logged in a run (MLflow 2's JSON list).
LOGGED_MODELS_TAG = "mlflow.log-model.history"


@dataclass(frozen=True)
class VersionEntry:
    version: ModelVersion
    #: The folder of its page inside the model's: ``v3`` (``v3-<version id>`` for the later
    #: registrations of a number two merged clones both used).
    page: str
    lineage: Lineage
    #: The model folder relative to the store root (POSIX), None without a run source.
    folder: str | None

    @property
    def duplicate(self) -> bool:
        return self.page != f"v{self.version.version}"


@dataclass(frozen=True)
class ModelEntry:
    model: RegisteredModel
    #: Its folder in the site (``models/<slug>/``), a function of its name.
    slug: str
    #: Live versions by number (then registration time).
    versions: tuple[VersionEntry, ...]
    #: Its registry events from git, newest first (empty outside git).
    history: tuple[RegistryEvent, ...]
    #: Digest of the names, sizes and times of its registry files.
    files: str
    #: Version numbers that more than one live version holds.
    duplicates: tuple[int, ...]

    def by_number(self, number: int) -> VersionEntry | None:
        """The page-holding version numbered ``number`` (the first of duplicates)."""
        return next((v for v in self.versions if v.page == f"v{number}"), None)


@dataclass(frozen=True)
class RegistryData:
    models: tuple[ModelEntry, ...] = ()
    #: False when the store is not in a git repository (the history is unknown).
    in_git: bool = False

    @functools.cached_property
    def _by_run(self) -> dict[str, tuple[tuple[ModelEntry, VersionEntry], ...]]:
        found: dict[str, list[tuple[ModelEntry, VersionEntry]]] = {}
        for model in self.models:
            for entry in model.versions:
                run_id = entry.lineage.run_id
                if run_id:
                    found.setdefault(run_id, []).append((model, entry))
        return {k: tuple(v) for k, v in found.items()}

    def by_run(self, run_id: str) -> tuple[tuple[ModelEntry, VersionEntry], ...]:
        """The versions registered from run ``run_id``, by model name and number."""
        return self._by_run.get(run_id, ())

    def source_runs(self) -> list[str]:
        """The ids of the runs a version was registered from."""
        return list(self._by_run)


def site_slug(name: str) -> str:
    """The model's folder in the site: its registry folder's name (safe in a URL and on
    any file system), except the one name that would clash with ``models/index.html``."""
    slug = layout.model_dirname(name)
    if slug == "index.html":
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        slug = f"index-html+{digest}"
    return slug


def gather_registry(store: FileStore, history_root: Path, rev: str) -> RegistryData:
    """Every registered model of ``store``; histories are read from the git repository
    holding ``history_root`` at ``rev`` (for a ``--ref`` build: the live store folder)."""
    models = registry.list_models(store)
    in_git = git.find_repo_root(history_root) is not None
    if not models:
        return RegistryData((), in_git)
    entries = tuple(_model_entry(store, m, history_root if in_git else None, rev) for m in models)
    return RegistryData(entries, in_git)


def _model_entry(
    store: FileStore, model: RegisteredModel, history_root: Path | None, rev: str
) -> ModelEntry:
    versions = registry.list_versions(store, model.name)
    counts = Counter(v.version for v in versions)
    seen: set[int] = set()
    entries = []
    for v in versions:
        page = f"v{v.version}" if v.version not in seen else f"v{v.version}-{_safe(v.version_id)}"
        seen.add(v.version)
        entries.append(VersionEntry(v, page, registry.lineage(store, v), _folder(store, v)))

    history: tuple[RegistryEvent, ...] = ()
    if history_root is not None:
        history = tuple(registry.model_history(history_root, model.name, rev))
    return ModelEntry(
        model=model,
        slug=site_slug(model.name),
        versions=tuple(entries),
        history=history,
        files=store.model_signature(model.name),
        duplicates=tuple(sorted(n for n, c in counts.items() if c > 1)),
    )


_SAFE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def _safe(version_id: str) -> str:
    """A version id as one safe path segment (ids come from files a person may edit)."""
    if _SAFE_ID.fullmatch(version_id):
        return version_id
    return hashlib.sha256(version_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _folder(store: FileStore, version: ModelVersion) -> str | None:
    try:
        path = model_path(store, version)
    except ResourceNotFound:
        return None
    return path.relative_to(store.root).as_posix()


_UTC_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


@dataclass(frozen=True)
class LoggedModel:
    """One entry of a run's ``mlflow.log-model.history`` tag."""

    artifact_path: str
    flavors: tuple[str, ...]
    #: ``utc_time_created`` to the second (``2024-05-06 08:30:00``), or None.
    created: str | None


def logged_models(tags: Mapping[str, str]) -> tuple[LoggedModel, ...]:
    """The models a run's tag lists, in logging order (a path logged twice: the last)."""
    try:
        entries = json.loads(tags.get(LOGGED_MODELS_TAG) or "[]")
    except ValueError:
        return ()
    found: dict[str, LoggedModel] = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("artifact_path"), str):
            continue
        flavors = entry.get("flavors")
        created = _UTC_TIME.match(str(entry.get("utc_time_created") or ""))
        path = entry["artifact_path"]
        found.pop(path, None)
        found[path] = LoggedModel(
            artifact_path=path,
            flavors=tuple(sorted(map(str, flavors))) if isinstance(flavors, dict) else (),
            created=created.group(0).replace("T", " ") if created else None,
        )
    return tuple(found.values())
