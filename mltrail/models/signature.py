"""``ModelSignature`` and ``infer_signature``: the schema a model takes and returns.

Inference follows MLflow's rules so both tools infer the same signature from the same
example: DataFrame columns become named column specs, numpy arrays become tensor specs
with a variable first dimension, dicts of lists become arrays, lists of records become
columns.  numpy and pandas are imported only when data is inspected.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.models.schema import (
    AnyType,
    Array,
    ColSpec,
    ColType,
    DataType,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)


class ModelSignature:
    """What a model takes (``inputs``), returns (``outputs``) and accepts as ``params``."""

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        if inputs is None and outputs is None and params is None:
            raise InvalidParameterValue("A signature needs inputs, outputs or params.")
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's form: each part a JSON string (or None)."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSignature:
        """The signature an ``MLmodel`` file's ``signature`` mapping describes."""
        if not isinstance(d, dict):
            raise InvalidParameterValue(f"Invalid signature {d!r}: expected a mapping.")
        inputs = Schema.from_json(d["inputs"]) if d.get("inputs") else None
        outputs = Schema.from_json(d["outputs"]) if d.get("outputs") else None
        params = ParamSchema.from_json(d["params"]) if d.get("params") else None
        return cls(inputs, outputs, params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSignature) and (
            (self.inputs, self.outputs, self.params) == (other.inputs, other.outputs, other.params)
        )

    def __hash__(self) -> int:
        return hash((self.inputs, self.outputs, self.params))

    def __repr__(self) -> str:
        parts = (("inputs", self.inputs), ("outputs", self.outputs), ("params", self.params))
        return "".join(f"{k}:\n  {v!r}\n" for k, v in parts)


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """Describe a model's input, output and params from examples of them.

    The result is what ``signature=`` of ``save_model``/``log_model`` takes, as MLflow's
    ``mlflow.models.infer_signature`` makes it.

    Args:
        model_input: an example input: a DataFrame, Series, numpy array, dict, list or
            scalar.
        model_output: an example of what the model returns for it.
        params: example inference params (name -> default value).

    Returns:
        The ``ModelSignature`` (its ``inputs``/``outputs`` are None when not given).

    Example:
        >>> import mltrail
        >>> import pandas as pd
        >>> signature = mltrail.infer_signature(pd.DataFrame({"age": [31], "plan": ["pro"]}),
        ...                                     [0.2])
        >>> print(signature.inputs)
        ['age': long (required), 'plan': string (required)]
    """
    inputs = infer_schema(model_input) if model_input is not None else None
    outputs = infer_schema(model_output) if model_output is not None else None
    param_schema = infer_param_schema(params) if params else None
    return ModelSignature(inputs, outputs, param_schema)


def infer_schema(data: Any) -> Schema:
    """The schema of a DataFrame, Series, numpy array, dict, list or scalar."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return Schema([_column_spec(data[c], c) for c in data.columns])
    if isinstance(data, pd.Series):
        return Schema([_column_spec(data, data.name)])
    if isinstance(data, np.ndarray):
        return Schema([TensorSpec(_tensor_dtype(data), (-1, *data.shape[1:]))])
    if isinstance(data, dict):
        return _dict_schema(data)
    if isinstance(data, list):
        return _list_schema(data)
    return Schema([ColSpec(value_type(data))])


def _dict_schema(data: dict[Any, Any]) -> Schema:
    import numpy as np

    if not data:
        raise InvalidParameterValue("Cannot infer a schema from an empty dict.")
    arrays = [isinstance(v, np.ndarray) for v in data.values()]
    if all(arrays):
        return Schema(
            [TensorSpec(_tensor_dtype(v), (-1, *v.shape[1:]), str(k)) for k, v in data.items()]
        )
    if any(arrays):
        raise InvalidParameterValue("A dict example mixes numpy arrays and other values.")
    return Schema([ColSpec(value_type(v), str(k), v is not None) for k, v in data.items()])


def _list_schema(data: list[Any]) -> Schema:
    import pandas as pd

    if not data:
        raise InvalidParameterValue("Cannot infer a schema from an empty list.")
    if all(isinstance(v, dict) for v in data):
        return infer_schema(pd.DataFrame.from_records(data))
    dtype = _merge_all([value_type(v) for v in data if v is not None], "list")
    return Schema([ColSpec(dtype, None, all(v is not None for v in data))])


def _tensor_dtype(array: Any) -> str:
    if array.dtype.kind == "O":
        raise InvalidParameterValue(
            "Cannot infer a tensor spec from a numpy array of Python objects; "
            "pass a DataFrame or a typed array."
        )
    return str(array.dtype.name)


def _column_spec(series: Any, name: Any) -> ColSpec:
    col_name = None if name is None else str(name)
    has_missing = bool(series.isna().any()) if len(series) else False
    dtype = series.dtype
    kind = numpy_kind_type(dtype)
    if kind is not None:  # missing text (pandas' str dtype) is optional, a NaN float is not
        return ColSpec(kind, col_name, not (has_missing and kind == DataType.string))
    values = [v for v in series.tolist() if not _is_missing(v)]
    if not values:
        return ColSpec(AnyType(), col_name, False)
    return ColSpec(
        _merge_all([value_type(v) for v in values], f"column {name!r}"), col_name, not has_missing
    )


def numpy_kind_type(dtype: Any) -> DataType | None:
    """The DataType of a numpy or pandas dtype; None for object columns (look at values)."""
    import pandas as pd

    if isinstance(dtype, pd.StringDtype):
        return DataType.string
    if isinstance(dtype, pd.CategoricalDtype):
        return numpy_kind_type(dtype.categories.dtype)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return DataType.datetime
    numpy_dtype = getattr(dtype, "numpy_dtype", dtype)
    kind, size = numpy_dtype.kind, numpy_dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind == "i":
        return DataType.integer if size <= 4 else DataType.long
    if kind == "u":
        return DataType.integer if size <= 2 else DataType.long
    if kind == "f":
        return DataType.float if size <= 4 else DataType.double
    return {"U": DataType.string, "S": DataType.binary, "M": DataType.datetime}.get(kind)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def value_type(value: Any) -> ColType:
    """The column type of one Python value (recursing into dicts and lists)."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return DataType.boolean
    if isinstance(value, np.generic):
        found = numpy_kind_type(value.dtype)
        if found is not None:
            return found
    simple = _SIMPLE_TYPES.get(type(value))
    if simple is not None:
        return simple
    if isinstance(value, (dt.date, np.datetime64)):
        return DataType.datetime
    if isinstance(value, dict):
        if not value:
            return AnyType()
        return Object(
            tuple(Property(str(k), _value_or_any(v), v is not None) for k, v in value.items())
        )
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [value_type(v) for v in value if v is not None]
        return Array(_merge_all(items, "array") if items else AnyType())
    raise InvalidParameterValue(
        f"Cannot infer a schema type from {type(value).__name__} values; "
        "use str, bytes, bool, int, float, datetime, dict or list."
    )


_SIMPLE_TYPES: dict[type, ColType] = {
    int: DataType.long,
    float: DataType.double,
    str: DataType.string,
    bytes: DataType.binary,
    bytearray: DataType.binary,
}


def _value_or_any(value: Any) -> ColType:
    return AnyType() if value is None else value_type(value)


def _merge_all(types: list[ColType], where: str) -> ColType:
    merged = types[0]
    for other in types[1:]:
        merged = merge_types(merged, other, where)
    return merged


_WIDER = {
    frozenset({DataType.integer, DataType.long}): DataType.long,
    frozenset({DataType.long, DataType.double}): DataType.double,
    frozenset({DataType.integer, DataType.double}): DataType.double,
    frozenset({DataType.float, DataType.double}): DataType.double,
}


def merge_types(a: ColType, b: ColType, where: str = "data") -> ColType:
    """One type covering both (int and float give double); an error if they conflict."""
    if a == b:
        return a
    if isinstance(a, AnyType) or isinstance(b, AnyType):
        return b if isinstance(a, AnyType) else a
    if isinstance(a, DataType) and isinstance(b, DataType) and frozenset({a, b}) in _WIDER:
        return _WIDER[frozenset({a, b})]
    if isinstance(a, Array) and isinstance(b, Array):
        return Array(merge_types(a.dtype, b.dtype, where))
    if isinstance(a, Object) and isinstance(b, Object):
        return _merge_objects(a, b, where)
    raise InvalidParameterValue(
        f"The {where} mixes values of type {_show(a)} and {_show(b)}; "
        "give one type per column or pass a signature."
    )


def _merge_objects(a: Object, b: Object, where: str) -> Object:
    left = {p.name: p for p in a.properties}
    right = {p.name: p for p in b.properties}
    props = []
    for name in sorted(left.keys() | right.keys()):
        p, q = left.get(name), right.get(name)
        if p is not None and q is not None:
            props.append(
                Property(name, merge_types(p.dtype, q.dtype, where), p.required and q.required)
            )
        else:
            props.append(Property(name, (p or q).dtype, False))  # type: ignore[union-attr]
    return Object(tuple(props))


def _show(t: ColType) -> str:
    return t.value if isinstance(t, DataType) else repr(t)


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """Param specs from example values: scalars, 1-D lists, dicts (objects)."""
    specs = []
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            if not value:
                raise InvalidParameterValue(f"Param {name!r}: cannot infer a type from [].")
            item = _merge_all([value_type(v) for v in value], f"param {name!r}")
            specs.append(ParamSpec(str(name), _param_type(name, item), list(value), (-1,)))
        else:
            specs.append(ParamSpec(str(name), _param_type(name, value_type(value)), value))
    return ParamSchema(specs)


def _param_type(name: str, dtype: ColType) -> DataType | Object:
    if not isinstance(dtype, (DataType, Object)) or dtype == DataType.binary:
        raise InvalidParameterValue(
            f"Param {name!r} has type {_show(dtype)}; params are scalars, 1-D lists or dicts."
        )
    return dtype
