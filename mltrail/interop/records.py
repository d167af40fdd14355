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
from mltrail.store.logged_models import LinkedPoint

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
class DatasetIn:
    """A dataset a run used, with the tags of that use (``mlflow.data.context`` ...);
    ``source``, ``schema`` and ``profile`` are JSON text, as MLflow keeps them."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None
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
    #: The datasets the run used (MLflow 3 ``log_input``).
    dataset_inputs: tuple[DatasetIn, ...] = ()
    #: Ids of the logged models the run used.
    model_inputs: tuple[str, ...] = ()
    #: Logged model id -> the step the run logged it at.
    model_outputs: dict[str, int] = field(default_factory=dict)


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
    #: The MLflow 3 logged model registered (``models:/m-...``), if the store says.
    model_id: str | None = None


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


#: MLflow's logged model statuses by their number (file store ``meta.yaml``, SQL rows).
MODEL_STATUS = {0: "UNSPECIFIED", 1: "PENDING", 2: "READY", 3: "FAILED"}


@dataclass(frozen=True)
class LoggedModelIn:
    """An MLflow 3 logged model (``models:/m-...``), its files read on demand."""

    model_id: str
    name: str
    source_run_id: str | None
    experiment_id: str = ""
    status: str = "READY"
    status_message: str | None = None
    model_type: str | None = None
    creation_timestamp: int = 0
    last_updated_timestamp: int = 0
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: Metric values runs linked to it (a run id each, a dataset's name and digest or None).
    metrics: tuple[LinkedPoint, ...] = ()
    deleted: bool = False


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

    def logged_models(self, experiment: ExperimentIn) -> list[LoggedModelIn | BadRun]: ...

    def models(self) -> Iterator[ModelIn | BadRun]: ...

    def close(self) -> None: ...
