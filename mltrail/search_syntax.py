"""The syntax of MLflow's ``search_runs`` filter and ``order_by``: parsing and printing.

The grammar is MLflow's (``SearchUtils`` in ``mlflow/utils/search_utils.py``)::

    filter     := comparison (AND comparison)*          -- AND in any case; no OR
    comparison := identifier comparator value
    identifier := [entity "."] key                      -- no entity: an attribute
    entity     := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run
    key        := bare ([A-Za-z0-9_.]+, dots included) | `quoted` | "quoted"
    value      := 'string' | "string" | number | ('id', ...)   -- lists only for run_id
    order_by   := identifier [ASC | DESC]

Numeric attributes accept decimals; a doubled quote inside quotes is one quote;
stray or missing ANDs are errors.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from mltrail.errors import InvalidParameterValue

METRIC, PARAM, TAG, ATTRIBUTE = "metric", "param", "tag", "attribute"

_ENTITY_ALIASES = {
    **dict.fromkeys(("metric", "metrics"), METRIC),
    **dict.fromkeys(("param", "params", "parameter", "parameters"), PARAM),
    **dict.fromkeys(("tag", "tags"), TAG),
    **dict.fromkeys(("attribute", "attributes", "attr", "run"), ATTRIBUTE),
}
_PREFIXES = {METRIC: "metrics", PARAM: "params", TAG: "tags", ATTRIBUTE: "attributes"}

_NUMERIC_ATTRIBUTES = ("end_time", "start_time")
_STRING_ATTRIBUTES = ("artifact_uri", "run_id", "run_name", "status", "user_id")
ATTRIBUTES = frozenset(_NUMERIC_ATTRIBUTES + _STRING_ATTRIBUTES)
_ORDER_ALIASES = dict.fromkeys(("created", "Created"), "start_time")
_FILTER_ALIASES = _ORDER_ALIASES | dict.fromkeys(("run name", "Run name", "Run Name"), "run_name")

_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
LIST_OPS = ("IN", "NOT IN")
_ALL_OPS = (*_NUMERIC_OPS, "LIKE", "ILIKE", *LIST_OPS)
_FUNCS = (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)
COMPARE: dict[str, Callable[[Any, Any], bool]] = dict(zip(_NUMERIC_OPS, _FUNCS, strict=True))

_WORD = re.compile(r"[A-Za-z_]\w*")
_BARE_KEY = re.compile(r"[\w.]+")
_SYMBOL = re.compile(r"[<>=!]+")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_QUOTED = {q: re.compile(f"{q}((?:[^{q}]|{q}{q})*){q}") for q in "'\"`"}

_QUOTE_HINT = "; quote keys with spaces or symbols: metrics.`my-key`, params.`my key`"

Value = float | str | tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    """The attributes one kind of record can be searched by (runs, logged models)."""

    numeric: tuple[str, ...]
    strings: tuple[str, ...]
    #: attributes (and, with ``"*"``, params and tags) that also take IN / NOT IN.
    listable: tuple[str, ...]
    filter_aliases: dict[str, str]
    order_aliases: dict[str, str]

    @property
    def attributes(self) -> frozenset[str]:
        return frozenset(self.numeric + self.strings)


RUNS = Vocabulary(
    _NUMERIC_ATTRIBUTES, _STRING_ATTRIBUTES, ("run_id",), _FILTER_ALIASES, _ORDER_ALIASES
)
#: MLflow's ``search_logged_models`` attributes (``creation_time`` is an alias).
LOGGED_MODELS = Vocabulary(
    ("creation_timestamp", "last_updated_timestamp"),
    ("name", "model_id", "model_type", "status", "source_run_id"),
    ("*", "name", "model_id", "model_type", "status", "source_run_id"),
    {"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
    {"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
)


@dataclass(frozen=True)
class Comparison:
    """One ``<entity>.<key> <comparator> <value>`` term, with canonical names."""

    entity: str  # "metric" | "param" | "tag" | "attribute"
    key: str
    comparator: str  # upper case, e.g. "<=", "ILIKE", "NOT IN"
    value: Value

    def to_string(self) -> str:
        ident = render_identifier(self.entity, self.key)
        return f"{ident} {self.comparator} {render_value(self.value)}"


@dataclass(frozen=True)
class OrderClause:
    entity: str
    key: str
    ascending: bool = True

    def to_string(self) -> str:
        direction = "ASC" if self.ascending else "DESC"
        return f"{render_identifier(self.entity, self.key)} {direction}"


# ---------------------------------------------------------------- parsing


def read_filter(text: str, vocab: Vocabulary = RUNS) -> tuple[Comparison, ...]:
    """The comparisons of a filter string (validated), or InvalidParameterValue."""
    scanner = _Scanner(text, "filter")
    comparisons = [_read_comparison(scanner, vocab)]
    while not scanner.at_end():
        if scanner.keyword("OR"):
            scanner.fail("'OR' is not supported; MLflow filters combine comparisons with AND only")
        if not scanner.keyword("AND"):
            scanner.fail(f"expected AND between comparisons, found {scanner.upcoming()}")
        comparisons.append(_read_comparison(scanner, vocab))
    return tuple(comparisons)


def read_order_by(order_by: tuple[str, ...], vocab: Vocabulary = RUNS) -> tuple[OrderClause, ...]:
    """The clauses of an order_by list (no key twice), or InvalidParameterValue."""
    clauses = tuple(_read_order_clause(text, vocab) for text in order_by)
    seen: set[tuple[str, str]] = set()
    for clause in clauses:
        if (clause.entity, clause.key) in seen:
            shown = render_identifier(clause.entity, clause.key)
            raise InvalidParameterValue(f"order_by {list(order_by)} lists '{shown}' twice")
        seen.add((clause.entity, clause.key))
    return clauses


class _Scanner:
    """A cursor over one filter or order_by string; ``fail`` raises with context."""

    def __init__(self, text: str, what: str) -> None:
        self.text, self.what, self.pos = text, what, 0

    def fail(self, reason: str) -> NoReturn:
        shown = " ".join(self.text.splitlines())
        raise InvalidParameterValue(f"Invalid {self.what} '{shown}': {reason}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group()

    def take_char(self, char: str) -> bool:
        if self.text.startswith(char, self.pos):
            self.pos += len(char)
            return True
        return False

    def quoted(self, quotes: str) -> str | None:
        quote = self.text[self.pos : self.pos + 1]
        if not quote or quote not in quotes:
            return None
        text = self.take(_QUOTED[quote])
        if text is None:
            self.fail(f"the quoted text {self.upcoming()} has no closing {quote}")
        return text[1:-1].replace(quote * 2, quote)

    def keyword(self, *words: str) -> str | None:
        """Consume the next word if it is one of ``words`` (any case)."""
        self.skip_ws()
        found = _WORD.match(self.text, self.pos)
        if found is None or found.group().upper() not in words:
            return None
        self.pos = found.end()
        return found.group().upper()

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= len(self.text)

    def upcoming(self) -> str:
        rest = self.text[self.pos :].split()
        return f"'{rest[0][:30]}'" if rest else "the end"


def _read_order_clause(text: str, vocab: Vocabulary) -> OrderClause:
    scanner = _Scanner(text, "order_by clause")
    entity, key = _read_identifier(scanner, vocab.order_aliases, vocab.attributes)
    direction = "ASC" if scanner.at_end() else scanner.keyword("ASC", "DESC")
    if direction is None:
        scanner.fail(f"expected ASC or DESC after the key, found {scanner.upcoming()}")
    if not scanner.at_end():
        scanner.fail(f"unexpected {scanner.upcoming()} after {direction}")
    return OrderClause(entity, key, direction == "ASC")


def _read_comparison(scanner: _Scanner, vocab: Vocabulary) -> Comparison:
    entity, key = _read_identifier(scanner, vocab.filter_aliases, vocab.attributes)
    comparator = _read_comparator(scanner, render_identifier(entity, key))
    comparison = Comparison(entity, key, comparator, _read_value(scanner))
    wrong = problem(comparison, vocab)
    if wrong:
        scanner.fail(wrong)
    return comparison


def _read_identifier(
    scanner: _Scanner, aliases: dict[str, str], attributes: frozenset[str] = ATTRIBUTES
) -> tuple[str, str]:
    """Read ``entity.key`` (or a bare attribute key) and return canonical names."""
    scanner.skip_ws()
    first = scanner.quoted('`"')
    first = scanner.take(_WORD) if first is None else first
    if first is None:
        scanner.fail(f"expected a key such as metrics.rmse, found {scanner.upcoming()}")
    if not scanner.take_char("."):
        return ATTRIBUTE, _attribute_key(scanner, first, aliases, attributes)
    entity = _entity(scanner, first)
    key = scanner.quoted('`"')
    key = scanner.take(_BARE_KEY) if key is None else key
    if not key:
        scanner.fail(f"expected a key after '{first}.', found {scanner.upcoming()}")
    if entity == ATTRIBUTE:
        return entity, _attribute_key(scanner, key, aliases, attributes)
    return entity, key


def _entity(scanner: _Scanner, name: str) -> str:
    if name in ("dataset", "datasets"):
        scanner.fail(f"'{name}.' filters are not supported: mltrail records no dataset inputs")
    if name not in _ENTITY_ALIASES:
        scanner.fail(f"unknown entity '{name}'; use metrics., params., tags. or attributes.")
    return _ENTITY_ALIASES[name]


def _attribute_key(
    scanner: _Scanner, key: str, aliases: dict[str, str], attributes: frozenset[str]
) -> str:
    key = aliases.get(key, key)
    if key not in attributes:
        valid = ", ".join(sorted(attributes | aliases.keys(), key=str.lower))
        scanner.fail(f"unknown attribute '{key}'; use one of {valid}")
    return key


def _read_comparator(scanner: _Scanner, ident: str) -> str:
    scanner.skip_ws()
    raw = scanner.take(_SYMBOL) or scanner.take(_WORD)
    if raw is None:
        found = scanner.upcoming()
        scanner.fail(f"expected a comparator after '{ident}', found {found}{_QUOTE_HINT}")
    if raw.upper() in ("NOT", "IS"):
        scanner.skip_ws()
        raw = f"{raw} {scanner.take(_WORD) or ''}".strip()
    symbol = raw.upper()
    if symbol.split()[0] == "IS":
        scanner.fail(
            f"'{raw}' (NULL tests) is not supported for runs; a run without the key never"
            " matches, so e.g. tags.x LIKE '%' keeps the runs that have tag x"
        )
    if symbol not in _ALL_OPS:
        hint = _QUOTE_HINT if raw[0].isalpha() else ""
        scanner.fail(f"unknown comparator '{raw}'; use one of {', '.join(_ALL_OPS)}{hint}")
    return symbol


def _read_value(scanner: _Scanner) -> Value:
    scanner.skip_ws()
    text = scanner.quoted("'\"")
    if text is not None:
        return text
    number = scanner.take(_NUMBER)
    if number is not None:
        return float(number)
    if scanner.take_char("("):
        return _read_list(scanner)
    scanner.fail(f"expected a quoted string, a number or a list, found {scanner.upcoming()}")


def _read_list(scanner: _Scanner) -> tuple[str, ...]:
    items: list[str] = []
    while True:
        scanner.skip_ws()
        if not items and scanner.take_char(")"):
            scanner.fail("an IN list needs at least one value, e.g. ('a', 'b')")
        item = scanner.quoted("'\"")
        if item is None:
            scanner.fail(f"expected a quoted string in the list, found {scanner.upcoming()}")
        items.append(item)
        scanner.skip_ws()
        if scanner.take_char(")"):
            return tuple(items)
        if not scanner.take_char(","):
            scanner.fail(f"expected ',' or ')' in the list, found {scanner.upcoming()}")


def problem(c: Comparison, vocab: Vocabulary = RUNS) -> str | None:
    """What is wrong with a comparison (wrong comparator or value type), if anything."""
    allowed = _allowed_comparators(c.entity, c.key, vocab)
    label = f"{c.entity} '{c.key}'"
    if not allowed:
        return f"unknown {label}; use a metric, param, tag or one of {sorted(vocab.attributes)}"
    if c.comparator not in allowed:
        return (
            f"comparator '{c.comparator}' is not valid for {label}; use one of {', '.join(allowed)}"
        )
    value = c.value
    if c.comparator in LIST_OPS:
        ok = isinstance(value, tuple) and bool(value) and all(isinstance(v, str) for v in value)
        need = "a list of quoted strings, e.g. ('a', 'b')"
    elif _is_numeric(c.entity, c.key, vocab):
        ok, need = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    else:
        ok, need = isinstance(value, str), "a quoted string"
    return None if ok else f"{label} needs {need}, got {render_value(value)}"


def _is_numeric(entity: str, key: str, vocab: Vocabulary = RUNS) -> bool:
    return entity == METRIC or (entity == ATTRIBUTE and key in vocab.numeric)


def _allowed_comparators(entity: str, key: str, vocab: Vocabulary) -> tuple[str, ...]:
    if _is_numeric(entity, key, vocab):
        return _NUMERIC_OPS
    listable = (entity == ATTRIBUTE and key in vocab.listable) or (
        entity in (PARAM, TAG) and "*" in vocab.listable
    )
    if listable:
        return _STRING_OPS + LIST_OPS
    if entity in (PARAM, TAG) or (entity == ATTRIBUTE and key in vocab.attributes):
        return _STRING_OPS
    return ()


# ---------------------------------------------------------------- rendering


def render_identifier(entity: str, key: str) -> str:
    shown = key if _BARE_KEY.fullmatch(key) else "`" + key.replace("`", "``") + "`"
    return f"{_PREFIXES.get(entity, entity)}.{shown}"


def render_value(value: object) -> str:
    if isinstance(value, str):
        quote = '"' if "'" in value and '"' not in value else "'"
        return quote + value.replace(quote, quote * 2) + quote
    if isinstance(value, tuple):
        return "(" + ", ".join(render_value(v) for v in value) + ")"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
