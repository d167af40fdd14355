"""Schemas of model inputs, outputs and params, in MLflow's JSON form.

An MLmodel file keeps each part of a signature as a JSON *string* (a list of column,
tensor or param specs); :meth:`Schema.to_json` / :meth:`Schema.from_json` write and
read exactly the text MLflow 3 does, so either tool reads the other's signatures.
This module needs no numpy: tensor dtypes are kept as numpy dtype names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from mltrail.errors import InvalidParameterValue


class DataType(Enum):
    """The scalar types of a column (MLflow's names)."""

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Array:
    """A JSON array whose items all have ``dtype``."""

    dtype: ColType

    def to_dict(self) -> dict[str, Any]:
        return {"type": "array", "items": type_to_dict(self.dtype)}


@dataclass(frozen=True)
class Property:
    """One named field of an :class:`Object`."""

    name: str
    dtype: ColType
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {self.name: {**type_to_dict(self.dtype), "required": self.required}}


@dataclass(frozen=True)
class Object:
    """A JSON object with known properties (kept sorted by name, as MLflow does)."""

    properties: tuple[Property, ...]

    def __post_init__(self) -> None:
        props = tuple(sorted(self.properties, key=lambda p: p.name))
        names = [p.name for p in props]
        if not props or len(set(names)) != len(names):
            raise InvalidParameterValue(
                f"Invalid object type {names}: it needs at least one property, names unique."
            )
        object.__setattr__(self, "properties", props)

    def to_dict(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for prop in self.properties:
            merged.update(prop.to_dict())
        return {"type": "object", "properties": merged}


@dataclass(frozen=True)
class Map:
    """A JSON object with string keys and values of one type."""

    value_type: ColType

    def to_dict(self) -> dict[str, Any]:
        return {"type": "map", "values": type_to_dict(self.value_type)}


@dataclass(frozen=True)
class AnyType:
    """Any JSON value, None included (no check at all)."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "any"}


ColType = DataType | Array | Object | Map | AnyType


def _type_repr(dtype: ColType) -> str:
    return dtype.value if isinstance(dtype, DataType) else repr(dtype)


def type_to_dict(dtype: ColType) -> dict[str, Any]:
    return {"type": dtype.value} if isinstance(dtype, DataType) else dtype.to_dict()


@dataclass(frozen=True)
class ColSpec:
    """A column: its type, its name (None: by position) and whether it must be present."""

    type: ColType
    name: str | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.type, str):
            object.__setattr__(self, "type", data_type(self.type))

    def __repr__(self) -> str:
        named = f"{self.name!r}: " if self.name is not None else ""
        return f"{named}{_type_repr(self.type)} ({'required' if self.required else 'optional'})"

    def to_dict(self) -> dict[str, Any]:
        out = type_to_dict(self.type)
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    """A tensor: a numpy dtype name and a shape where -1 means "any size"."""

    type: str
    shape: tuple[int, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", getattr(self.type, "name", str(self.type)))
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @property
    def required(self) -> bool:
        return True

    def __repr__(self) -> str:
        named = f"{self.name!r}: " if self.name is not None else ""
        return f"{named}Tensor({self.type!r}, {self.shape!r})"

    def to_dict(self) -> dict[str, Any]:
        spec = {"type": "tensor", "tensor-spec": {"dtype": self.type, "shape": list(self.shape)}}
        return spec if self.name is None else {"name": self.name, **spec}


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Schema:
    """The inputs (or outputs) of a model: column specs or tensor specs, never both."""

    inputs: tuple[Spec, ...]

    def __init__(self, inputs: Sequence[Spec]) -> None:
        specs = tuple(inputs)
        if not specs:
            raise InvalidParameterValue("A schema needs at least one column or tensor spec.")
        kinds = {type(s) for s in specs}
        if len(kinds) > 1:
            raise InvalidParameterValue("A schema mixes column and tensor specs; use one kind.")
        names = [s.name for s in specs]
        if any(n is not None for n in names) and (None in names or len(set(names)) != len(names)):
            raise InvalidParameterValue(
                f"Invalid schema names {names}: name every spec, each once, or name none."
            )
        object.__setattr__(self, "inputs", specs)

    def __iter__(self) -> Iterator[Spec]:
        return iter(self.inputs)

    def __len__(self) -> int:
        return len(self.inputs)

    def is_tensor_spec(self) -> bool:
        return isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return self.inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        return [s.name if s.name is not None else i for i, s in enumerate(self.inputs)]

    def required_input_names(self) -> list[str | int]:
        names = self.input_names()
        return [n for n, s in zip(names, self.inputs, strict=True) if s.required]

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Schema:
        return cls([spec_from_dict(d) for d in _json_list(text, "schema")])

    def __repr__(self) -> str:
        return repr(list(self.inputs))


@dataclass(frozen=True)
class ParamSpec:
    """An inference parameter: name, type, default, and shape None (scalar) or (-1,) (list)."""

    name: str
    dtype: DataType | Object
    default: Any
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.dtype, str):
            object.__setattr__(self, "dtype", data_type(self.dtype))
        if self.dtype == DataType.binary:
            raise InvalidParameterValue(f"Param {self.name!r}: binary params are not supported.")
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))
        if self.shape not in (None, (-1,)):
            raise InvalidParameterValue(
                f"Param {self.name!r} has shape {self.shape}: use None (scalar) or (-1,) (list)."
            )

    def __repr__(self) -> str:
        shape = f" (shape: {self.shape})" if self.shape is not None else ""
        return f"{self.name!r}: {_type_repr(self.dtype)} (default: {self.default}){shape}"

    def to_dict(self) -> dict[str, Any]:
        default = self.default
        if self.dtype == DataType.datetime:
            default = [_iso(v) for v in default] if self.shape else _iso(default)
        return {
            "name": self.name,
            "default": default,
            "shape": list(self.shape) if self.shape is not None else None,
            **type_to_dict(self.dtype),
        }


@dataclass(frozen=True)
class ParamSchema:
    """The params a model's ``predict`` accepts."""

    params: tuple[ParamSpec, ...]

    def __init__(self, params: Sequence[ParamSpec]) -> None:
        specs = tuple(params)
        names = [p.name for p in specs]
        if len(set(names)) != len(names):
            raise InvalidParameterValue(f"Duplicated params in schema: {names}.")
        object.__setattr__(self, "params", specs)

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def to_dict(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __repr__(self) -> str:
        return repr(list(self.params))

    @classmethod
    def from_json(cls, text: str) -> ParamSchema:
        return cls([param_from_dict(d) for d in _json_list(text, "params schema")])


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# -- parsing ----------------------------------------------------------------------------


def data_type(name: Any) -> DataType:
    try:
        return DataType(name)
    except ValueError:
        valid = ", ".join(t.value for t in DataType)
        raise InvalidParameterValue(f"Unknown type {name!r}: use one of {valid}.") from None


def _json_list(text: str, what: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as e:
        raise InvalidParameterValue(f"Invalid {what} JSON: {e}.") from e
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise InvalidParameterValue(f"Invalid {what} JSON: expected a list of objects.")
    return data


def _required(d: dict[str, Any], key: str, what: str) -> Any:
    if key not in d:
        raise InvalidParameterValue(f"Invalid {what} {d!r}: the key {key!r} is missing.")
    return d[key]


def _opt_name(d: dict[str, Any]) -> str | None:
    name = d.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidParameterValue(f"Invalid spec {d!r}: 'name' must be a string.")
    return name


def _flag(d: dict[str, Any], key: str) -> bool:
    value = d.get(key, True)
    if value is None:
        return True
    if not isinstance(value, bool):
        raise InvalidParameterValue(f"Invalid spec {d!r}: {key!r} must be true or false.")
    return value


def type_from_dict(d: Any) -> ColType:
    """A column type from its JSON object (``{"type": "array", "items": {...}}`` ...)."""
    if not isinstance(d, dict):
        raise InvalidParameterValue(f"Invalid type {d!r}: expected an object with a 'type'.")
    kind = _required(d, "type", "type")
    if kind == "array":
        return Array(type_from_dict(_required(d, "items", "array type")))
    if kind == "map":
        return Map(type_from_dict(_required(d, "values", "map type")))
    if kind == "any":
        return AnyType()
    if kind == "object":
        props = _required(d, "properties", "object type")
        if not isinstance(props, dict):
            raise InvalidParameterValue(f"Invalid object type {d!r}: 'properties' is a mapping.")
        return Object(
            tuple(Property(n, type_from_dict(p), _flag(p, "required")) for n, p in props.items())
        )
    return data_type(kind)


def spec_from_dict(d: dict[str, Any]) -> Spec:
    if _required(d, "type", "spec") == "tensor":
        info = _required(d, "tensor-spec", "tensor spec")
        if not isinstance(info, dict):
            raise InvalidParameterValue(f"Invalid tensor spec {d!r}: 'tensor-spec' is a mapping.")
        dtype, shape = _required(info, "dtype", "tensor spec"), _required(info, "shape", "tensor")
        if not isinstance(dtype, str) or not isinstance(shape, list):
            raise InvalidParameterValue(f"Invalid tensor spec {d!r}: dtype text, shape a list.")
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
            raise InvalidParameterValue(f"Invalid tensor shape {shape!r}: use integers.")
        return TensorSpec(dtype, tuple(shape), _opt_name(d))
    return ColSpec(type_from_dict(d), _opt_name(d), _flag(d, "required"))


def param_from_dict(d: dict[str, Any]) -> ParamSpec:
    name = _required(d, "name", "param spec")
    kind = d.get("type", d.get("dtype"))
    dtype = type_from_dict({**d, "type": kind})
    if not isinstance(dtype, (DataType, Object)):
        raise InvalidParameterValue(f"Invalid param {name!r}: type {kind!r} is not allowed.")
    shape = d.get("shape")
    if shape is not None and not isinstance(shape, list):
        raise InvalidParameterValue(f"Invalid param {name!r}: shape must be null or [-1].")
    default = _required(d, "default", "param spec")
    return ParamSpec(str(name), dtype, default, None if shape is None else tuple(shape))
