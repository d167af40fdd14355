"""Records returned by the API, shaped like MLflow's entities.

They are plain frozen dataclasses: what the store read, nothing more.  Attribute
names follow MLflow (``run.info.run_id``, ``run.data.metrics`` ...) so code written
for MLflow reads them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class RunStatus:
    """The states of a run, as in MLflow."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    ALL = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
    TERMINAL = ("FINISHED", "FAILED", "KILLED")

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in RunStatus.TERMINAL


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType:
    """Which runs or experiments a search returns, by lifecycle stage."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @staticmethod
    def stages(view_type: int) -> tuple[str, ...]:
        return {
            ViewType.ACTIVE_ONLY: (LifecycleStage.ACTIVE,),
            ViewType.DELETED_ONLY: (LifecycleStage.DELETED,),
            ViewType.ALL: (LifecycleStage.ACTIVE, LifecycleStage.DELETED),
        }[view_type]


@dataclass(slots=True)  # not frozen: a history builds 100,000s of these, 3x faster so
class Metric:
    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True)
class MetricSummary:
    """What the store keeps about one metric of a run (MLflow keeps only ``latest``)."""

    latest: float
    step: int
    timestamp: int
    min: float
    max: float
    count: int


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_name: str
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    user_id: str
    artifact_uri: str

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass(frozen=True)
class RunData:
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: last/min/max/count per metric key (an mltrail addition).
    metric_summaries: dict[str, MetricSummary] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData

    def to_dictionary(self) -> dict[str, Any]:
        """A JSON-ready dict, as ``mltrail runs show --json`` prints it."""
        info = self.info
        return {
            "info": {
                "run_id": info.run_id,
                "run_name": info.run_name,
                "experiment_id": info.experiment_id,
                "status": info.status,
                "start_time": info.start_time,
                "end_time": info.end_time,
                "lifecycle_stage": info.lifecycle_stage,
                "user_id": info.user_id,
                "artifact_uri": info.artifact_uri,
            },
            "data": {
                "params": dict(sorted(self.data.params.items())),
                "metrics": dict(sorted(self.data.metrics.items())),
                "tags": dict(sorted(self.data.tags.items())),
            },
        }


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None
    description: str = ""


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None
