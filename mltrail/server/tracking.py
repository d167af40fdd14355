"""The tracking endpoints: experiments, runs, params, metrics, tags, search.

Each handler takes the store's ``Client`` and the request's ``Fields`` and returns the
JSON object MLflow's server answers with; errors are mltrail's, carrying MLflow's codes.
"""

from __future__ import annotations

from typing import Any

from mltrail.entities import Metric, Param, RunStatus, RunTag
from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.server import messages
from mltrail.server.locations import experiment_artifact_location, run_artifact_uri
from mltrail.server.messages import Fields
from mltrail.tracking import logged_models
from mltrail.tracking.client import Client

#: MLflow's limits on one ``log-batch`` request.
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
#: MLflow's largest page of runs.
MAX_RUNS_PAGE = 50000


def _experiment(client: Client, experiment_id: str) -> dict[str, Any]:
    exp = client.get_experiment(experiment_id)
    return messages.experiment(exp, experiment_artifact_location(exp.experiment_id))


def _run(client: Client, run_id: str) -> dict[str, Any]:
    found = client.get_run(run_id)
    uri = run_artifact_uri(found.info.experiment_id, found.info.run_id)
    return messages.run(found, uri)


def _run_id(f: Fields) -> str:
    value = f.text("run_id") or f.text("run_uuid")
    if not value:
        raise InvalidParameterValue(
            f"Missing value for required parameter 'run_id' of {f.endpoint}."
        )
    return value


# -- experiments -----------------------------------------------------------------------
def create_experiment(client: Client, f: Fields) -> dict[str, Any]:
    name = f.need("name")
    # Where the experiment's blobs go (an object-store URL or a folder of the store); the
    # client keeps uploading through this server's artifact proxy.
    location = f.text("artifact_location") or None
    experiment_id = client.create_experiment(name, location, tags=f.pairs("tags") or None)
    return {"experiment_id": experiment_id}


def get_experiment(client: Client, f: Fields) -> dict[str, Any]:
    return {"experiment": _experiment(client, f.need("experiment_id"))}


def get_experiment_by_name(client: Client, f: Fields) -> dict[str, Any]:
    name = f.need("experiment_name")
    exp = client.get_experiment_by_name(name)
    if exp is None:
        raise ResourceNotFound(f"Could not find experiment with name '{name}'")
    return {"experiment": messages.experiment(exp, experiment_artifact_location(exp.experiment_id))}


def search_experiments(client: Client, f: Fields) -> dict[str, Any]:
    page = client.search_experiments(
        view_type=f.view_type("view_type"),
        max_results=f.integer("max_results") or 1000,
        filter_string=f.text("filter"),
        order_by=f.strings("order_by") or None,
        page_token=f.text("page_token"),
    )
    found = [messages.experiment(e, experiment_artifact_location(e.experiment_id)) for e in page]
    return messages.page("experiments", found, page.token)


def update_experiment(client: Client, f: Fields) -> dict[str, Any]:
    new_name = f.text("new_name")
    if new_name:
        client.rename_experiment(f.need("experiment_id"), new_name)
    return {}


def delete_experiment(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_experiment(f.need("experiment_id"))
    return {}


def restore_experiment(client: Client, f: Fields) -> dict[str, Any]:
    client.restore_experiment(f.need("experiment_id"))
    return {}


def set_experiment_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.set_experiment_tag(f.need("experiment_id"), f.need("key"), f.text("value") or "")
    return {}


def delete_experiment_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_experiment_tag(f.need("experiment_id"), f.need("key"))
    return {}


# -- runs --------------------------------------------------------------------------------
def create_run(client: Client, f: Fields) -> dict[str, Any]:
    tags = f.pairs("tags")
    user_id = f.text("user_id")
    if user_id and "mlflow.user" not in tags:
        tags["mlflow.user"] = user_id
    created = client.create_run(
        f.text("experiment_id") or "0",
        start_time=f.integer("start_time"),
        tags=tags,
        run_name=f.text("run_name"),
    )
    return {"run": _run(client, created.info.run_id)}


def get_run(client: Client, f: Fields) -> dict[str, Any]:
    return {"run": _run(client, _run_id(f))}


def update_run(client: Client, f: Fields) -> dict[str, Any]:
    run_id = _run_id(f)
    status, name = f.text("status"), f.text("run_name")
    if status is not None and status not in RunStatus.ALL:
        raise InvalidParameterValue(
            f"Invalid run status {status!r}: use one of {', '.join(RunStatus.ALL)}."
        )
    if name:
        client.update_run(run_id, name=name)
    if status is not None and RunStatus.is_terminated(status):
        client.set_terminated(run_id, status, f.integer("end_time"))
    elif status is not None:
        client.update_run(run_id, status=status)
    return {"run_info": _run(client, run_id)["info"]}


def delete_run(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_run(_run_id(f))
    return {}


def restore_run(client: Client, f: Fields) -> dict[str, Any]:
    client.restore_run(_run_id(f))
    return {}


def log_metric(client: Client, f: Fields) -> dict[str, Any]:
    client.log_metric(
        _run_id(f), f.need("key"), f.real("value"), timestamp=f.integer("timestamp"),
        step=f.integer("step"), dataset_name=f.text("dataset_name") or None,
        dataset_digest=f.text("dataset_digest") or None, model_id=f.text("model_id") or None,
    )  # fmt: skip
    return {}


def log_param(client: Client, f: Fields) -> dict[str, Any]:
    value = f.text("value")
    client.log_params(_run_id(f), {f.need("key"): "" if value is None else value})
    return {}


def set_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.set_tags(_run_id(f), {f.need("key"): f.text("value") or ""})
    return {}


def delete_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_tag(_run_id(f), f.need("key"))
    return {}


def log_batch(client: Client, f: Fields) -> dict[str, Any]:
    metrics, params, tags = f.items("metrics"), f.items("params"), f.items("tags")
    limits = (
        ("metrics", metrics, MAX_BATCH_METRICS),
        ("params", params, MAX_BATCH_PARAMS),
        ("tags", tags, MAX_BATCH_TAGS),
    )
    for what, items, limit in limits:
        if len(items) > limit:
            raise InvalidParameterValue(
                f"A log-batch request may hold at most {limit} {what}; it has {len(items)}."
            )
    points = []
    for item in metrics:
        m = Fields("runs/log-batch metrics", item if isinstance(item, dict) else {})
        points.append(Metric(m.need("key"), m.real("value"), m.integer("timestamp") or 0,
                             m.integer("step") or 0, m.text("model_id") or None,
                             m.text("dataset_name") or None,
                             m.text("dataset_digest") or None))  # fmt: skip
    run_id = _run_id(f)
    client.log_batch(
        run_id,
        metrics=_link_known(client, run_id, points),
        params=[Param(k, v) for k, v in _ordered_pairs(f, "params")],
        tags=[RunTag(k, v) for k, v in f.pairs("tags").items()],
    )
    return {}


def _link_known(client: Client, run_id: str, points: list[Metric]) -> list[Metric]:
    """The points still to log: one linked to a logged model that the run's history
    already holds (MLflow's client re-sends a run's metrics with ``model_id`` to link them
    to a model it logs) is only linked, as MLflow's stores keep one row per point."""
    linked = [m for m in points if m.model_id]
    if not linked:
        return points
    logged = set(client.get_run(run_id).data.metrics)
    known = {key: {(h.value, h.timestamp, h.step) for h in client.get_metric_history(run_id, key)}
             for key in {m.key for m in linked} & logged}  # fmt: skip
    rest = []
    for m in points:
        if m.model_id and (m.value, m.timestamp, m.step) in known.get(m.key, set()):
            logged_models.link(client.store, run_id, m.model_id, [m], m.dataset_name,
                               m.dataset_digest)  # fmt: skip
        else:
            rest.append(m)
    return rest


def _ordered_pairs(f: Fields, name: str) -> list[tuple[str, str]]:
    """Key-value items in order, duplicates kept (``log_batch`` refuses those)."""
    out = []
    for item in f.items(name):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise InvalidParameterValue(
                f"Invalid value for parameter '{name}' of {f.endpoint}: expected a list of "
                "{'key': ..., 'value': ...} objects."
            )
        value = Fields(f.endpoint, item).text("value")
        out.append((item["key"], "" if value is None else value))
    return out


def get_metric_history(client: Client, f: Fields) -> dict[str, Any]:
    history = client.get_metric_history(_run_id(f), f.need("metric_key"))
    max_results = f.integer("max_results")
    token = f.text("page_token") or "0"
    if not token.isdigit():
        raise InvalidParameterValue(f"Invalid page token {token!r}.")
    start = int(token)
    end = len(history) if not max_results else start + max_results
    points = [messages.metric(m) for m in history[start:end]]
    return messages.page("metrics", points, str(end) if end < len(history) else None)


def search_runs(client: Client, f: Fields) -> dict[str, Any]:
    max_results = f.integer("max_results") or 1000
    if max_results > MAX_RUNS_PAGE:
        raise InvalidParameterValue(
            f"Invalid value {max_results} for parameter 'max_results': at most {MAX_RUNS_PAGE}."
        )
    page = client.search_runs(
        f.strings("experiment_ids"),
        filter_string=f.text("filter") or "",
        run_view_type=f.view_type("run_view_type"),
        max_results=max_results,
        order_by=f.strings("order_by") or None,
        page_token=f.text("page_token"),
    )
    runs = [messages.run(r, run_artifact_uri(r.info.experiment_id, r.info.run_id)) for r in page]
    return messages.page("runs", runs, page.token)
