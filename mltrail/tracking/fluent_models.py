"""The fluent API of MLflow 3's logged models and dataset inputs: ``get_logged_model``,
``search_logged_models``, ``set_logged_model_tags``, ``last_logged_model``, ``log_input``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.logged_entities import LoggedModel
from mltrail.tracking import context
from mltrail.tracking import logged_models as service


def get_logged_model(model_id: str) -> LoggedModel:
    """Read the logged model ``model_id`` (``m-...``), with the metrics linked to it.

    Args:
        model_id: the id ``log_model`` returned (``model_info.model_id``).

    Returns:
        The ``LoggedModel``: name, source run, params, tags, metrics, ``model_uri``.

    Raises:
        ResourceNotFound: no logged model has this id.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> with mltrail.start_run():
        ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr",
        ...                                      params={"alpha": 0.1})
        ...     mltrail.log_metric("rmse", 0.3, model_id=info.model_id)
        >>> model = mltrail.get_logged_model(info.model_id)
        >>> model.params, [(m.key, m.value) for m in model.metrics]
        ({'alpha': '0.1'}, [('rmse', 0.3)])
    """
    return service.get(context.get_store(), model_id)


def search_logged_models(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    datasets: list[dict[str, str]] | None = None,
    max_results: int | None = None,
    order_by: list[dict[str, Any]] | None = None,
    output_format: str = "pandas",
) -> Any:
    """Search logged models with MLflow's filter syntax.

    Args:
        experiment_ids: experiments to search (default: the active experiment).
        filter_string: e.g. ``"name = 'model' AND metrics.acc > 0.9"``; keys are the
            attributes ``name``, ``model_id``, ``model_type``, ``status``,
            ``source_run_id``, ``creation_timestamp`` (``creation_time``),
            ``last_updated_timestamp``, and ``metrics.``, ``params.``, ``tags.``.
        datasets: ``[{"dataset_name": ..., "dataset_digest": ...}]``: metric comparisons
            consider only metrics linked to these datasets.
        max_results: the most models to return.
        order_by: dicts ``{"field_name": "metrics.acc", "ascending": False,
            "dataset_name": ..., "dataset_digest": ...}``; default newest first.
        output_format: ``"pandas"`` (a DataFrame, one row per model) or ``"list"``.

    Returns:
        A DataFrame or a list of ``LoggedModel``.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> with mltrail.start_run():
        ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr")
        ...     mltrail.log_metric("acc", 0.9, model_id=info.model_id)
        >>> found = mltrail.search_logged_models(filter_string="metrics.acc > 0.5",
        ...                                      output_format="list")
        >>> [m.model_id for m in found] == [info.model_id]
        True
    """
    from mltrail.model_search import filter_models, sort_models

    if output_format not in ("pandas", "list"):
        raise InvalidParameterValue(
            f"output_format must be 'pandas' or 'list', got {output_format!r}."
        )
    if max_results is not None and max_results < 0:
        raise InvalidParameterValue(f"max_results must be 0 or more, got {max_results}.")
    if experiment_ids is None:
        from mltrail.tracking import fluent

        experiment_ids = [fluent._default_experiment_id(fluent._client())]
    found = service.all_models(context.get_store(), list(experiment_ids))
    ordered = sort_models(filter_models(found, filter_string, datasets), order_by)
    ordered = ordered if max_results is None else ordered[:max_results]
    if output_format == "list":
        return ordered
    import pandas as pd

    columns = ["artifact_location", "creation_timestamp", "experiment_id", "last_updated_timestamp",
               "metrics", "model_id", "model_type", "name", "params", "source_run_id", "status",
               "status_message", "tags"]  # fmt: skip
    return pd.DataFrame([m.to_dictionary() for m in ordered], columns=columns)


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    """Set tags of a logged model (values become strings).

    Args:
        model_id: the model's id.
        tags: tag name -> value.

    Returns:
        None.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> with mltrail.start_run():
        ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr")
        >>> mltrail.set_logged_model_tags(info.model_id, {"stage": "candidate"})
        >>> mltrail.get_logged_model(info.model_id).tags["stage"]
        'candidate'
    """
    service.update_tags(context.get_store(), model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    """Delete one tag of a logged model (nothing happens if it has none).

    Args:
        model_id: the model's id.
        key: the tag's name.

    Returns:
        None.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> with mltrail.start_run():
        ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr",
        ...                                      tags={"k": "v"})
        >>> mltrail.delete_logged_model_tag(info.model_id, "k")
        >>> "k" in mltrail.get_logged_model(info.model_id).tags
        False
    """
    service.update_tags(context.get_store(), model_id, {}, (key,))


def last_logged_model() -> LoggedModel | None:
    """The model this process logged last (None if it logged none).

    Returns:
        The ``LoggedModel``, or None.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> with mltrail.start_run():
        ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr")
        >>> mltrail.last_logged_model().model_id == info.model_id
        True
    """
    model_id = service.last_model_id()
    return None if model_id is None else get_logged_model(model_id)


def log_input(
    dataset: Any = None,
    context: str | None = None,
    tags: dict[str, Any] | None = None,
    model: Any = None,
) -> None:
    """Record a dataset (and/or a logged model) as an input of the active run.

    Args:
        dataset: a dataset from ``mltrail.data.from_pandas`` / ``from_numpy``.
        context: what it was used for (``"training"``, ``"eval"`` ...), stored as the
            tag ``mlflow.data.context``.
        tags: more tags of this input.
        model: a ``LoggedModelInput`` (or a model id) the run used.

    Returns:
        None.

    Example:
        >>> import pandas as pd, mltrail
        >>> ds = mltrail.data.from_pandas(pd.DataFrame({"x": [1.0]}), name="train")
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_input(ds, context="training")
        >>> (entry,) = mltrail.get_run(run.info.run_id).inputs.dataset_inputs
        >>> entry.dataset.name, entry.tags[0].key, entry.tags[0].value
        ('train', 'mlflow.data.context', 'training')
    """
    from mltrail.tracking import fluent

    if dataset is None and model is None:
        raise InvalidParameterValue("log_input needs a dataset or a model.")
    entries = [] if dataset is None else [service.dataset_entry(dataset, context, tags)]
    models = [] if model is None else [getattr(model, "model_id", model)]
    client, run_id = fluent._run_client(None)
    service.log_inputs(client._store, run_id, entries, [str(m) for m in models])


def log_inputs(
    datasets: Sequence[Any] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[dict[str, Any] | None] | None = None,
    models: Sequence[Any] | None = None,
) -> None:
    """Record several datasets (and models) as inputs of the active run.

    Args:
        datasets: datasets from ``mltrail.data``.
        contexts: one context per dataset (or None).
        tags_list: one tags dict per dataset (or None).
        models: ``LoggedModelInput``s or model ids.

    Returns:
        None.

    Example:
        >>> import numpy as np, mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_inputs([mltrail.data.from_numpy(np.ones(3))], contexts=["eval"])
        >>> mltrail.get_run(run.info.run_id).inputs.dataset_inputs[0].tags[0].value
        'eval'
    """
    from mltrail.tracking import fluent

    items = list(datasets or [])
    ctx = list(contexts or [None] * len(items))
    tag_list = list(tags_list or [None] * len(items))
    if len(ctx) != len(items) or len(tag_list) != len(items):
        raise InvalidParameterValue("log_inputs needs one context and one tags dict per dataset.")
    entries = [service.dataset_entry(d, c, t) for d, c, t in zip(items, ctx, tag_list, strict=True)]
    client, run_id = fluent._run_client(None)
    ids = [str(getattr(m, "model_id", m)) for m in models or []]
    service.log_inputs(client._store, run_id, entries, ids)
