"""Which handler answers which MLflow endpoint, and the fields each one accepts.

Paths are those of MLflow's ``service.proto`` and ``model_registry.proto`` after
``/api/2.0/mlflow/`` (also served under ``/ajax-api/2.0/mlflow/`` and ``/api/3.0/mlflow/``,
MLflow's aliases). A field an endpoint does not have is MLflow's 400, naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mltrail.server import logged, registry, tracking
from mltrail.server.messages import Fields
from mltrail.tracking.client import Client

Handler = Callable[[Client, Fields], dict[str, Any]]
PREFIXES = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/", "/api/3.0/mlflow/")


@dataclass(frozen=True)
class Route:
    handler: Handler
    fields: frozenset[str]


def _r(handler: Handler, fields: str) -> Route:
    return Route(handler, frozenset(fields.split()))


_RUN = "run_id run_uuid"
_SEARCH = "filter max_results order_by page_token"
ROUTES: dict[tuple[str, str], Route] = {
    # experiments
    ("POST", "experiments/create"): _r(tracking.create_experiment, "name artifact_location tags"),
    ("GET", "experiments/get"): _r(tracking.get_experiment, "experiment_id"),
    ("GET", "experiments/get-by-name"): _r(tracking.get_experiment_by_name, "experiment_name"),
    ("POST", "experiments/search"): _r(tracking.search_experiments, f"{_SEARCH} view_type"),
    ("GET", "experiments/search"): _r(tracking.search_experiments, f"{_SEARCH} view_type"),
    ("POST", "experiments/update"): _r(tracking.update_experiment, "experiment_id new_name"),
    ("POST", "experiments/delete"): _r(tracking.delete_experiment, "experiment_id"),
    ("POST", "experiments/restore"): _r(tracking.restore_experiment, "experiment_id"),
    ("POST", "experiments/set-experiment-tag"): _r(
        tracking.set_experiment_tag, "experiment_id key value"
    ),
    ("POST", "experiments/delete-experiment-tag"): _r(
        tracking.delete_experiment_tag, "experiment_id key"
    ),
    # runs
    ("POST", "runs/create"): _r(
        tracking.create_run, "experiment_id user_id run_name start_time tags"
    ),
    ("GET", "runs/get"): _r(tracking.get_run, _RUN),
    ("POST", "runs/update"): _r(tracking.update_run, f"{_RUN} status end_time run_name"),
    ("POST", "runs/delete"): _r(tracking.delete_run, "run_id"),
    ("POST", "runs/restore"): _r(tracking.restore_run, "run_id"),
    ("POST", "runs/log-metric"): _r(
        tracking.log_metric,
        f"{_RUN} key value timestamp step model_id dataset_name dataset_digest",
    ),
    ("POST", "runs/log-parameter"): _r(tracking.log_param, f"{_RUN} key value"),
    ("POST", "runs/set-tag"): _r(tracking.set_tag, f"{_RUN} key value"),
    ("POST", "runs/delete-tag"): _r(tracking.delete_tag, "run_id key"),
    ("POST", "runs/log-batch"): _r(tracking.log_batch, "run_id metrics params tags"),
    ("POST", "runs/search"): _r(tracking.search_runs, f"{_SEARCH} experiment_ids run_view_type"),
    ("GET", "metrics/get-history"): _r(
        tracking.get_metric_history, f"{_RUN} metric_key page_token max_results"
    ),
    ("POST", "runs/outputs"): _r(logged.log_outputs, "run_id models"),
    ("POST", "runs/log-inputs"): _r(logged.log_inputs, "run_id datasets models"),
    ("POST", "runs/log-model"): _r(
        logged.unsupported(
            "runs/log-model", "MLflow 2's model history tag; MLflow 3 clients do not send it"
        ),
        "run_id model_json",
    ),
    # MLflow 3 logged models: see logged.py
    ("POST", "logged-models"): _r(
        logged.create_logged_model,
        "experiment_id name model_type source_run_id params tags",
    ),
    ("POST", "logged-models/search"): _r(
        logged.search_logged_models,
        "experiment_ids filter datasets max_results order_by page_token",
    ),
    ("GET", "logged-models/{id}"): _r(logged.get_logged_model, "model_id"),
    ("PATCH", "logged-models/{id}"): _r(logged.finalize_logged_model, "model_id status"),
    ("PATCH", "logged-models/{id}/tags"): _r(logged.set_logged_model_tags, "model_id tags"),
    ("DELETE", "logged-models/{id}/tags/{key}"): _r(
        logged.delete_logged_model_tag, "model_id tag_key"
    ),
    ("POST", "logged-models/{id}/params"): _r(logged.log_logged_model_params, "model_id params"),
    ("DELETE", "logged-models/{id}"): _r(
        logged.unsupported(
            "deleting logged models", "a run's logged models stay as logged (history is in git)"
        ),
        "model_id",
    ),
    # registered models
    ("POST", "registered-models/create"): _r(
        registry.create_registered_model, "name tags description deployment_job_id"
    ),
    ("GET", "registered-models/get"): _r(registry.get_registered_model, "name"),
    ("GET", "registered-models/search"): _r(registry.search_registered_models, _SEARCH),
    ("PATCH", "registered-models/update"): _r(
        registry.update_registered_model, "name description deployment_job_id"
    ),
    ("POST", "registered-models/rename"): _r(registry.rename_registered_model, "name new_name"),
    ("DELETE", "registered-models/delete"): _r(registry.delete_registered_model, "name"),
    ("POST", "registered-models/get-latest-versions"): _r(
        registry.get_latest_versions, "name stages"
    ),
    ("GET", "registered-models/get-latest-versions"): _r(
        registry.get_latest_versions, "name stages"
    ),
    ("POST", "registered-models/set-tag"): _r(registry.set_registered_model_tag, "name key value"),
    ("DELETE", "registered-models/delete-tag"): _r(
        registry.delete_registered_model_tag, "name key"
    ),
    ("POST", "registered-models/alias"): _r(
        registry.set_registered_model_alias, "name alias version"
    ),
    ("DELETE", "registered-models/alias"): _r(registry.delete_registered_model_alias, "name alias"),
    ("GET", "registered-models/alias"): _r(registry.get_model_version_by_alias, "name alias"),
    # model versions
    ("POST", "model-versions/create"): _r(
        registry.create_model_version,
        "name source run_id tags run_link description model_id",
    ),
    ("GET", "model-versions/get"): _r(registry.get_model_version, "name version"),
    ("PATCH", "model-versions/update"): _r(
        registry.update_model_version, "name version description"
    ),
    ("DELETE", "model-versions/delete"): _r(registry.delete_model_version, "name version"),
    ("POST", "model-versions/transition-stage"): _r(
        registry.transition_model_version_stage,
        "name version stage archive_existing_versions",
    ),
    ("GET", "model-versions/search"): _r(registry.search_model_versions, _SEARCH),
    ("GET", "model-versions/get-download-uri"): _r(
        registry.get_model_version_download_uri, "name version"
    ),
    ("POST", "model-versions/set-tag"): _r(
        registry.set_model_version_tag, "name version key value"
    ),
    ("DELETE", "model-versions/delete-tag"): _r(
        registry.delete_model_version_tag, "name version key"
    ),
}

#: Endpoint families deliberately not served, and why (answered 501 NOT_IMPLEMENTED).
NOT_SERVED = {
    "traces": "tracing is not part of mltrail",
    "datasets": "datasets are recorded per run (runs/log-inputs); there is no dataset registry",
    "prompts": "prompts are not part of mltrail",
    "webhooks": "webhooks are not part of mltrail",
    "scorers": "scorers are not part of mltrail",
    "gateway": "the AI gateway is not part of mltrail",
    "logged-models": "this logged-model endpoint is not served (docs/INTEROP.md)",
}


def find(method: str, endpoint: str) -> tuple[Route | None, dict[str, str], set[str]]:
    """The route of ``method endpoint`` (None: none), its path parameters, and the
    methods that path takes (for 405)."""
    key, params = endpoint, {}
    parts = endpoint.split("/")
    if parts[0] == "logged-models" and len(parts) >= 2 and parts[1] != "search":
        params = {"model_id": parts[1]}
        if len(parts) >= 4 and parts[2] == "tags":  # a tag key may hold "/"
            params["tag_key"] = "/".join(parts[3:])
            parts = [*parts[:3], "{key}"]
        key = "/".join(["logged-models", "{id}", *parts[2:]])
    methods = {m for m, path in ROUTES if path == key}
    return ROUTES.get((method, key)), params, methods
