"""``models:/`` URIs: the contract with the model loaders (``mltrail.models``).

``model_version_for(store, "churn/3")`` gives the ModelVersion; its ``source`` is
``runs:/<run_id>/<path>`` and :func:`model_path` is the folder holding the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mltrail.registry.entities import ModelVersion
from mltrail.registry.provenance import model_path as _model_path
from mltrail.registry.reader import RegistryReader
from mltrail.registry.specs import ModelSpec, parse_spec

if TYPE_CHECKING:
    from mltrail.store import FileStore

__all__ = ["ModelSpec", "model_path", "model_version_for", "parse_spec"]


def model_version_for(store: FileStore, spec: str) -> ModelVersion:
    """The version named by ``spec``, the text after ``models:/``: ``name/3``,
    ``name/Staging`` (the newest version in that stage, any case), ``name/latest`` or
    ``name@alias``.  ResourceNotFound lists what exists; InvalidParameterValue for a
    malformed spec; RegistryConflict for a number two merged clones both used."""
    return RegistryReader(store).version_for_spec(parse_spec(spec))


def model_path(store: FileStore, version: ModelVersion) -> Path:
    """The model's folder in its run's artifacts (``.../runs/ab/<run_id>/artifacts/model``)."""
    return _model_path(store, version)
