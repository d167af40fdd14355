"""MLflow's ``search_logged_models``: its filter (the runs' filter language, with the
logged-model attributes), its ``datasets`` restriction and its ``order_by`` dicts."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.logged_entities import LoggedModel
from mltrail.search import value_test
from mltrail.search_syntax import ATTRIBUTE, LOGGED_MODELS, METRIC, PARAM, Comparison, read_filter

Datasets = Sequence[dict[str, Any]] | None


def _on_dataset(metric: Any, datasets: Datasets) -> bool:
    if not datasets:
        return True
    return any(
        metric.dataset_name == d.get("dataset_name")
        and (not d.get("dataset_digest") or metric.dataset_digest == d.get("dataset_digest"))
        for d in datasets
    )


def _getter(c: Comparison, datasets: Datasets) -> Callable[[LoggedModel], Any]:
    if c.entity == METRIC:

        def metric(model: LoggedModel) -> Any:
            found = [m for m in model.metrics if m.key == c.key and _on_dataset(m, datasets)]
            return found[0].value if found else None

        return metric
    if c.entity == PARAM:
        return lambda model: model.params.get(c.key)
    if c.entity == ATTRIBUTE:
        return lambda model: getattr(model, c.key)
    return lambda model: model.tags.get(c.key)


def filter_models(
    models: Sequence[LoggedModel], filter_string: str | None, datasets: Datasets = None
) -> list[LoggedModel]:
    """The models matching ``filter_string`` (and having metrics on ``datasets``)."""
    if datasets and not all(isinstance(d, dict) and d.get("dataset_name") for d in datasets):
        raise InvalidParameterValue("Each entry of `datasets` needs a `dataset_name`.")
    comparisons = (
        read_filter(filter_string, LOGGED_MODELS) if filter_string and filter_string.strip() else ()
    )
    found = list(models)
    if datasets and not any(c.entity == METRIC for c in comparisons):
        found = [m for m in found if any(_on_dataset(x, datasets) for x in m.metrics)]
    for c in comparisons:
        get, test = _getter(c, datasets), value_test(c.comparator, c.value)
        found = [m for m in found if (v := get(m)) is not None and test(v)]
    return found


def sort_models(
    models: Sequence[LoggedModel], order_by: Sequence[dict[str, Any]] | None
) -> list[LoggedModel]:
    """Sorted by the ``order_by`` dicts, then newest first, then by id (MLflow's ties)."""
    clauses = [_clause(o) for o in order_by or []]
    ordered = sorted(models, key=lambda m: m.model_id)
    if not any(f == "creation_timestamp" for f, *_ in clauses):
        ordered.sort(key=lambda m: m.creation_timestamp, reverse=True)
    for field_name, ascending, name, digest in reversed(clauses):
        ordered.sort(key=_sort_key(field_name, ascending, name, digest), reverse=not ascending)
    return ordered


def _clause(order: Any) -> tuple[str, bool, str | None, str | None]:
    if not isinstance(order, dict) or not isinstance(order.get("field_name"), str):
        raise InvalidParameterValue(
            "order_by must be a list of dicts such as "
            "{'field_name': 'metrics.acc', 'ascending': False}."
        )
    name = order["field_name"].strip()
    if "." in name and not name.startswith("metrics."):
        raise InvalidParameterValue(
            f"Cannot order logged models by {name!r}: use metrics.<key> or an attribute."
        )
    if "." not in name:
        name = LOGGED_MODELS.order_aliases.get(name, name)
        if name not in LOGGED_MODELS.attributes:
            raise InvalidParameterValue(
                f"Cannot order logged models by {name!r}; "
                f"use one of {sorted(LOGGED_MODELS.attributes)}."
            )
    ascending = order.get("ascending", True)
    if ascending not in (True, False):
        raise InvalidParameterValue(f"'ascending' of {name!r} must be True or False.")
    if order.get("dataset_digest") and not order.get("dataset_name"):
        raise InvalidParameterValue("order_by's dataset_digest needs a dataset_name.")
    return name, bool(ascending), order.get("dataset_name"), order.get("dataset_digest")


def _sort_key(
    field_name: str, ascending: bool, name: str | None, digest: str | None
) -> Callable[[LoggedModel], tuple[int, Any]]:
    sign = 1 if ascending else -1
    key = field_name.split(".", 1)[1] if field_name.startswith("metrics.") else None

    def value(model: LoggedModel) -> Any:
        if key is None:
            return getattr(model, field_name)
        found = [m for m in model.metrics if m.key == key and (not name or m.dataset_name == name)
                 and (not digest or m.dataset_digest == digest)]  # fmt: skip
        return max(found, key=lambda m: m.timestamp).value if found else None

    def sort_key(model: LoggedModel) -> tuple[int, Any]:
        v = value(model)
        if v is None:
            return (2 * sign, 0)
        if isinstance(v, float) and math.isnan(v):
            return (sign, 0)
        return (0, v)

    return sort_key
