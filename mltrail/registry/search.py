"""MLflow's filter and order_by language for ``search_registered_models`` and
``search_model_versions``, evaluated over entities read from the store.

    filter     := comparison (AND comparison)*
    comparison := key comparator value
    key        := name | tags.<key> | [attribute.]<attribute>  (models: name;
                  versions: name, run_id, source_path, version_number)
    comparator := = != LIKE ILIKE, IN / NOT IN (name, run_id), < <= > >= (version_number)
    value      := 'text' | "text" | number | ('a', 'b', ...)

Keys with spaces or symbols are quoted: tags.`my key`.  A missing tag never matches.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mltrail.errors import InvalidParameterValue
from mltrail.registry.entities import ModelVersion, RegisteredModel
from mltrail.search import like_regex

T = TypeVar("T", RegisteredModel, ModelVersion)

_TOKEN = re.compile(
    r"\s*(?:(?P<ident>[A-Za-z_][\w.]*)|`(?P<bq>(?:[^`]|``)*)`|'(?P<sq>(?:[^']|'')*)'"
    r'|"(?P<dq>(?:[^"]|"")*)"|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),]))'
)
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
_LIST_OPS = ("IN", "NOT IN")
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_ATTRIBUTE_PREFIXES = ("attribute.", "attributes.", "attr.")
_QUOTES = {"bq": "`", "sq": "'", "dq": '"'}


@dataclass(frozen=True)
class _Kind:
    what: str
    attributes: dict[str, tuple[str, ...]]  # filterable attribute -> its comparators
    order_keys: tuple[str, ...]
    default_order: tuple[str, ...]


MODELS = _Kind(
    "registered models",
    {"name": _STRING_OPS + _LIST_OPS},
    ("name", "creation_timestamp", "last_updated_timestamp"),
    ("name ASC",),
)
VERSIONS = _Kind(
    "model versions",
    {
        "name": _STRING_OPS + _LIST_OPS,
        "run_id": _STRING_OPS + _LIST_OPS,
        "source_path": _STRING_OPS,
        "version_number": _NUMERIC_OPS,
    },
    ("name", "version_number", "creation_timestamp", "last_updated_timestamp"),
    ("last_updated_timestamp DESC", "name ASC", "version_number DESC"),
)


def _value_of(item: Any, key: str) -> Any:
    if key == "source_path":
        return item.source
    if key == "version_number":
        return int(item.version)
    return getattr(item, key)


def _tokens(text: str, kind: _Kind) -> list[tuple[str, str]]:
    found, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidParameterValue(
                f"Invalid filter for {kind.what} {text!r}: cannot read {text[pos:].strip()[:20]!r}."
            )
        group = match.lastgroup or ""
        value = match.group(group)
        if group in _QUOTES:
            value = value.replace(_QUOTES[group] * 2, _QUOTES[group])
        found.append((group, value))
        pos = match.end()
    return found


def parse_filter(text: str | None, kind: _Kind) -> list[Callable[[Any], bool]]:
    """The predicates (all must hold) of a filter string; InvalidParameterValue if bad."""
    if text is None or not text.strip():
        return []
    tokens = _tokens(text, kind)
    predicates, i = [], 0
    while True:
        predicate, i = _comparison(tokens, i, text, kind)
        predicates.append(predicate)
        if i == len(tokens):
            return predicates
        if tokens[i][0] != "ident" or tokens[i][1].upper() != "AND":
            _fail(text, kind, f"expected AND, found {tokens[i][1]!r} (OR is not supported)")
        i += 1


def _fail(text: str, kind: _Kind, reason: str) -> Any:
    raise InvalidParameterValue(f"Invalid filter for {kind.what} {text!r}: {reason}.")


def _tag(item: Any, key: str) -> Any:
    return item.tags.get(key)


def _comparison(
    tokens: list[tuple[str, str]], i: int, text: str, kind: _Kind
) -> tuple[Callable[[Any], bool], int]:
    def get(k: int) -> tuple[str, str]:
        return tokens[k] if k < len(tokens) else ("end", "the end")

    group, ident = get(i)
    if group != "ident":
        _fail(text, kind, f"expected a key such as name or tags.<key>, found {ident!r}")
    i += 1
    allowed: tuple[str, ...]
    if ident.lower().startswith(("tag.", "tags.")):
        key = ident.split(".", 1)[1]
        if not key and get(i)[0] in _QUOTES:
            key, i = get(i)[1], i + 1
        if not key:
            _fail(text, kind, f"give a tag key after {ident!r}")
        allowed, getter = _STRING_OPS, functools.partial(_tag, key=key)
    else:
        attr = next((ident[len(p) :] for p in _ATTRIBUTE_PREFIXES if ident.startswith(p)), ident)
        if attr not in kind.attributes:
            valid = ", ".join([*kind.attributes, "tags.<key>"])
            _fail(text, kind, f"unknown key {ident!r}; use {valid}")
        allowed, getter = kind.attributes[attr], functools.partial(_value_of, key=attr)
    op, i = _comparator(i, get)
    if op not in allowed:
        _fail(text, kind, f"comparator {op!r} is not valid for {ident!r}; use {', '.join(allowed)}")
    value, i = _value(i, get, text, kind)
    return _predicate(getter, op, value, text, kind, ident), i


def _comparator(i: int, get: Callable[[int], tuple[str, str]]) -> tuple[str, int]:
    group, raw = get(i)
    word = raw.upper()
    if group == "ident" and word == "NOT" and get(i + 1)[1].upper() == "IN":
        return "NOT IN", i + 2
    return (word if group in ("op", "ident") else raw), i + 1


def _value(
    i: int, get: Callable[[int], tuple[str, str]], text: str, kind: _Kind
) -> tuple[Any, int]:
    group, raw = get(i)
    if group in ("sq", "dq"):
        return raw, i + 1
    if group == "num":
        return float(raw), i + 1
    if (group, raw) == ("punct", "("):
        items, i = [], i + 1
        while True:
            group, raw = get(i)
            if group not in ("sq", "dq"):
                _fail(text, kind, f"expected a quoted string in the list, found {raw!r}")
            items.append(raw)
            group, raw = get(i + 1)
            i += 2
            if raw == ")":
                return tuple(items), i
            if raw != ",":
                _fail(text, kind, f"expected ',' or ')' in the list, found {raw!r}")
    return _fail(text, kind, f"expected a quoted string, a number or a list, found {raw!r}")


def _predicate(
    getter: Callable[[Any], Any], op: str, value: Any, text: str, kind: _Kind, ident: str
) -> Callable[[Any], bool]:
    numeric = op in ("<", "<=", ">", ">=") or isinstance(value, float)
    if op in _LIST_OPS:
        if not isinstance(value, tuple):
            _fail(text, kind, f"{op} needs a list such as ('a', 'b')")
        members = frozenset(value)
        return lambda item: (v := getter(item)) is not None and ((v in members) == (op == "IN"))
    if isinstance(value, tuple):
        _fail(text, kind, f"a list needs IN or NOT IN, not {op!r}")
    if ident.endswith("version_number") != numeric:
        need = "a number" if ident.endswith("version_number") else "a quoted string"
        _fail(text, kind, f"{ident!r} needs {need}")
    if op in ("LIKE", "ILIKE"):
        pattern = like_regex(value, ignore_case=op == "ILIKE")
        return lambda item: (v := getter(item)) is not None and bool(pattern.fullmatch(v))
    compare = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op]
    return lambda item: (v := getter(item)) is not None and compare(v, value)


def parse_order_by(order_by: Sequence[str] | None, kind: _Kind) -> list[tuple[str, bool]]:
    """(attribute, ascending) clauses; the kind's default when none are given."""
    clauses = []
    for clause in order_by or kind.default_order:
        parts = clause.split()
        key = parts[0] if parts else ""
        key = next((key[len(p) :] for p in _ATTRIBUTE_PREFIXES if key.startswith(p)), key)
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if key not in kind.order_keys or direction not in ("ASC", "DESC") or len(parts) > 2:
            raise InvalidParameterValue(
                f"Invalid order_by clause {clause!r} for {kind.what}: use one of "
                f"{', '.join(kind.order_keys)}, then ASC or DESC."
            )
        clauses.append((key, direction == "ASC"))
    return clauses


def search(
    items: list[T], filter_string: str | None, order_by: Sequence[str] | None, kind: _Kind
) -> list[T]:
    """Filter then sort (missing values last) with MLflow's semantics."""
    predicates = parse_filter(filter_string, kind)
    clauses = parse_order_by(order_by, kind)
    found = [item for item in items if all(p(item) for p in predicates)]
    for key, ascending in reversed(clauses):  # stable sorts: the first clause ends up primary
        present = [x for x in found if _value_of(x, key) is not None]
        missing = [x for x in found if _value_of(x, key) is None]
        present.sort(key=functools.partial(_value_of, key=key), reverse=not ascending)
        found = present + missing
    return found
