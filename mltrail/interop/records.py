"""What an MLflow store holds, read from any of its backends, as plain frozen records.

Each reader (:mod:`.filestore`, :mod:`.sqlite`, :mod:`.rest`) turns its backend into
these records; the importer knows nothing else of MLflow's formats.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mltrail.errors import MltrailError

#: MLflow's run statuses by their number in a file store's ``meta.yaml``.
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
#: The stage MLflow gives a deleted model version (file and SQL stores keep its row).
DELETED_STAGE = "Deleted_Internal"
#: The longest value read from one param or tag file (MLflow allows 6,000 / 8,000 characters).
MAX_VALUE_BYTES = 1 << 20


class SourceError(MltrailError):
    """An MLflow store that cannot be read at all (the whole import stops)."""


@dataclass(frozen=True)
class ExperimentIn:
    """An MLflow experiment."""

    experiment_id: str
    name: str
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str]


@dataclass(frozen=True)
class RunIn:
    """An MLflow run, without its metric histories and artifacts (read on demand)."""

    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    deleted_time: int | None
    user_id: str
    artifact_uri: str
    params: dict[str, str]
    tags: dict[str, str]
    metric_keys: tuple[str, ...]
    #: How many dataset inputs the run has (MLflow 3 datasets: not imported).
    dataset_inputs: int = 0


@dataclass(frozen=True)
class BadRun:
    """A run the reader could not read: it costs only itself."""

    where: str
    why: str


@dataclass(frozen=True)
class VersionIn:
    """An MLflow model version (``deleted``: MLflow's ``Deleted_Internal`` stage)."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str
    description: str
    user_id: str
    source: str
    run_id: str | None
    run_link: str | None
    status: str
    tags: dict[str, str]
    deleted: bool = False


@dataclass(frozen=True)
class ModelIn:
    """An MLflow registered model with its versions and aliases (alias -> version)."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    tags: dict[str, str]
    versions: tuple[VersionIn, ...]
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedModelIn:
    """An MLflow 3 logged model (``models:/m-...``): its files are imported into its run."""

    model_id: str
    name: str
    source_run_id: str | None


class Artifact(Protocol):
    """One artifact file of a run: its path in the run's artifacts, and a local copy."""

    @property
    def path(self) -> str: ...

    @property
    def size(self) -> int | None: ...

    def local(self, scratch: Path) -> contextlib.AbstractContextManager[Path]:
        """The file on this machine: itself, or a download into the folder ``scratch``
        (removed when the context ends)."""
        ...


class Source(Protocol):
    """An MLflow store being read (a file store, a SQLite database or a tracking server)."""

    #: The store as the user named it, canonical (e.g. ``file:///data/mlruns``).
    label: str

    def experiments(self) -> list[ExperimentIn]: ...

    def runs(self, experiment: ExperimentIn) -> Iterator[RunIn | BadRun]: ...

    def metric_history(self, run: RunIn, key: str) -> Iterator[tuple[int, float, int]]: ...

    def artifacts(self, run: RunIn) -> Iterator[Artifact | BadRun]: ...

    def logged_model_artifacts(self, model_id: str) -> Iterator[Artifact | BadRun]: ...

    def logged_models(self, experiment: ExperimentIn) -> list[LoggedModelIn]: ...

    def models(self) -> Iterator[ModelIn | BadRun]: ...

    def close(self) -> None: ...
