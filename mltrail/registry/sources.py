"""What a new version points at: a model in a run's artifacts, checked to exist."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.registry.specs import ModelSpec, RunSource, parse_source
from mltrail.store import logged_models

if TYPE_CHECKING:
    from mltrail.registry.reader import RegistryReader


def checked_source(
    reader: RegistryReader, source: str, run_id: str | None = None
) -> tuple[RunSource, str | None, str | None]:
    """The run artifacts ``source`` names, for a ``models:/`` source the version it
    copies (``"churn v3"``), and the logged model's id (``models:/m-...``, or the
    logged model at a ``runs:/`` source).  The run and the artifact path must exist;
    nothing is copied."""
    store = reader.store
    if not isinstance(source, str) or not source:
        raise InvalidParameterValue(
            f"Invalid model source {source!r}: use runs:/<run_id>/<path> or models:/<name>/<N>."
        )
    logged = logged_model_source(store.root, source)
    if logged is not None:
        found, model_id = logged
        _check_run_id(run_id, found, source)
        _check_artifact(reader, found)
        return found, None, model_id
    parsed = parse_source(store.root, source)
    origin = None
    if isinstance(parsed, ModelSpec):
        version = reader.version_for_spec(parsed)
        origin = f"{version.name} v{version.version}"
        copied = parse_source(store.root, version.source)
        if not isinstance(copied, RunSource):  # pragma: no cover - versions store runs:/ URIs
            raise InvalidParameterValue(f"{origin} has no run source ({version.source!r}).")
        parsed = copied
    _check_run_id(run_id, parsed, source)
    _check_artifact(reader, parsed)
    return parsed, origin, _model_at(store.root, parsed)


def logged_model_source(root: Path, source: str) -> tuple[RunSource, str] | None:
    """The run folder and id of the logged model ``models:/m-...`` (None for other URIs)."""
    model_id = source[len("models:") :].lstrip("/") if source.startswith("models:") else ""
    if not logged_models.MODEL_ID.fullmatch(model_id):
        return None
    run_path = logged_models.find_model(root, model_id)
    rec = logged_models.read_record(
        logged_models.model_dir(run_path, model_id) / logged_models.RECORD
    )
    return RunSource(run_path.name, rec["artifact_path"]), model_id


def _model_at(root: Path, found: RunSource) -> str | None:
    """The logged model whose folder is ``found`` (registered by ``runs:/``), if any."""
    from mltrail.store import layout

    records, _ = logged_models.list_records(layout.run_dir(root, found.run_id))
    return next((r["model_id"] for r in records if r["artifact_path"] == found.path), None)


def _check_run_id(run_id: str | None, parsed: RunSource, source: str) -> None:
    if run_id is not None and str(run_id) != parsed.run_id:
        raise InvalidParameterValue(
            f"run_id {run_id!r} does not match the model source {source!r} "
            f"(run {parsed.run_id}); pass one or the other."
        )


def _check_artifact(reader: RegistryReader, found: RunSource) -> None:
    store = reader.store
    run = store.get_run(found.run_id)  # ResourceNotFound names the run id
    artifacts = store.artifacts(run.info.run_id)
    if artifacts.exists(found.path):  # a link or an invalid pointer is an error naming it
        return
    logged = sorted(info.path for info in artifacts.list_dir(None))
    listing = ", ".join(logged[:10]) if logged else "none"
    raise ResourceNotFound(
        f"Run {found.run_id} has no artifact {found.path!r} to register (its artifacts: "
        f"{listing}); log the model first, e.g. mltrail.sklearn.log_model(model, 'model')."
    )
