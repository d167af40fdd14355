"""Where the MLflow client finds artifacts: ``mlflow-artifacts:/`` URIs of runs and models.

A run's ``artifact_uri`` is ``mlflow-artifacts:/<experiment>/<run>/artifacts`` (the shape
MLflow's server gives), so the client uploads and downloads through this server's artifact
proxy, which maps the path back to the run's artifacts in the store. Model sources of the
registry are ``runs:/<run>/<path>``; a logged model (MLflow 3) lives in its run's
artifacts at its record's ``artifact_path`` (``logged.py``).
"""

from __future__ import annotations

from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.store.artifacts import safe_relpath

SCHEME = "mlflow-artifacts:"
_ARTIFACTS = "artifacts"


def run_artifact_uri(experiment_id: str, run_id: str, path: str = "") -> str:
    rel = safe_relpath(path)
    base = f"{SCHEME}/{experiment_id}/{run_id}/{_ARTIFACTS}"
    return f"{base}/{rel}" if rel else base


def experiment_artifact_location(experiment_id: str) -> str:
    return f"{SCHEME}/{experiment_id}"


def split_proxy_path(path: str) -> tuple[str, str]:
    """``<experiment>/<run>/artifacts/<rel>`` -> (run id, rel); anything else is refused."""
    rel = safe_relpath(path)
    parts = rel.split("/")
    if len(parts) < 3 or parts[2] != _ARTIFACTS:
        raise ResourceNotFound(
            f"No artifacts at {path!r}: this server keeps artifacts per run, at "
            "'<experiment id>/<run id>/artifacts/<path>'."
        )
    return parts[1], "/".join(parts[3:])


def stored_source(source: str, run_id: str | None) -> str:
    """A model version's ``source`` as the store keeps it (``runs:/<run>/<path>``).

    Only sources inside the store are accepted: a path on the server's disk is refused,
    so a client cannot make the server copy files from outside the store.
    """
    if source.startswith(("runs:/", "models:/m-")):
        return source  # a run's artifacts, or a logged model's (the registry resolves it)
    if source.startswith(SCHEME):
        proxied_run, rel = split_proxy_path(source[len(SCHEME) :].lstrip("/"))
        return f"runs:/{proxied_run}/{rel}"
    raise InvalidParameterValue(
        f"Invalid model version source {source!r}: mltrail server registers models from "
        "runs in its store only (runs:/<run id>/<path>, models:/<model id> or an "
        "mlflow-artifacts:/ URI of a run)."
    )


def split_runs_uri(source: str) -> tuple[str, str]:
    """(run id, artifact path) of ``runs:/<run>/<path>``."""
    body = source[len("runs:/") :] if source.startswith("runs:/") else ""
    run_id, _, rel = body.lstrip("/").partition("/")
    if not run_id:
        raise InvalidParameterValue(f"Invalid runs:/ URI {source!r}.")
    return run_id, safe_relpath(rel)
