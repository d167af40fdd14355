"""Checking inference params against a model's params schema (defaults filled in)."""

from __future__ import annotations

import logging
from typing import Any

from mltrail.models.enforce import ModelSchemaError, check_value, type_name
from mltrail.models.schema import DataType, ParamSchema, ParamSpec

log = logging.getLogger(__name__)


def enforce_params(
    params: dict[str, Any] | None, schema: ParamSchema | None
) -> dict[str, Any] | None:
    """Params checked against the schema, defaults filled in (None if the model has none)."""
    if schema is None:
        if params:
            log.warning("This model's signature declares no params; ignoring %s.", sorted(params))
        return None
    given = dict(params or {})
    unknown = sorted(set(given) - {p.name for p in schema.params})
    if unknown:
        log.warning("Ignoring params %s: the model's signature does not declare them.", unknown)
    out, problems = {}, []
    for spec in schema.params:
        if spec.name not in given:
            out[spec.name] = spec.default
            continue
        try:
            out[spec.name] = _param_value(given[spec.name], spec)
        except ValueError as e:
            problems.append(f"param {spec.name!r}: expected {_param_text(spec)}, got {e}")
    if problems:
        raise ModelSchemaError("Params do not match the model's signature: " + "; ".join(problems))
    return out


def _param_text(spec: ParamSpec) -> str:
    text = type_name(spec.dtype)
    return f"a list of {text}" if spec.shape else text


def _param_value(value: Any, spec: ParamSpec) -> Any:
    if spec.shape:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{type(value).__name__} {value!r}")
        return [_param_value(v, ParamSpec(spec.name, spec.dtype, v)) for v in value]
    check_value(value, spec.dtype)
    if spec.dtype in (DataType.float, DataType.double):
        return float(value)
    return value
