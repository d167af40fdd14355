"""Just enough of MLflow 3's logged models for ``log_model`` to work over REST.

MLflow 3's ``log_model`` creates a logged model, uploads the model to the location the
server gives it, and registers ``models:/<model id>``. This server has no logged-model
records of its own (that is mltrail's logged-models work, not the server's): a logged
model *is* the folder ``<name>/`` in its source run's artifacts, exactly where
``mltrail.sklearn.log_model`` puts a model, and its id ``m-<run id>-<name as hex>`` says
which run and folder. So nothing is stored besides the model's files, every server
worker answers for every model, and a registered version's source is ``runs:/<run>/<name>``.

What this costs: a logged model's params, tags and metrics are not kept (tags are
accepted and dropped); a logged model needs a run; search finds none
(``search_logged_models``); delete and the other logged-model endpoints answer ``NOT_IMPLEMENTED``.
"""

from __future__ import annotations

from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.server import locations
from mltrail.server.asgi import not_implemented
from mltrail.server.messages import Fields
from mltrail.store.artifacts import safe_relpath
from mltrail.tracking.client import Client

_WHY = "mltrail keeps a logged model as a folder in its run's artifacts (docs/INTEROP.md)"


def _model(client: Client, model_id: str) -> dict[str, Any]:
    run_id, name = locations.parse_model_id(model_id)
    run = client.get_run(run_id)
    ready = client.store.artifacts(run_id).exists(f"{name}/MLmodel")
    info = {
        "model_id": model_id,
        "experiment_id": run.info.experiment_id,
        "name": name,
        "creation_timestamp_ms": run.info.start_time,
        "last_updated_timestamp_ms": run.info.end_time or run.info.start_time,
        "artifact_uri": locations.run_artifact_uri(run.info.experiment_id, run_id, name),
        "status": "LOGGED_MODEL_READY" if ready else "LOGGED_MODEL_PENDING",
        "source_run_id": run_id,
        "tags": [],
    }
    return {"model": {"info": info, "data": {"params": [], "metrics": []}}}


def create_logged_model(client: Client, f: Fields) -> dict[str, Any]:
    run_id = f.text("source_run_id")
    if not run_id:
        raise not_implemented("logged models without a run", _WHY + "; log it inside a run")
    name = f.text("name") or "model"
    if safe_relpath(name) != name or "/" in name:
        raise InvalidParameterValue(
            f"Invalid logged model name {name!r}: use one folder name such as 'model'."
        )
    client.get_run(run_id)  # 404 for an unknown run
    return _model(client, locations.model_id(run_id, name))


def get_logged_model(client: Client, f: Fields) -> dict[str, Any]:
    return _model(client, f.need("model_id"))


def finalize_logged_model(client: Client, f: Fields) -> dict[str, Any]:
    return _model(client, f.need("model_id"))


def set_logged_model_tags(client: Client, f: Fields) -> dict[str, Any]:
    _model(client, f.need("model_id"))  # 404 for an unknown model; the tags are dropped
    return {}


def search_logged_models(client: Client, f: Fields) -> dict[str, Any]:
    """Always an empty page: MLflow's client searches logged models to find a run's model
    folders besides its artifacts, and here those folders *are* its artifacts (listing them
    twice would download every model twice)."""
    return {"models": []}


def log_outputs(client: Client, f: Fields) -> dict[str, Any]:
    client.get_run(f.need("run_id"))  # the link is the folder: the model is in the run
    return {}


def unsupported(what: str, why: str = _WHY) -> Any:
    """A handler answering MLflow's 501 ``NOT_IMPLEMENTED`` for ``what``, saying why."""

    def handler(client: Client, f: Fields) -> dict[str, Any]:
        raise not_implemented(what, why)

    return handler
