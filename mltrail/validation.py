"""Checks on what users log, with MLflow's rules and limits.

Each violation raises :class:`InvalidParameterValue` with a message that names the
key or value and says what is allowed.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from typing import Any

from mltrail.errors import InvalidParameterValue

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 500

#: MLflow's rule for keys: word characters of any script, and ``/ . - : `` and space.
_KEY_RE = re.compile(r"^[/\w.\- :]+$")
#: The suffix of a metric history file (``mltrail.store.layout.METRIC_SUFFIX``).
METRIC_FILE_SUFFIX = ".tsv"
_KEY_RULE = "letters, digits, '_', '-', '.', ':', ' ' and '/', at most 250 characters"
#: The longest name a file system takes for one path component (bytes, on Linux).
MAX_FILE_NAME_BYTES = 255
#: Characters a metric key keeps as they are in the name of its history file: every
#: file system holds them; any other is written as ``%XX`` of its UTF-8 bytes.
_FILE_NAME_SAFE = "/ "


def key_file_name(key: str, suffix: str = METRIC_FILE_SUFFIX) -> str:
    """The name of ``key``'s history file under ``metrics/`` (its sub-folders included;
    ``suffix``: another extension, for files named after a key elsewhere, such as the
    site's CSV copies).

    ASCII letters, digits, ``_ - . /`` and space stay; others (``:``, letters outside
    ASCII) become ``%XX`` of their UTF-8 bytes, so a key is a name Windows and macOS hold
    as they are and that reads back as the same key (``%`` is never in a key).
    """
    if key.isascii() and ":" not in key:
        return key + suffix  # the common case, as stores always named them
    from urllib.parse import quote

    return quote(key, safe=_FILE_NAME_SAFE) + suffix


def key_of_file_name(name: str) -> str:
    """The metric key whose history file is ``name`` (``key_file_name`` reversed)."""
    stem = name[: -len(METRIC_FILE_SUFFIX)]
    if "%" not in stem:
        return stem
    from urllib.parse import unquote

    return unquote(stem, errors="replace")  # a name no key makes reads as a key not found


def validate_key(kind: str, key: Any) -> str:
    """Return ``key`` if it is a valid param, metric or tag key, else raise."""
    if not isinstance(key, str):
        raise InvalidParameterValue(
            f"Invalid {kind} key {key!r}: keys must be strings ({_KEY_RULE})."
        )
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY_RE.match(key):
        raise InvalidParameterValue(f"Invalid {kind} key {_shown(key)!r}: use {_KEY_RULE}.")
    parts = _check_path(kind, key).split("/")
    if kind == "metric" and any(p.endswith(METRIC_FILE_SUFFIX) for p in parts[:-1]):
        raise InvalidParameterValue(
            f"Invalid metric key {key!r}: a segment before a '/' may not end in "
            f"{METRIC_FILE_SUFFIX!r} (the history of the metric "
            f"{key.split(METRIC_FILE_SUFFIX + '/')[0]!r} is stored under that name)."
        )
    if kind == "metric":
        names = key_file_name(key).split("/")
        if any(len(n.encode()) > MAX_FILE_NAME_BYTES for n in names):
            raise InvalidParameterValue(
                f"Invalid metric key {_shown(key)!r}: its history file's name would be "
                f"over {MAX_FILE_NAME_BYTES} bytes (characters other than ASCII letters, "
                "digits, '_-. ' take 3 to 12 bytes each); use a shorter key or split it "
                "with '/'."
            )
    return key


def validate_read_key(kind: str, key: Any) -> str:
    """Return ``key`` if it can name a file of the store, else raise.

    Looking a key up follows the rules of :func:`validate_key` that keep it a path
    inside the run (no ``..``, no leading ``/``, no control characters such as NUL, at
    most 250 characters); other characters are allowed, as a key written by another
    tool may hold them.
    """
    if not isinstance(key, str):
        raise InvalidParameterValue(f"Invalid {kind} key {key!r}: keys must be strings.")
    if not key or len(key) > MAX_KEY_LENGTH or "\\" in key or first_unprintable(key):
        raise InvalidParameterValue(
            f"Invalid {kind} key {_shown(key)!r}: keys are 1 to {MAX_KEY_LENGTH} "
            "characters, without control characters or '\\'."
        )
    return _check_path(kind, key)


def _shown(key: str) -> str:
    return key if len(key) <= 60 else key[:57] + "..."


def _check_path(kind: str, key: str) -> str:
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidParameterValue(
            f"Invalid {kind} key {key!r}: a key may not start with '/', contain '//' "
            "or use '.' or '..' as a path segment."
        )
    return key


def _text_value(kind: str, key: str, value: Any, limit: int, hint: str = "") -> str:
    """Params and tags are stored as strings, like MLflow's; return the string form."""
    text = str(value)
    if len(text) > limit:
        raise InvalidParameterValue(
            f"{kind} {key!r} value has {len(text)} characters; the limit is {limit}.{hint}"
        )
    return text


def validate_param_value(key: str, value: Any) -> str:
    hint = " Log long values as an artifact (log_text)."
    return _text_value("Param", key, value, MAX_PARAM_VALUE_LENGTH, hint)


def validate_tag_value(key: str, value: Any) -> str:
    return _text_value("Tag", key, value, MAX_TAG_VALUE_LENGTH)


def metric_value(key: str, value: Any) -> float:
    """Return ``value`` as a float; NaN and +/-inf are accepted, strings are not."""
    if value.__class__ is float:
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return float(value)  # type: ignore[arg-type]
    raise InvalidParameterValue(
        f"Invalid value {value!r} for metric {key!r}: metric values must be numbers "
        "(int or float; NaN and infinity are allowed)."
    )


def metric_step(key: str, step: Any) -> int:
    if step is None:
        return 0
    if step.__class__ is int:
        return step
    if isinstance(step, numbers.Integral) and not isinstance(step, bool):
        return int(step)
    raise InvalidParameterValue(
        f"Invalid step {step!r} for metric {key!r}: steps must be integers."
    )


def metric_timestamp(key: str, timestamp: Any) -> int:
    if isinstance(timestamp, numbers.Integral) and not isinstance(timestamp, bool):
        return int(timestamp)
    if isinstance(timestamp, float) and math.isfinite(timestamp):
        return int(timestamp)
    raise InvalidParameterValue(
        f"Invalid timestamp {timestamp!r} for metric {key!r}: use milliseconds since the epoch."
    )


def validate_run_name(name: Any) -> str:
    text = str(name)
    if not text.strip() or len(text) > MAX_RUN_NAME_LENGTH or "\n" in text:
        raise InvalidParameterValue(
            f"Invalid run name {text[:60]!r}: use one line of 1 to "
            f"{MAX_RUN_NAME_LENGTH} characters."
        )
    return text


def first_unprintable(text: str) -> str | None:
    """The first control or unprintable character of ``text`` (None if it has none).

    Such characters in a name could rewrite a terminal line or hide in a listing."""
    for c in text:
        if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in "\ufeff\ufffe\uffff":
            return c
    return None


def validate_experiment_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterValue(f"Invalid experiment name {name!r}: use a non-empty string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH or "\n" in name:
        raise InvalidParameterValue(
            f"Invalid experiment name {name[:60]!r}: use one line of at most "
            f"{MAX_EXPERIMENT_NAME_LENGTH} characters."
        )
    bad = first_unprintable(name)
    if bad is not None:
        raise InvalidParameterValue(
            f"Invalid experiment name {name[:60]!r}: control or unprintable character "
            f"U+{ord(bad):04X} is not allowed."
        )
    return name
