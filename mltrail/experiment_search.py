"""MLflow's ``search_experiments`` filter and order_by, evaluated in memory.

Filters compare ``name`` (``= != LIKE ILIKE``), ``creation_time`` and
``last_update_time`` (``= != < <= > >=``) or ``tags.<key>`` (``= != LIKE ILIKE``),
joined with AND; an ``attribute.``/``attributes.`` prefix is allowed.  The default order
is ``creation_time DESC, experiment_id``, as MLflow's.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from mltrail.entities import Experiment
from mltrail.errors import InvalidParameterValue
from mltrail.search import like_regex

_TERM = re.compile(
    r"""\s*(?P<ident>(?:(?:attributes?|tags?)\.)?(?:`[^`]+`|"[^"]+"|[\w.]+))
        \s*(?P<op>!=|<=|>=|=|<|>|(?i:ILIKE|LIKE))
        \s*(?P<value>'(?:[^']|'')*'|"(?:[^"]|"")*"|-?\d+(?:\.\d+)?)
        \s*(?P<end>(?i:AND)\s+|$)""",
    re.VERBOSE,
)
_NUMERIC = ("creation_time", "last_update_time")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ORDER_KEYS = ("name", "experiment_id", "creation_time", "last_update_time")
Predicate = Callable[[Experiment], bool]


def _unquote(text: str) -> str:
    if text[:1] in "`\"'" and text[-1:] == text[:1]:
        return text[1:-1].replace(text[0] * 2, text[0])
    return text


def _field(ident: str, filter_string: str) -> tuple[str, str]:
    entity, dot, key = ident.partition(".")
    if not dot or (_unquote(ident) != ident and not entity.startswith(("tag", "attr"))):
        entity, key = "attribute", ident
    key = _unquote(key)
    if entity.startswith("tag"):
        return "tag", key
    if key not in ("name", *_NUMERIC):
        raise InvalidParameterValue(
            f"Invalid experiment filter {filter_string!r}: unknown attribute {key!r}; use name, "
            "creation_time, last_update_time or tags.<key>."
        )
    return "attribute", key


def _predicate(kind: str, key: str, op: str, raw: str, filter_string: str) -> Predicate:
    numeric = kind == "attribute" and key in _NUMERIC
    quoted = raw[:1] in "'\""
    if numeric == quoted or (numeric and op.upper() in ("LIKE", "ILIKE")):
        need = "a number and = != < <= > >=" if numeric else "a quoted string and = != LIKE ILIKE"
        raise InvalidParameterValue(
            f"Invalid experiment filter {filter_string!r}: {key!r} takes {need}."
        )
    value: Any = float(raw) if numeric else _unquote(raw)

    def get(exp: Experiment) -> Any:
        return exp.tags.get(key) if kind == "tag" else getattr(exp, key)

    if op.upper() in ("LIKE", "ILIKE"):
        pattern = like_regex(value, ignore_case=op.upper() == "ILIKE")
        return lambda exp: (v := get(exp)) is not None and pattern.fullmatch(v) is not None
    if op in ("<", "<=", ">", ">=") and not numeric:
        raise InvalidParameterValue(
            f"Invalid experiment filter {filter_string!r}: {key!r} takes = != LIKE ILIKE."
        )
    compare = _OPS[op]
    return lambda exp: (v := get(exp)) is not None and compare(v, value)


@functools.lru_cache(maxsize=64)
def parse_experiment_filter(filter_string: str) -> tuple[Predicate, ...]:
    predicates = []
    pos = 0
    text = filter_string.strip()
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or (m.group("end") == "" and m.end() < len(text)):
            raise InvalidParameterValue(
                f"Invalid experiment filter {filter_string!r} near {text[pos : pos + 30]!r}: "
                "use e.g. \"name LIKE 'churn%' AND tags.team = 'growth'\"."
            )
        kind, key = _field(m.group("ident"), filter_string)
        predicates.append(_predicate(kind, key, m.group("op"), m.group("value"), filter_string))
        pos = m.end()
    if text and text.upper().endswith(" AND"):
        raise InvalidParameterValue(
            f"Invalid experiment filter {filter_string!r}: it ends with AND."
        )
    return tuple(predicates)


def _sort_key(field: str) -> Callable[[Experiment], tuple[int, Any]]:
    def key(exp: Experiment) -> tuple[int, Any]:
        value = getattr(exp, field)
        if field == "experiment_id":
            value = (len(value), value)
        return (1, 0) if value is None else (0, value)

    return key


def search_experiments(
    experiments: Sequence[Experiment], filter_string: str | None, order_by: Sequence[str] | None
) -> list[Experiment]:
    predicates = parse_experiment_filter(filter_string or "")
    found = [e for e in experiments if all(p(e) for p in predicates)]
    found.sort(key=_sort_key("experiment_id"))
    found.sort(key=_sort_key("creation_time"), reverse=not order_by)
    for clause in reversed(order_by or []):
        parts = clause.split()
        field = parts[0].removeprefix("attributes.").removeprefix("attribute.") if parts else ""
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if field not in _ORDER_KEYS or direction not in ("ASC", "DESC") or len(parts) > 2:
            raise InvalidParameterValue(
                f"Invalid order_by clause {clause!r}: use one of "
                f"{', '.join(_ORDER_KEYS)}, then ASC or DESC."
            )
        found.sort(key=_sort_key(field), reverse=direction == "DESC")
    return found
