"""MLflow's ``search_runs`` filter and ``order_by``, evaluated in memory over runs.

The language itself (grammar, parsing, printing) is in :mod:`mltrail.search_syntax`.

A run missing the key never matches, whatever the comparator.  Sorting is by
``start_time DESC, run_id`` under the order_by clauses, each of which puts values
first, then NaN, then missing keys, in either direction.

Unlike MLflow's file store (which builds Python regexes), LIKE treats regex
characters literally, as SQL does.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mltrail.entities import Run
from mltrail.errors import InvalidParameterValue
from mltrail.search_syntax import (
    ATTRIBUTE,
    ATTRIBUTES,
    COMPARE,
    LIST_OPS,
    METRIC,
    PARAM,
    TAG,
    Comparison,
    OrderClause,
    Value,
    problem,
    read_filter,
    read_order_by,
)

__all__ = [
    "Comparison",
    "OrderClause",
    "Rows",
    "RunFilter",
    "RunList",
    "filter_and_sort",
    "like_regex",
    "parse_filter",
    "parse_order_by",
    "select",
    "sort_runs",
]


class Rows(Protocol):
    """Runs seen as numbered rows whose values are read by column: a list of runs, or the
    run index's cache (``mltrail.store.index.RunRows``), where a run is built only when
    it is returned."""

    def __len__(self) -> int: ...

    def values(self, entity: str, key: str) -> Callable[[int], Any]:
        """Row number → the row's ``entity`` ``key`` (a RunInfo field for attributes)."""
        ...


@dataclass(frozen=True)
class RunFilter:
    """A parsed filter: the AND of its comparisons (none: matches every run)."""

    comparisons: tuple[Comparison, ...] = ()

    def matches(self, run: Run) -> bool:
        """Whether ``run`` passes every comparison."""
        rows = RunList([run])
        return all(_matching(rows, c, [0]) for c in self.comparisons)

    def to_string(self) -> str:
        return " AND ".join(c.to_string() for c in self.comparisons)


# ---------------------------------------------------------------- public API


def parse_filter(filter_string: str | None) -> RunFilter:
    """Parse an MLflow filter string; raise InvalidParameterValue naming the bad part."""
    if filter_string is None or not filter_string.strip():
        return RunFilter()
    return _parse_filter_cached(filter_string)


def parse_order_by(order_by: Sequence[str] | None) -> tuple[OrderClause, ...]:
    """Parse MLflow order_by clauses such as ``"metrics.rmse DESC"``."""
    if not order_by:
        return ()
    if isinstance(order_by, str):
        raise InvalidParameterValue(f"order_by must be a list of strings, got '{order_by}'")
    return _parse_order_by_cached(tuple(order_by))


def sort_runs(runs: Iterable[Run], order_by: Sequence[str] | None) -> list[Run]:
    return filter_and_sort(runs, None, order_by)


def filter_and_sort(
    runs: Iterable[Run],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int | None = None,
) -> list[Run]:
    """MLflow's search_runs over runs already read: filter, sort, then cut to max_results."""
    found = list(runs)
    return [found[i] for i in select(RunList(found), filter_string, order_by, max_results)]


def select(
    rows: Rows,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int | None = None,
    where: Callable[[int], bool] | None = None,
) -> list[int]:
    """MLflow's search_runs over ``rows`` (those ``where`` accepts): the rows that match,
    sorted, cut to max_results."""
    run_filter = parse_filter(filter_string)
    clauses = parse_order_by(order_by)
    if max_results is not None and max_results < 0:
        raise InvalidParameterValue(f"max_results must be 0 or more, got {max_results}")
    picked: Iterable[int] = range(len(rows))
    for c in run_filter.comparisons:  # one column at a time, over the rows still in
        picked = _matching(rows, c, picked)
    if where is not None:  # last: a filter usually leaves far fewer rows to ask about
        picked = filter(where, picked)
    ordered = _sort(rows, picked, clauses)
    return ordered if max_results is None else ordered[:max_results]


class RunList:
    """:class:`Rows` over runs already built."""

    def __init__(self, runs: list[Run]) -> None:
        self.runs = runs

    def __len__(self) -> int:
        return len(self.runs)

    def values(self, entity: str, key: str) -> Callable[[int], Any]:
        runs = self.runs
        if entity == METRIC:
            return lambda i: runs[i].data.metrics.get(key)
        if entity == PARAM:
            return lambda i: runs[i].data.params.get(key)
        if entity == TAG:
            return lambda i: runs[i].data.tags.get(key)
        return lambda i: getattr(runs[i].info, key, None)


# ---------------------------------------------------------------- evaluation


def _getter(rows: Rows, entity: str, key: str) -> Callable[[int], Any]:
    if entity in (METRIC, PARAM, TAG) or (entity == ATTRIBUTE and key in ATTRIBUTES):
        return rows.values(entity, key)
    raise InvalidParameterValue(
        f"Cannot search {entity} '{key}'; use a metric, param, tag or run attribute"
    )


def value_test(comparator: str, value: Value) -> Callable[[Any], bool]:
    """A test of a left-hand value against ``value`` with ``comparator`` (any record kind)."""
    if comparator in ("LIKE", "ILIKE"):
        pattern = like_regex(str(value), ignore_case=comparator == "ILIKE")
        return lambda lhs: pattern.fullmatch(lhs) is not None
    if comparator in LIST_OPS:
        members = frozenset(value if isinstance(value, tuple) else (value,))
        return members.__contains__ if comparator == "IN" else lambda lhs: lhs not in members
    # ``value > lhs`` is ``lhs < value``: the test is then one call of the operator
    return functools.partial(_MIRRORED[COMPARE[comparator]], value)


_MIRRORED = {
    operator.eq: operator.eq,
    operator.ne: operator.ne,
    operator.lt: operator.gt,
    operator.le: operator.ge,
    operator.gt: operator.lt,
    operator.ge: operator.le,
}


def _matching(rows: Rows, c: Comparison, picked: Iterable[int]) -> list[int]:
    """The rows of ``picked`` that have a value for ``c`` and pass it."""
    wrong = problem(c)
    if wrong:
        raise InvalidParameterValue(f"Invalid comparison '{c.to_string()}': {wrong}")
    get, test = _getter(rows, c.entity, c.key), value_test(c.comparator, c.value)
    return [row for row in picked if (lhs := get(row)) is not None and test(lhs)]


def like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """SQL LIKE: ``%`` is any run of characters, ``_`` one character, the rest literal."""
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _sort(rows: Rows, picked: Iterable[int], clauses: tuple[OrderClause, ...]) -> list[int]:
    start, run_id = rows.values(ATTRIBUTE, "start_time"), rows.values(ATTRIBUTE, "run_id")
    # newest first, then by id: two stable sorts, each keyed by the column itself
    ordered = sorted(picked, key=run_id)
    ordered.sort(key=start, reverse=True)
    for clause in reversed(clauses):  # stable sorts: the first clause ends up primary
        ordered.sort(key=_sort_key(rows, clause), reverse=not clause.ascending)
    return ordered


def _sort_key(rows: Rows, clause: OrderClause) -> Callable[[int], tuple[int, Any]]:
    """Values first, then NaN, then missing, whichever the direction (as MLflow)."""
    get = _getter(rows, clause.entity, clause.key)
    sign = 1 if clause.ascending else -1  # reverse=True flips the rank back

    def key(row: int) -> tuple[int, Any]:
        value = get(row)
        if value is None:
            return (2 * sign, 0)
        if isinstance(value, float) and math.isnan(value):
            return (sign, 0)
        return (0, value)

    return key


@functools.lru_cache(maxsize=256)
def _parse_filter_cached(text: str) -> RunFilter:
    return RunFilter(read_filter(text))


@functools.lru_cache(maxsize=256)
def _parse_order_by_cached(order_by: tuple[str, ...]) -> tuple[OrderClause, ...]:
    return read_order_by(order_by)
