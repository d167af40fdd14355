"""The model registry: registered models and their versions, as YAML files in the store,
every change one git commit.

Write through ``mltrail.register_model`` and the ``Client`` methods (MLflow's names).
Read (what the site generator and ``mltrail models`` use)::

    list_models(store)                 -> [RegisteredModel] (latest version per stage, aliases)
    list_versions(store, name)         -> [ModelVersion] by number
    get_version(store, name, version)  -> ModelVersion
    model_version_for(store, "churn@champion")   (mltrail.registry.uris)
    model_history(store.root, name, rev="HEAD")  -> [RegistryEvent] newest first, from git
    lineage(store, version)            -> Lineage (run, experiment, params, metrics)
    duplicate_versions(store, name)    -> {number: [version ids]} awaiting `mltrail models resolve`
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mltrail.registry.entities import (
    ModelVersion,
    ModelVersionStage,
    ModelVersionStatus,
    RegisteredModel,
)

if TYPE_CHECKING:
    from mltrail.registry.history import RegistryEvent, model_history
    from mltrail.registry.provenance import Lineage, lineage
    from mltrail.registry.uris import model_version_for
    from mltrail.store import FileStore

_LAZY = {
    "RegistryEvent": "history",
    "model_history": "history",
    "Lineage": "provenance",
    "lineage": "provenance",
    "model_version_for": "uris",
}

__all__ = [
    "Lineage",
    "ModelVersion",
    "ModelVersionStage",
    "ModelVersionStatus",
    "RegisteredModel",
    "RegistryEvent",
    "duplicate_versions",
    "get_version",
    "lineage",
    "list_models",
    "list_versions",
    "model_history",
    "model_version_for",
]


def list_models(store: FileStore) -> list[RegisteredModel]:
    """Every registered model of the store, by name."""
    from mltrail.registry.reader import RegistryReader

    return RegistryReader(store).list_models()


def list_versions(store: FileStore, name: str) -> list[ModelVersion]:
    """The live (not deleted) versions of ``name``, by number."""
    from mltrail.registry.reader import RegistryReader

    return RegistryReader(store).list_versions(name)


def get_version(store: FileStore, name: str, version: int | str) -> ModelVersion:
    from mltrail.registry.reader import RegistryReader

    return RegistryReader(store).get_version(name, version)


def duplicate_versions(store: FileStore, name: str) -> dict[int, list[str]]:
    """Version numbers two merged clones both used: number -> version ids, earlier first."""
    from mltrail.registry.reader import RegistryReader

    state = RegistryReader(store).state(name)
    return {n: [v.version_id for v in vs] for n, vs in sorted(state.duplicates().items())}


def __getattr__(attr: str) -> object:
    """The git and run readers load on first use, so ``import mltrail`` stays fast."""
    if attr in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"mltrail.registry.{_LAZY[attr]}"), attr)
    raise AttributeError(f"module 'mltrail.registry' has no attribute {attr!r}")
