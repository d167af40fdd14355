"""Checks on what users pass to the registry: model names, versions, stages, aliases."""

from __future__ import annotations

import re
from typing import Any

from mltrail import validation
from mltrail.errors import InvalidParameterValue
from mltrail.registry.entities import ModelVersionStage

MAX_MODEL_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
_ALIAS_RE = re.compile(r"[\w\-]+")
_VERSION_ALIAS_RE = re.compile(r"[vV]\d+")
_STAGES = {s.lower(): s for s in ModelVersionStage.ALL}


def check_model_name(name: Any) -> str:
    """Any text (spaces, accents ... as MLflow allows), but not empty, without control
    characters, and without ``/`` or ``:``, which would break ``models:/`` URIs."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterValue(
            f"Invalid model name {name!r}: give a non-empty name such as 'churn'."
        )
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise InvalidParameterValue(
            f"Invalid model name {name[:40]!r}...: at most {MAX_MODEL_NAME_LENGTH} characters."
        )
    bad = validation.first_unprintable(name)
    if bad is not None:
        raise InvalidParameterValue(
            f"Invalid model name {name!r}: control or unprintable character "
            f"U+{ord(bad):04X} is not allowed."
        )
    if "/" in name or ":" in name:
        raise InvalidParameterValue(
            f"Invalid model name {name!r}: names cannot contain '/' or ':' "
            "(they would break models:/ URIs)."
        )
    return name


def check_version(version: Any) -> int:
    """A version number given as an int or a string of digits."""
    if isinstance(version, bool):
        version = None
    text = str(version).strip()
    if isinstance(version, int) or (text.isascii() and text.isdigit()):
        number = int(text)
        if number >= 1:
            return number
    raise InvalidParameterValue(
        f"Invalid model version {version!r}: versions are whole numbers from 1, e.g. 3."
    )


def check_stage(stage: Any) -> str:
    """The canonical stage for ``stage`` in any case ('production' -> 'Production')."""
    canonical = _STAGES.get(str(stage).strip().lower()) if stage is not None else "None"
    if canonical is None:
        raise InvalidParameterValue(
            f"Invalid stage {stage!r}: use one of {', '.join(ModelVersionStage.ALL)}."
        )
    return canonical


def check_alias(alias: Any) -> str:
    """MLflow's alias rules: letters, digits, ``_`` and ``-``; not ``latest`` nor ``v<N>``."""
    if not isinstance(alias, str) or not alias:
        raise InvalidParameterValue("Invalid alias '': give a name such as 'champion'.")
    if not _ALIAS_RE.fullmatch(alias) or len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidParameterValue(
            f"Invalid alias {alias!r}: use letters, digits, '_' and '-' "
            f"(at most {MAX_ALIAS_LENGTH} characters)."
        )
    if alias.lower() == "latest":
        raise InvalidParameterValue(
            "The alias 'latest' is reserved (models:/name/latest is the newest version)."
        )
    if _VERSION_ALIAS_RE.fullmatch(alias):
        raise InvalidParameterValue(
            f"The alias {alias!r} is reserved: aliases of the form v<number> would "
            "read as version numbers."
        )
    return alias


def check_tags(tags: dict[str, Any] | None) -> dict[str, str]:
    return {
        validation.validate_key("tag", k): validation.validate_tag_value(k, v)
        for k, v in (tags or {}).items()
    }


def check_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InvalidParameterValue(f"Invalid description {description!r}: give text.")
    return description
