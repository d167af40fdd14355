"""MLflow 3's logged models and run inputs over REST, backed by mltrail's records.

A logged model is the record ``logged-models/<model_id>/model.yaml`` in the folder of its
source run (docs/FORMAT.md, "Logged models"); its files are in that run's artifacts at the
record's ``artifact_path``, so the ``artifact_uri`` the client uploads to is a proxied
path of the run. MLflow's client creates a model ``PENDING``, uploads, then finalizes
it ``READY`` (or ``FAILED``). What the store cannot hold answers ``NOT_IMPLEMENTED``: a
logged model without a source run (its record lives in a run's folder) and deleting one
(a run's records stay as logged; history is in git).
"""

from __future__ import annotations

from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.logged_entities import LoggedModel
from mltrail.server import locations, messages
from mltrail.server.asgi import not_implemented
from mltrail.server.messages import Fields
from mltrail.store.artifacts import safe_relpath
from mltrail.tracking import logged_models
from mltrail.tracking.client import Client

_WHY = "mltrail keeps a logged model's record in the folder of the run that logged it"
#: MLflow's ``LoggedModelStatus`` names (and numbers) -> the store's statuses.
_STATUSES = {
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
    1: "PENDING",
    2: "READY",
    3: "FAILED",
}
_STATUS_NAMES = {"PENDING": "LOGGED_MODEL_PENDING", "READY": "LOGGED_MODEL_READY",
                 "FAILED": "LOGGED_MODEL_UPLOAD_FAILED"}  # fmt: skip


def message(model: LoggedModel) -> dict[str, Any]:
    """A logged model as MLflow's ``LoggedModel`` JSON."""
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_timestamp,
        "last_updated_timestamp_ms": model.last_updated_timestamp,
        "artifact_uri": locations.run_artifact_uri(
            model.experiment_id, model.source_run_id, model.artifact_path
        ),
        "status": _STATUS_NAMES.get(model.status, "LOGGED_MODEL_STATUS_UNSPECIFIED"),
        "source_run_id": model.source_run_id,
        "tags": messages.pairs(model.tags),
    }
    if model.model_type:
        info["model_type"] = model.model_type
    metrics = [messages.metric(m) for m in model.metrics]
    return {"info": info, "data": {"params": messages.pairs(model.params), "metrics": metrics}}


def _answer(client: Client, model_id: str) -> dict[str, Any]:
    return {"model": message(client.get_logged_model(model_id))}


def _artifact_path(client: Client, run_id: str, name: str, model_id: str) -> str:
    """Where the model's files go in the run's artifacts: its name when that is one free
    folder name (where ``mltrail.sklearn.log_model`` puts a model), else
    ``logged_models/<model id>`` (as MLflow stores keep models of one run apart)."""
    try:
        clean = safe_relpath(name) == name and "/" not in name
    except ValueError:
        clean = False
    if clean and not client.store.artifacts(run_id).exists(name):
        run_path = client.store.run_path(run_id)
        if all(m.artifact_path != name for m in logged_models.of_run(run_path)):
            return name
    return f"logged_models/{model_id}"


def create_logged_model(client: Client, f: Fields) -> dict[str, Any]:
    run_id = f.text("source_run_id")
    if not run_id:
        raise not_implemented("logged models without a source run", _WHY + "; log it in a run")
    run = client.get_run(run_id)  # 404 for an unknown run
    experiment_id = f.text("experiment_id")
    if experiment_id and client.get_experiment(experiment_id).experiment_id != (
        run.info.experiment_id
    ):
        raise InvalidParameterValue(
            f"Logged model: experiment_id {experiment_id!r} is not the experiment of its "
            f"source run {run_id} ({run.info.experiment_id})."
        )
    from mltrail.store.logged_models import new_model_id

    name = f.text("name") or "model"
    model_id = new_model_id()
    logged_models.create(
        client.store,
        run_id,
        name,
        _artifact_path(client, run_id, name, model_id),
        model_id=model_id,
        params=f.pairs("params"),
        tags=f.pairs("tags"),
        model_type=f.text("model_type") or None,
        status="PENDING",
        link_existing=False,  # MLflow's client links the run's metrics with log-batch
    )
    return _answer(client, model_id)


def get_logged_model(client: Client, f: Fields) -> dict[str, Any]:
    return _answer(client, f.need("model_id"))


def finalize_logged_model(client: Client, f: Fields) -> dict[str, Any]:
    model_id, raw = f.need("model_id"), f.values.get("status")
    status = _STATUSES.get(raw) if isinstance(raw, str | int) else None
    if status is None or status == "PENDING":
        raise InvalidParameterValue(
            f"Invalid status {raw!r} to finalize a logged model: LOGGED_MODEL_READY or "
            "LOGGED_MODEL_UPLOAD_FAILED."
        )
    logged_models.finalize(client.store, model_id, status)
    return _answer(client, model_id)


def set_logged_model_tags(client: Client, f: Fields) -> dict[str, Any]:
    client.set_logged_model_tags(f.need("model_id"), f.pairs("tags"))
    return {}


def delete_logged_model_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_logged_model_tag(f.need("model_id"), f.need("tag_key"))
    return {}


def log_logged_model_params(client: Client, f: Fields) -> dict[str, Any]:
    logged_models.log_params(client.store, f.need("model_id"), f.pairs("params"))
    return {}


def search_logged_models(client: Client, f: Fields) -> dict[str, Any]:
    datasets = [_dict(f, "datasets", d, ("dataset_name", "dataset_digest")) for d in
                f.items("datasets")]  # fmt: skip
    order_by = [
        _dict(f, "order_by", o, ("field_name", "ascending", "dataset_name", "dataset_digest"))
        for o in f.items("order_by")
    ]
    page = client.search_logged_models(
        f.strings("experiment_ids"),
        filter_string=f.text("filter") or None,
        datasets=datasets or None,
        max_results=f.integer("max_results") or None,
        order_by=order_by or None,
        page_token=f.text("page_token") or None,
    )
    return messages.page("models", [message(m) for m in page], page.token)


def _dict(f: Fields, name: str, item: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(item, dict) or set(item) - set(keys):
        raise InvalidParameterValue(
            f"Invalid value {item!r} in '{name}' of {f.endpoint}: expected objects with "
            f"{', '.join(keys)}."
        )
    return {k: v for k, v in item.items() if v not in (None, "")}


def log_outputs(client: Client, f: Fields) -> dict[str, Any]:
    """The run's outputs are the models whose records are in its folder: check them."""
    run_id = f.need("run_id")
    client.get_run(run_id)
    for item in f.items("models"):
        model_id = Fields(f.endpoint, item if isinstance(item, dict) else {}).need("model_id")
        client.get_logged_model(model_id)
    return {}


def log_inputs(client: Client, f: Fields) -> dict[str, Any]:
    """Datasets (with their tags: the context) and logged models a run used."""
    run_id = f.need("run_id")
    datasets = []
    for item in f.items("datasets"):
        entry = Fields(f.endpoint, item if isinstance(item, dict) else {})
        dataset = entry.values.get("dataset")
        if not isinstance(dataset, dict):
            raise InvalidParameterValue(
                f"Invalid dataset input {item!r} for {f.endpoint}: expected "
                "{'dataset': {...}, 'tags': [...]}."
            )
        datasets.append(logged_models.dataset_entry(dataset, None, entry.pairs("tags")))
    models = [Fields(f.endpoint, m if isinstance(m, dict) else {}).need("model_id")
              for m in f.items("models")]  # fmt: skip
    for model_id in models:
        client.get_logged_model(model_id)  # 404 for an unknown model
    logged_models.log_inputs(client.store, run_id, datasets, models)
    return {}


def unsupported(what: str, why: str = _WHY) -> Any:
    """A handler answering MLflow's 501 ``NOT_IMPLEMENTED`` for ``what``, saying why."""

    def handler(client: Client, f: Fields) -> dict[str, Any]:
        raise not_implemented(what, why)

    return handler
