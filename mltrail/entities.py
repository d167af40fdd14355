"""Records returned by the API, shaped like MLflow's entities.

They are plain frozen dataclasses: what the store read, nothing more.  Attribute
names follow MLflow (``run.info.run_id``, ``run.data.metrics`` ...) so code written
for MLflow reads them unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from mltrail.errors import InvalidParameterValue


class _Pairs:
    """``dict(entity)`` as in MLflow: (name, value) of each field, sorted by name, leaving
    out mltrail's own additions (``_MLTRAIL_ONLY``)."""

    __slots__ = ()
    _MLTRAIL_ONLY: frozenset[str] = frozenset()

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        own = fields(self)  # type: ignore[arg-type]  # every subclass is a dataclass
        for name in sorted(f.name for f in own if f.name not in self._MLTRAIL_ONLY):
            yield name, getattr(self, name)


class RunStatus:
    """The states of a run, as in MLflow: RUNNING until it ends FINISHED, FAILED or KILLED.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     pass
        >>> mltrail.get_run(run.info.run_id).info.status == mltrail.RunStatus.FINISHED
        True
        >>> mltrail.RunStatus.is_terminated("RUNNING")
        False
        >>> mltrail.RunStatus.from_string("FAILED") == mltrail.RunStatus.FAILED
        True
    """

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    ALL = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
    TERMINAL = ("FINISHED", "FAILED", "KILLED")

    @staticmethod
    def is_terminated(status: str | int) -> bool:
        """Return whether ``status`` is one a run ends with (FINISHED, FAILED or KILLED)."""
        return RunStatus.to_string(status) in RunStatus.TERMINAL

    @staticmethod
    def to_string(status: str | int) -> str:
        """The name of ``status``: a constant of this class, or MLflow's number for it
        (MLflow's constants are numbers 1 to 5, mltrail's are their names)."""
        if isinstance(status, int) and not isinstance(status, bool) and 1 <= status <= 5:
            return RunStatus.ALL[status - 1]
        if status in RunStatus.ALL:
            return str(status)
        raise InvalidParameterValue(f"Unknown run status {status!r}: use one of {RunStatus.ALL}.")

    @staticmethod
    def from_string(status: str) -> str:
        """The constant named ``status`` (``"FAILED"`` is ``RunStatus.FAILED``)."""
        if status not in RunStatus.ALL:
            raise InvalidParameterValue(
                f"Unknown run status {status!r}: use one of {RunStatus.ALL}."
            )
        return status

    @staticmethod
    def all_status() -> list[str]:
        """Every status, in MLflow's order."""
        return list(RunStatus.ALL)


class LifecycleStage:
    """Whether a run or experiment is active or deleted (and restorable)."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType:
    """Which runs or experiments a search returns: active ones, deleted ones, or all.

    Example:
        >>> import mltrail
        >>> experiment_id = mltrail.create_experiment("scratch")
        >>> mltrail.delete_experiment(experiment_id)
        >>> [e.name for e in mltrail.search_experiments(view_type=mltrail.ViewType.DELETED_ONLY)]
        ['scratch']
    """

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @staticmethod
    def stages(view_type: int) -> tuple[str, ...]:
        """Return the lifecycle stages (``"active"``, ``"deleted"``) that ``view_type`` selects."""
        return {
            ViewType.ACTIVE_ONLY: (LifecycleStage.ACTIVE,),
            ViewType.DELETED_ONLY: (LifecycleStage.DELETED,),
            ViewType.ALL: (LifecycleStage.ACTIVE, LifecycleStage.DELETED),
        }[view_type]


@dataclass(slots=True)  # not frozen: a history builds 100,000s of these, 3x faster so
class Metric(_Pairs):
    """One point of a metric's history: its key, value, timestamp (ms) and step.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_metric("loss", 0.5, step=3, timestamp=1700000000000)
        >>> mltrail.Client().get_metric_history(run.info.run_id, "loss")
        [Metric(key='loss', value=0.5, timestamp=1700000000000, step=3)]
    """

    key: str
    value: float
    timestamp: int
    step: int
    #: MLflow 3's links of a point to a logged model and a dataset (None when unlinked).
    model_id: str | None = field(default=None, repr=False, compare=False)
    dataset_name: str | None = field(default=None, repr=False, compare=False)
    dataset_digest: str | None = field(default=None, repr=False, compare=False)
    run_id: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Param(_Pairs):
    """One parameter of a run, for ``Client.log_batch``; its value is a string.

    Example:
        >>> import mltrail
        >>> client = mltrail.Client()
        >>> run = client.create_run("0")
        >>> client.log_batch(run.info.run_id, params=[mltrail.Param("alpha", "0.5")])
        >>> client.get_run(run.info.run_id).data.params
        {'alpha': '0.5'}
    """

    key: str
    value: str


@dataclass(frozen=True)
class RunTag(_Pairs):
    """One tag of a run, for ``Client.log_batch``; its value is a string.

    Example:
        >>> import mltrail
        >>> client = mltrail.Client()
        >>> run = client.create_run("0")
        >>> client.log_batch(run.info.run_id, tags=[mltrail.RunTag("team", "growth")])
        >>> client.get_run(run.info.run_id).data.tags["team"]
        'growth'
    """

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
class RunInfo(_Pairs):
    """What a run is, apart from what it logged: id, name, experiment, status, times, owner.

    Times are milliseconds since the epoch (``end_time`` is None while the run is
    active); ``artifact_uri`` is the ``file://`` URI of the run's artifact folder.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run(run_name="baseline") as run:
        ...     pass
        >>> info = mltrail.get_run(run.info.run_id).info
        >>> info.run_name, info.experiment_id, info.status, info.lifecycle_stage
        ('baseline', '0', 'FINISHED', 'active')
        >>> info.end_time >= info.start_time
        True
    """

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
        """The run's id, under the older name MLflow keeps for it."""
        return self.run_id


@dataclass(frozen=True)
class RunData(_Pairs):
    """What a run logged: params, the latest value of each metric, and tags."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: last/min/max/count per metric key (an mltrail addition).
    metric_summaries: dict[str, MetricSummary] = field(default_factory=dict)
    _MLTRAIL_ONLY = frozenset({"metric_summaries"})


@dataclass(frozen=True)
class Run:
    """A run as the store holds it: ``info`` (a ``RunInfo``) and ``data`` (what it logged).

    ``data`` holds ``params``, ``tags`` and the latest value of each metric in
    ``metrics`` (MLflow's rule: highest step, then newest timestamp), plus
    ``metric_summaries`` (mltrail's own: last, min, max and count of each metric).

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as active:
        ...     _ = mltrail.log_param("alpha", 0.5)
        ...     for step, loss in enumerate([0.9, 0.4, 0.6]):
        ...         mltrail.log_metric("loss", loss, step=step)
        >>> run = mltrail.get_run(active.info.run_id)
        >>> run.data.params, run.data.metrics
        ({'alpha': '0.5'}, {'loss': 0.6})
        >>> run.data.metric_summaries["loss"].min
        0.4
    """

    info: RunInfo
    data: RunData
    #: MLflow 3's ``RunInputs`` (datasets, models used) and ``RunOutputs`` (models logged);
    #: read by ``get_run``, read on first use in ``search_runs`` results (None in a Run
    #: built by hand).
    inputs: Any = field(default=None, compare=False, repr=False)
    outputs: Any = field(default=None, compare=False, repr=False)

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
class Experiment(_Pairs):
    """An experiment: a named group of runs, with its id, tags and lifecycle stage.

    Example:
        >>> import mltrail
        >>> experiment = mltrail.get_experiment(mltrail.create_experiment("churn"))
        >>> experiment.name, experiment.lifecycle_stage
        ('churn', 'active')
    """

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
    """One artifact file or folder: its path in the run's artifacts, and its size."""

    path: str
    is_dir: bool
    file_size: int | None
