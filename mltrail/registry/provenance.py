"""Lineage of a model version: the run it came from, that run's experiment, params and
metrics, and where its files are."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mltrail.entities import Experiment, Run
from mltrail.errors import InvalidParameterValue, ResourceNotFound, StoreError
from mltrail.registry.entities import ModelVersion
from mltrail.registry.specs import RunSource, parse_source
from mltrail.store import layout

if TYPE_CHECKING:
    from mltrail.store import FileStore


@dataclass(frozen=True)
class Lineage:
    version: ModelVersion
    run_id: str | None
    #: The model's path inside the run's artifacts (``model``), None if not a run source.
    artifact_path: str | None
    run: Run | None = None
    experiment: Experiment | None = None
    params: dict[str, str] = field(default_factory=dict)
    #: The latest value of each metric of the run.
    metrics: dict[str, float] = field(default_factory=dict)
    #: Why ``run`` is None (the run was purged, or is not in this clone), else None.
    problem: str | None = None


def source_of(store: FileStore, version: ModelVersion) -> RunSource | None:
    """The run and artifact path a version points at (None for a non-run source)."""
    try:
        parsed = parse_source(store.root, version.source)
    except InvalidParameterValue:
        return None
    return parsed if isinstance(parsed, RunSource) else None


def model_path(store: FileStore, version: ModelVersion) -> Path:
    """The folder (or file) of the version's model in its run's artifacts."""
    found = source_of(store, version)
    if found is None:
        raise ResourceNotFound(
            f"Model {version.name!r} v{version.version} has no run source ({version.source!r})."
        )
    base = store.run_path(found.run_id) / layout.ARTIFACTS_DIR
    return base / found.path if found.path else base


def lineage(store: FileStore, version: ModelVersion) -> Lineage:
    """Where ``version`` came from; a missing run gives ``run=None`` and a ``problem``."""
    found = source_of(store, version)
    run_id = found.run_id if found else version.run_id
    path = found.path if found else None
    if run_id is None:
        return Lineage(version, None, path, problem=f"no source run ({version.source!r})")
    try:
        run = store.get_run(run_id)
    except (ResourceNotFound, InvalidParameterValue, StoreError) as e:
        return Lineage(version, run_id, path, problem=str(e))
    try:
        experiment: Experiment | None = store.experiments.get(run.info.experiment_id)
    except (ResourceNotFound, StoreError):
        experiment = None
    return Lineage(
        version,
        run_id,
        path,
        run=run,
        experiment=experiment,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
    )
