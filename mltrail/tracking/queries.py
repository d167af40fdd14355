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
    """Read the run ``run_id`` from the store in use.

    Args:
        run_id: the run's id.

    Returns:
        The ``Run``: ``info`` (status, times, ...) and ``data`` (params, latest metrics, tags).

    Raises:
        ResourceNotFound: no run has this id.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run(run_name="baseline") as active:
        ...     mltrail.log_metric("rmse", 0.71)
        >>> run = mltrail.get_run(active.info.run_id)
        >>> run.info.run_name, run.data.metrics
        ('baseline', {'rmse': 0.71})
    """
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of the run ``run_id`` (its ``mlflow.parentRunId`` tag), or None.

    Args:
        run_id: the child run's id.

    Returns:
        The parent ``Run``, or None when the run has no parent.

    Raises:
        ResourceNotFound: no run has the id ``run_id``, or its parent is gone.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as parent:
        ...     with mltrail.start_run(nested=True) as child:
        ...         pass
        >>> mltrail.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
        True
        >>> mltrail.get_parent_run(parent.info.run_id) is None
        True
    """
    client = _client()
    parent_id = client.get_run(run_id).data.tags.get("mlflow.parentRunId")
    return client.get_run(parent_id) if parent_id else None


def delete_run(run_id: str) -> None:
    """Mark the run ``run_id`` deleted; its files stay until ``mltrail gc`` removes them.

    Searches leave deleted runs out unless asked for them; ``Client.restore_run`` brings
    one back.  The change is one git commit.

    Args:
        run_id: the run's id.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     pass
        >>> mltrail.delete_run(run.info.run_id)
        >>> mltrail.get_run(run.info.run_id).info.lifecycle_stage
        'deleted'
    """
    _client().delete_run(run_id)


def create_experiment(
    name: str,
    artifact_location: str | None = None,
    tags: dict[str, Any] | None = None,
    trace_location: Any = None,
) -> str:
    """Create an experiment and return its id.

    Args:
        name: the experiment's name, unique in the store.
        artifact_location: where the large artifacts of its runs go instead of the
            store's ``artifact_store``: a URL (``s3://bucket/prefix``, ``gs://``,
            ``az://``, ``file://``) or a folder inside the store (docs/TEAMS.md).
        tags: tags of the experiment.
        trace_location: accepted for MLflow's sake; a value warns (mltrail records no
            traces).

    Returns:
        The new experiment's id (a string).

    Raises:
        ResourceAlreadyExists: an experiment has this name already.

    Example:
        >>> import mltrail
        >>> experiment_id = mltrail.create_experiment("churn", tags={"team": "growth"})
        >>> mltrail.get_experiment(experiment_id).tags
        {'team': 'growth'}
    """
    warn_ignored("mltrail.create_experiment", trace_location=trace_location)
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """Read the experiment ``experiment_id``.

    Args:
        experiment_id: the experiment's id (``"0"`` is the Default experiment).

    Returns:
        The ``Experiment``.

    Raises:
        ResourceNotFound: no experiment has this id.

    Example:
        >>> import mltrail
        >>> mltrail.get_experiment("0").name
        'Default'
    """
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """Read the experiment called ``name``, if there is one.

    Args:
        name: the experiment's name.

    Returns:
        The ``Experiment``, or None when no experiment has this name.

    Example:
        >>> import mltrail
        >>> experiment_id = mltrail.create_experiment("churn")
        >>> mltrail.get_experiment_by_name("churn").experiment_id == experiment_id
        True
        >>> mltrail.get_experiment_by_name("no such thing") is None
        True
    """
    return _client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    """Mark the experiment ``experiment_id`` deleted; ``Client.restore_experiment`` undoes it.

    Args:
        experiment_id: the experiment's id; the Default experiment (``"0"``) cannot be
            deleted.

    Example:
        >>> import mltrail
        >>> experiment_id = mltrail.create_experiment("scratch")
        >>> mltrail.delete_experiment(experiment_id)
        >>> mltrail.get_experiment(experiment_id).lifecycle_stage
        'deleted'
    """
    _client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Restore the deleted experiment ``experiment_id`` (and make its runs searchable).

    Args:
        experiment_id: the experiment's id.

    Example:
        >>> import mltrail
        >>> experiment_id = mltrail.create_experiment("scratch")
        >>> mltrail.delete_experiment(experiment_id)
        >>> mltrail.restore_experiment(experiment_id)
        >>> mltrail.get_experiment(experiment_id).lifecycle_stage
        'active'
    """
    _client().restore_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag of the active experiment (``set_experiment``, else the Default one).

    Args:
        key: the tag's name.
        value: its value (stored as a string).

    Example:
        >>> import mltrail
        >>> experiment = mltrail.set_experiment("churn")
        >>> mltrail.set_experiment_tag("team", "growth")
        >>> mltrail.get_experiment(experiment.experiment_id).tags
        {'team': 'growth'}
    """
    _client().set_experiment_tag(_default_experiment_id(_client()), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    """Set several tags of the active experiment (``set_experiment``, else the Default one).

    Args:
        tags: tag name -> value (each stored as a string).

    Example:
        >>> import mltrail
        >>> experiment = mltrail.set_experiment("churn")
        >>> mltrail.set_experiment_tags({"team": "growth", "quarter": "Q3"})
        >>> sorted(mltrail.get_experiment(experiment.experiment_id).tags)
        ['quarter', 'team']
    """
    for key, value in tags.items():
        set_experiment_tag(key, value)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Find experiments by an MLflow filter string, e.g. ``"name LIKE 'churn%'"``.

    Args:
        view_type: ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
        max_results: the most experiments to return (default: all).
        filter_string: an MLflow filter on ``name``, ``tags.<key>``, ``creation_time`` ...
            (default: every experiment).
        order_by: clauses such as ``["name ASC"]`` (default: newest first).

    Returns:
        The matching ``Experiment`` records, as a list.

    Example:
        >>> import mltrail
        >>> for name in ("churn-a", "churn-b", "fraud"):
        ...     _ = mltrail.create_experiment(name)
        >>> found = mltrail.search_experiments(filter_string="name LIKE 'churn%'")
        >>> sorted(e.name for e in found)
        ['churn-a', 'churn-b']
    """
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
    """Find runs by an MLflow filter string, as a pandas DataFrame (or a list of ``Run``).

    Args:
        experiment_ids: the experiments to search (default: the active experiment).
        filter_string: an MLflow filter such as ``"metrics.rmse < 0.8 and
            params.alpha = '0.5'"`` (default: every run).
        run_view_type: ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
        max_results: the most runs to return.
        order_by: clauses such as ``["metrics.rmse ASC"]`` (default: newest first).
        output_format: ``"pandas"`` for a DataFrame with MLflow's columns (``run_id``,
            ``metrics.<key>``, ``params.<key>``, ``tags.<key>`` ...), or ``"list"``.
        search_all_experiments: search every experiment when none is named.
        experiment_names: experiments to search by name (unknown names are skipped); not
            together with ``experiment_ids``.

    Returns:
        A pandas DataFrame, one row per run, or a list of ``Run`` for ``output_format="list"``.

    Raises:
        InvalidParameterValue: both ``experiment_ids`` and ``experiment_names``, or an
            unknown ``output_format`` or filter syntax.

    Example:
        >>> import mltrail
        >>> for alpha, rmse in ((0.1, 0.9), (0.5, 0.7)):
        ...     with mltrail.start_run():
        ...         _ = mltrail.log_param("alpha", alpha)
        ...         mltrail.log_metric("rmse", rmse)
        >>> runs = mltrail.search_runs(filter_string="metrics.rmse < 0.8")
        >>> list(runs["params.alpha"])
        ['0.5']
        >>> [r.data.metrics["rmse"] for r in mltrail.search_runs(output_format="list")]
        [0.7, 0.9]
    """
    client = _client()
    if output_format not in ("pandas", "list"):
        raise InvalidParameterValue(
            f"Invalid output_format {output_format!r}: use 'pandas' or 'list'."
        )
    if experiment_ids and experiment_names:
        raise InvalidParameterValue(
            "search_runs takes experiment_ids or experiment_names, not both: pass one of them."
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
