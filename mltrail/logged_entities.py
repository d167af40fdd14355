"""MLflow 3's entities for logged models and dataset inputs, as plain frozen records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mltrail.entities import Metric, _Pairs


class LoggedModelStatus:
    """The states of a logged model (mltrail writes only ``READY``)."""

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


@dataclass(frozen=True)
class LoggedModel(_Pairs):
    """A model logged by ``log_model`` (MLflow 3), with the metrics linked to it.

    It has an id, a name, a source run, tags and params. ``model_uri`` is
    ``models:/<model_id>``; ``artifact_location`` the ``file://`` URI of the model's
    folder, which is the source run's artifact folder ``artifact_path``.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> with mltrail.start_run():
        ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr")
        >>> model = mltrail.get_logged_model(info.model_id)
        >>> model.name, model.status, model.model_uri == info.model_uri
        ('lr', 'READY', True)
    """

    model_id: str
    name: str
    experiment_id: str
    source_run_id: str
    artifact_location: str
    artifact_path: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str = LoggedModelStatus.READY
    model_type: str | None = None
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    step: int = 0
    _MLTRAIL_ONLY = frozenset({"artifact_path", "step"})

    @property
    def model_uri(self) -> str:
        """``models:/<model_id>``: what ``load_model`` and ``register_model`` take."""
        return f"models:/{self.model_id}"

    def to_dictionary(self) -> dict[str, Any]:
        """A dict of MLflow's fields (metrics as dicts)."""
        found = dict(self)
        found["metrics"] = [dict(m) for m in self.metrics]
        return found


@dataclass(frozen=True)
class InputTag(_Pairs):
    """A tag of a dataset input (``mlflow.data.context``: training, eval ...)."""

    key: str
    value: str


@dataclass(frozen=True)
class DatasetRecord(_Pairs):
    """A dataset as a run recorded it: all fields are text, as in MLflow's ``Dataset``
    entity (``source``, ``schema`` and ``profile`` are JSON)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class DatasetInput(_Pairs):
    """One dataset a run used, and its tags (including the context)."""

    dataset: DatasetRecord
    tags: list[InputTag] = field(default_factory=list)

    @property
    def context(self) -> str | None:
        """The ``mlflow.data.context`` tag (``training``, ``eval`` ...), if set."""
        return next((t.value for t in self.tags if t.key == "mlflow.data.context"), None)


@dataclass(frozen=True)
class LoggedModelInput(_Pairs):
    """A logged model a run used (linked a metric to, or named in ``log_input``)."""

    model_id: str


@dataclass(frozen=True)
class LoggedModelOutput(_Pairs):
    """A logged model a run produced, at a step."""

    model_id: str
    step: int = 0


@dataclass(frozen=True)
class RunInputs(_Pairs):
    """What a run used: ``dataset_inputs`` and ``model_inputs``."""

    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[LoggedModelInput] = field(default_factory=list)


@dataclass(frozen=True)
class RunOutputs(_Pairs):
    """What a run produced: ``model_outputs``."""

    model_outputs: list[LoggedModelOutput] = field(default_factory=list)


class _Deferred:
    """A record whose fields are read by ``load`` when one is first asked for: a search
    returns thousands of runs, and few scripts look at their inputs or outputs."""

    def __init__(self, load: Callable[[], Any]) -> None:
        object.__setattr__(self, "_load", load)

    def __getattr__(self, name: str) -> Any:  # only for attributes not set yet
        load = self.__dict__.get("_load")
        if load is None or name.startswith("__"):
            raise AttributeError(name)
        real = load()
        for f in dataclasses.fields(real):
            object.__setattr__(self, f.name, getattr(real, f.name))
        object.__setattr__(self, "_load", None)
        return object.__getattribute__(self, name)


class DeferredRunInputs(_Deferred, RunInputs):
    """``RunInputs`` read from the run's files on first use (``search_runs`` results)."""


class DeferredRunOutputs(_Deferred, RunOutputs):
    """``RunOutputs`` read from the run's files on first use (``search_runs`` results)."""
