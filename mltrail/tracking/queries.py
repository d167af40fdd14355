"""The fluent API's lookups and searches: runs and experiments by id, name or filter.

They act on the store in use and, where MLflow's do, on the active experiment; the run
lifecycle and logging are in :mod:`mltrail.tracking.fluent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mltrail.entities import Experiment, Run, ViewType
from mltrail.errors import InvalidParameterValue
from mltrail.tracking.fluent import _client, _default_experiment_id
from mltrail.tracking.unsupported import warn_ignored


def get_run(run_id: str) -> Run:
    """The run ``run_id`` of the store in use."""
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    """Mark the run ``run_id`` deleted (it can be restored)."""
    _client().delete_run(run_id)


def create_experiment(
    name: str,
    artifact_location: str | None = None,
    tags: dict[str, Any] | None = None,
    trace_location: Any = None,
) -> str:
    """Create the experiment ``name``; return its id.

    ``artifact_location`` and ``trace_location`` warn: run artifacts always live in the
    store, and mltrail records no traces.
    """
    warn_ignored(
        "mltrail.create_experiment",
        artifact_location=artifact_location,
        trace_location=trace_location,
    )
    return _client().create_experiment(name, None, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment ``experiment_id``."""
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment called ``name``, or None."""
    return _client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    """Mark the experiment ``experiment_id`` deleted (it can be restored)."""
    _client().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag of the active experiment."""
    _client().set_experiment_tag(_default_experiment_id(_client()), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    """Set tags of the active experiment."""
    for key, value in tags.items():
        set_experiment_tag(key, value)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Experiments matching an MLflow filter, e.g. ``"name LIKE 'churn%'"``."""
    return list(_client().search_experiments(view_type, max_results, filter_string, order_by))


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Runs matching an MLflow filter, as a pandas DataFrame (default) or a list of Run."""
    client = _client()
    if output_format not in ("pandas", "list"):
        raise InvalidParameterValue(
            f"Invalid output_format {output_format!r}: use 'pandas' or 'list'."
        )
    ids = list(experiment_ids or [])
    for name in experiment_names or []:
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            ids.append(exp.experiment_id)
    scope = None if search_all_experiments and not ids else ids
    if scope == [] and not experiment_names:
        scope = [_default_experiment_id(client)]
    found = client.search_runs(scope, filter_string, run_view_type, max_results, order_by)
    if output_format == "list":
        return list(found)
    from mltrail.tracking.frames import runs_to_frame

    return runs_to_frame(list(found))
