"""``mltrail.register_model``: MLflow's fluent registration."""

from __future__ import annotations

import logging
from typing import Any

from mltrail.registry.entities import ModelVersion
from mltrail.tracking.unsupported import warn_ignored

log = logging.getLogger(__name__)


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: dict[str, Any] | None = None,
    env_pack: Any = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as the next version of ``name`` (created if new).

    A model in a run's artifacts is not copied: the version points at it (a model folder
    outside the store is copied into a new run first).  The registration is one
    git commit (titled like ``model churn: register v4 from run 0192ab34``), finished when
    this returns, so unlike MLflow there is nothing to wait for.

    Args:
        model_uri: ``runs:/<run_id>/<path>``, a path inside a run's artifacts in the store,
            ``models:/<name>/<version|stage|latest>`` / ``models:/<name>@<alias>`` (a new
            version pointing at the same run artifacts), or a model folder elsewhere.
        name: the registered model's name.
        await_registration_for: no effect: the version exists when this returns.
        tags: tags of the new version.
        env_pack: accepted for MLflow's sake; a value warns (it only affects Databricks
            model serving).

    Returns:
        The new ``ModelVersion``.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_text("weights", "model/weights.txt")
        >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
        >>> version.name, version.version, version.current_stage
        ('churn', 1, 'None')
    """
    warn_ignored(
        "mltrail.register_model",
        await_registration_for=await_registration_for,
        env_pack=env_pack,
    )
    from mltrail.tracking.client import Client
    from mltrail.tracking.context import current_user
    from mltrail.tracking.registry_client import stored_source

    client = Client()
    version = client._registry.create_version(
        name,
        stored_source(client, model_uri, name),
        tags=tags,
        create_model=True,
        user_id=current_user(),
    )
    log.info("Created version %s of model %r.", version.version, version.name)
    return version
