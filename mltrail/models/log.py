"""Logging a saved model into a run, recording it, and registering it.

The flavor saves the model into a temporary folder, which is logged as the run's
artifact folder ``<artifact_path>``; the run tag ``mlflow.log-model.history`` (a JSON
list, MLflow 2's form) gains one entry per logged model so the site can list them.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mltrail import validation
from mltrail.errors import InvalidParameterValue, ResourceAlreadyExists
from mltrail.models.mlmodel import LOGGED_MODELS_TAG, Model, ModelInfo

log = logging.getLogger(__name__)
DEFAULT_ARTIFACT_PATH = "model"

#: ``save(path, mlflow_model)`` writes the model folder at ``path`` and returns its Model.
SaveFn = Callable[[Path, Model], Model]


def artifact_path_of(artifact_path: str | None, name: str | None) -> str:
    """MLflow 2's ``artifact_path`` or MLflow 3's ``name`` (they must agree if both given)."""
    from mltrail.store.artifacts import safe_relpath

    if artifact_path and name and artifact_path != name:
        raise InvalidParameterValue(
            f"log_model got artifact_path={artifact_path!r} and name={name!r}; give one of them."
        )
    chosen = safe_relpath(artifact_path or name or DEFAULT_ARTIFACT_PATH)
    if not chosen:
        raise InvalidParameterValue("log_model needs an artifact path such as 'model'.")
    return chosen


def log_model(
    save: SaveFn,
    artifact_path: str | None,
    name: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
) -> ModelInfo:
    """Save with ``save`` into the active run (started if none), record it as a logged
    model (MLflow 3) and return its ModelInfo (``model_uri``: ``models:/<model_id>``)."""
    from mltrail.tracking import fluent, logged_models
    from mltrail.tracking.client import Client

    path = artifact_path_of(artifact_path, name)
    if run_id is None:
        run = fluent.active_run() or fluent.start_run()
        run_id = run.info.run_id
    client = Client()
    if client.list_artifacts(run_id, path):
        raise ResourceAlreadyExists(
            f"Run {run_id} already has artifacts at {path!r}; log the model under another "
            "artifact path (a mix of two models' files would load as neither)."
        )
    shell = Model(artifact_path=path, run_id=run_id)
    model_id = f"m-{shell.model_uuid}"  # MLflow 3's form: m- and a random UUID's 32 hex digits
    shell.extra["model_id"] = model_id
    with tempfile.TemporaryDirectory(prefix="mltrail-model-") as tmp:
        local = Path(tmp) / "model"
        model = save(local, shell)
        client.log_artifacts(run_id, local, path)
    _record_in_run(client, run_id, model)
    logged_models.create(
        client.store, run_id, name or path, path, model_id=model_id, params=params, tags=tags,
        model_type=model_type, step=int(step or 0),
    )  # fmt: skip
    uri = f"models:/{model_id}"
    info = replace(model.get_model_info(uri), model_id=model_id)
    if registered_model_name:
        info = info.with_version(_register(uri, registered_model_name))
    return info


def _record_in_run(client: Any, run_id: str, model: Model) -> None:
    tags = client.get_run(run_id).data.tags
    try:
        history = json.loads(tags.get(LOGGED_MODELS_TAG) or "[]")
    except ValueError:
        log.warning("Run %s has an unreadable %s tag; starting it anew.", run_id, LOGGED_MODELS_TAG)
        history = []
    if not isinstance(history, list):
        history = []
    history.append(model.get_tags_dict())
    text = json.dumps(history)
    while len(text) > validation.MAX_TAG_VALUE_LENGTH and len(history) > 1:
        history.pop(0)  # the tag has a size limit: the oldest entries go first
        text = json.dumps(history)
    if len(text) > validation.MAX_TAG_VALUE_LENGTH:
        log.warning("The %s entry of this model is too long to record.", LOGGED_MODELS_TAG)
        return
    client.set_tag(run_id, LOGGED_MODELS_TAG, text)


def _register(model_uri: str, name: str) -> int:
    from mltrail.tracking.registry_fluent import register_model

    version: Any = register_model(model_uri, name)
    return int(version.version)
