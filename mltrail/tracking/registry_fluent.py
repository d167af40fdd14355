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

    ``model_uri``: ``runs:/<run_id>/<path>``, a path inside a run's artifacts of the store,
    or ``models:/<name>/<version|stage|latest>`` / ``models:/<name>@<alias>`` (a new
    version pointing at the same run artifacts).  Nothing is copied.  The registration is
    one git commit (``model churn: register v4 from run 0192ab34``), done when this
    returns, so ``await_registration_for`` has no effect; ``env_pack`` (Databricks
    serving) warns.
    """
    warn_ignored(
        "mltrail.register_model",
        await_registration_for=await_registration_for,
        env_pack=env_pack,
    )
    from mltrail.tracking.client import Client
    from mltrail.tracking.context import current_user

    registry = Client()._registry
    version = registry.create_version(
        name, model_uri, tags=tags, create_model=True, user_id=current_user()
    )
    log.info("Created version %s of model %r.", version.version, version.name)
    return version
