"""MLflow's JSON shapes: request fields read and checked, mltrail records written out.

Requests: ``Fields`` reads one endpoint's fields with their types (a wrong type or a
missing required field is MLflow's 400 ``INVALID_PARAMETER_VALUE`` naming the field).
Responses: the JSON MLflow's server writes for experiments, runs, metrics, registered
models and model versions (the field names of MLflow's ``service.proto`` and
``model_registry.proto``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from mltrail.entities import Experiment, FileInfo, Metric, Run, ViewType
from mltrail.errors import CorruptedRecord, InvalidParameterValue
from mltrail.registry.entities import ModelVersion, RegisteredModel

log = logging.getLogger(__name__)

#: MLflow's names of ``ViewType`` (sent as strings in JSON).
VIEW_TYPES = {
    "ACTIVE_ONLY": ViewType.ACTIVE_ONLY,
    "DELETED_ONLY": ViewType.DELETED_ONLY,
    "ALL": ViewType.ALL,
}


class Fields:
    """The fields of one request, read by name and type."""

    def __init__(self, endpoint: str, values: Mapping[str, Any]) -> None:
        self.endpoint = endpoint
        self.values = values

    def _bad(self, name: str, expected: str) -> InvalidParameterValue:
        return InvalidParameterValue(
            f"Invalid value {self.values.get(name)!r} for parameter '{name}' of {self.endpoint}: "
            f"expected {expected}."
        )

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise InvalidParameterValue(
                    f"Missing value for required parameter '{name}' of {self.endpoint}."
                )
            return None if value is None else ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self._bad(name, "a string")
        return value if isinstance(value, str) else repr(value)

    def need(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise self._bad(name, "an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self._bad(name, "an integer") from None

    def real(self, name: str) -> float:
        value = self.values.get(name)
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            return float(value.replace("Infinity", "inf"))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(name, "a number")
        return float(value)

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self._bad(name, "true or false")

    def items(self, name: str) -> list[Any]:
        value = self.values.get(name)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def strings(self, name: str) -> list[str]:
        items = self.items(name)
        if not all(isinstance(v, str) for v in items):
            raise self._bad(name, "a list of strings")
        return items

    def pairs(self, name: str, key: str = "key", value: str = "value") -> dict[str, str]:
        """A repeated ``{"key": ..., "value": ...}`` field as a dict."""
        out: dict[str, str] = {}
        for item in self.items(name):
            if not isinstance(item, dict) or not isinstance(item.get(key), str):
                raise self._bad(name, f"a list of {{'{key}': ..., '{value}': ...}} objects")
            out[item[key]] = Fields(self.endpoint, item).text(value) or ""
        return out

    def view_type(self, name: str) -> int:
        value = self.values.get(name)
        if value is None or value == "":
            return ViewType.ACTIVE_ONLY
        if isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 3):
            return value
        if isinstance(value, str) and value.upper() in VIEW_TYPES:
            return VIEW_TYPES[value.upper()]
        raise self._bad(name, "ACTIVE_ONLY, DELETED_ONLY or ALL")


def page(key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    """One page of a search: ``{key: items, "next_page_token": token}`` (no token: last)."""
    out: dict[str, Any] = {key: items}
    if token:
        out["next_page_token"] = token
    return out


def pairs(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in sorted(mapping.items())]


def number(value: float) -> Any:
    """A float as JSON: NaN and infinities as MLflow writes them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def experiment(exp: Experiment, artifact_location: str) -> dict[str, Any]:
    tags = dict(exp.tags)
    if exp.description and "mlflow.note.content" not in tags:
        tags["mlflow.note.content"] = exp.description
    out: dict[str, Any] = {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "artifact_location": artifact_location,
        "lifecycle_stage": exp.lifecycle_stage,
        "tags": pairs(tags),
    }
    if exp.creation_time is not None:
        out["creation_time"] = exp.creation_time
    if exp.last_update_time is not None:
        out["last_update_time"] = exp.last_update_time
    return out


def metric(m: Metric) -> dict[str, Any]:
    out = {"key": m.key, "value": number(m.value), "timestamp": m.timestamp, "step": m.step}
    links = {"model_id": m.model_id, "dataset_name": m.dataset_name,
             "dataset_digest": m.dataset_digest, "run_id": m.run_id}  # fmt: skip
    out.update({k: v for k, v in links.items() if v})
    return out


def run(r: Run, artifact_uri: str) -> dict[str, Any]:
    info = r.info
    run_info: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status,
        "start_time": info.start_time,
        "artifact_uri": artifact_uri,
        "lifecycle_stage": info.lifecycle_stage,
    }
    if info.end_time is not None:
        run_info["end_time"] = info.end_time
    summaries = r.data.metric_summaries
    metrics = []
    for key, value in sorted(r.data.metrics.items()):
        summary = summaries.get(key)
        step = summary.step if summary else 0
        timestamp = summary.timestamp if summary else 0
        metrics.append(metric(Metric(key, value, timestamp, step)))
    return {
        "info": run_info,
        "data": {"metrics": metrics, "params": pairs(r.data.params), "tags": pairs(r.data.tags)},
        **links(r),
    }


def links(r: Run) -> dict[str, Any]:
    """MLflow's ``inputs`` (datasets with their tags, logged models) and ``outputs``
    (logged models) of a run, as the client read them (empty otherwise, and for a run
    whose inputs file is damaged: one bad file does not fail a whole search)."""
    try:
        return _links(r)
    except CorruptedRecord as e:
        log.warning("leaving out the inputs and outputs of run %s: %s", r.info.run_id, e)
        return {"inputs": {}, "outputs": {}}


def _links(r: Run) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    if r.inputs is not None and r.inputs.dataset_inputs:
        inputs["dataset_inputs"] = [
            {"tags": [dict(t) for t in d.tags],
             "dataset": {k: v for k, v in dict(d.dataset).items() if v is not None}}
            for d in r.inputs.dataset_inputs
        ]  # fmt: skip
    if r.inputs is not None and r.inputs.model_inputs:
        inputs["model_inputs"] = [{"model_id": m.model_id} for m in r.inputs.model_inputs]
    outputs: dict[str, Any] = {}
    if r.outputs is not None and r.outputs.model_outputs:
        outputs["model_outputs"] = [{"model_id": m.model_id, "step": m.step}
                                    for m in r.outputs.model_outputs]  # fmt: skip
    return {"inputs": inputs, "outputs": outputs}


def file_info(info: FileInfo, prefix: str = "") -> dict[str, Any]:
    path = info.path[len(prefix) :].lstrip("/") if prefix else info.path
    out: dict[str, Any] = {"path": path, "is_dir": info.is_dir}
    if info.file_size is not None:
        out["file_size"] = info.file_size
    return out


def model_version(v: ModelVersion, model_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
        "current_stage": v.current_stage,
        "source": v.source,
        "status": v.status,
        "tags": pairs(v.tags),
        "aliases": list(v.aliases),
    }
    optional = {
        "user_id": v.user_id,
        "description": v.description,
        "run_id": v.run_id,
        "status_message": v.status_message,
        "run_link": v.run_link,
        "model_id": model_id,
    }
    out.update({k: value for k, value in optional.items() if value})
    return out


def registered_model(
    m: RegisteredModel, versions: Iterable[dict[str, Any]] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": m.name,
        "tags": pairs(m.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(m.aliases.items())],
        "latest_versions": list(versions or []),
    }
    optional = {
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "description": m.description,
    }
    out.update({k: value for k, value in optional.items() if value is not None})
    return out
