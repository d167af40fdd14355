"""What a new version points at: a model in a run's artifacts, checked to exist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.registry.specs import ModelSpec, RunSource, parse_source

if TYPE_CHECKING:
    from mltrail.registry.reader import RegistryReader


def checked_source(
    reader: RegistryReader, source: str, run_id: str | None = None
) -> tuple[RunSource, str | None]:
    """The run artifacts ``source`` names, and for a ``models:/`` source the version it
    copies (``"churn v3"``).  The run and the artifact path must exist; nothing is copied."""
    store = reader.store
    if not isinstance(source, str) or not source:
        raise InvalidParameterValue(
            f"Invalid model source {source!r}: use runs:/<run_id>/<path> or models:/<name>/<N>."
        )
    parsed = parse_source(store.root, source)
    origin = None
    if isinstance(parsed, ModelSpec):
        version = reader.version_for_spec(parsed)
        origin = f"{version.name} v{version.version}"
        copied = parse_source(store.root, version.source)
        if not isinstance(copied, RunSource):  # pragma: no cover - versions store runs:/ URIs
            raise InvalidParameterValue(f"{origin} has no run source ({version.source!r}).")
        parsed = copied
    if run_id is not None and str(run_id) != parsed.run_id:
        raise InvalidParameterValue(
            f"run_id {run_id!r} does not match the model source {source!r} "
            f"(run {parsed.run_id}); pass one or the other."
        )
    _check_artifact(reader, parsed)
    return parsed, origin


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
