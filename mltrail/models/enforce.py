"""Checking prediction input against a model's signature (params: ``params.py``).

``enforce_schema`` turns a DataFrame, numpy array, dict or list into what the schema
describes (a DataFrame for column schemas, arrays for tensor schemas), converting
only where no information is lost, and otherwise raises :class:`ModelSchemaError`
listing every mismatch with what was expected and what came.
"""

from __future__ import annotations

import contextlib
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.models.schema import (
    AnyType,
    Array,
    ColSpec,
    ColType,
    DataType,
    Map,
    Object,
    Schema,
    TensorSpec,
)


class ModelSchemaError(InvalidParameterValue):
    """Prediction input or params do not match the model's signature."""


def _fail(problems: list[str], schema: Schema | None = None) -> ModelSchemaError:
    expected = f" The model expects {_describe(schema)}." if schema is not None else ""
    return ModelSchemaError(
        "Input does not match the model's signature: " + "; ".join(problems) + "." + expected
    )


def _describe(schema: Schema) -> str:
    return ", ".join(_spec_text(s) for s in schema.inputs)


def _spec_text(spec: ColSpec | TensorSpec) -> str:
    if isinstance(spec, TensorSpec):
        named = f"{spec.name!r}: " if spec.name is not None else ""
        return f"{named}tensor {spec.type} {list(spec.shape)}"
    named = f"{spec.name!r}: " if spec.name is not None else ""
    optional = "" if spec.required else " (optional)"
    return f"{named}{type_name(spec.type)}{optional}"


def type_name(t: ColType) -> str:
    if isinstance(t, DataType):
        return t.value
    if isinstance(t, Array):
        return f"array<{type_name(t.dtype)}>"
    if isinstance(t, Map):
        return f"map<{type_name(t.value_type)}>"
    if isinstance(t, Object):
        return "object{" + ", ".join(p.name for p in t.properties) + "}"
    return "any"


def enforce_schema(data: Any, schema: Schema) -> Any:
    """``data`` checked and converted to match ``schema`` (see the module docstring)."""
    if schema.is_tensor_spec():
        return _enforce_tensors(data, schema)
    frame = _to_frame(data, schema)
    if schema.has_input_names():
        return _enforce_named(frame, schema)
    return _enforce_positional(frame, schema)


# -- column schemas ----------------------------------------------------------------------


def _to_frame(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        return _dict_frame(data, schema)
    if isinstance(data, np.ndarray):
        if data.ndim > 2:
            raise _fail([f"got a {data.ndim}-D array, a column schema takes 1-D or 2-D"], schema)
        return pd.DataFrame(data.reshape(-1, 1) if data.ndim == 1 else data)
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(v, dict) for v in data):
            return pd.DataFrame.from_records(list(data))
        if len(schema) == 1 or not data or not isinstance(data[0], (list, tuple)):
            return pd.DataFrame({0: list(data)})
        return pd.DataFrame(list(data))
    return pd.DataFrame({0: [data]})


def _dict_frame(data: dict[Any, Any], schema: Schema) -> Any:
    """Columns of equal-length lists become rows; otherwise the dict is one record."""
    import numpy as np
    import pandas as pd

    complex_cols = {s.name for s in schema.inputs if not isinstance(s.type, DataType)}
    # a 0-D array is one value (MLflow's server reads {"inputs": {"a": 1.0}} as one row)
    data = {
        k: v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v for k, v in data.items()
    }
    columnar = [
        isinstance(v, (list, tuple, np.ndarray, pd.Series)) and k not in complex_cols
        for k, v in data.items()
    ]
    if data and all(columnar):
        lengths = {len(v) for v in data.values()}
        if len(lengths) == 1:
            return pd.DataFrame({k: list(v) for k, v in data.items()})
    elif any(columnar) and not complex_cols:
        # columns beside single values: each value fills its column, as MLflow reads it
        # ({"prompt": "hi", "x": [1.0, 2.0]} is two rows)
        with contextlib.suppress(ValueError):  # lists of different lengths: one record
            return pd.DataFrame(
                {k: list(v) if c else v for (k, v), c in zip(data.items(), columnar, strict=True)}
            )
    return pd.DataFrame([data])


def _enforce_named(frame: Any, schema: Schema) -> Any:
    import pandas as pd

    names = [str(n) for n in schema.input_names()]
    columns = list(frame.columns)
    if frame.columns.has_duplicates:  # frame[name] would be a frame, not a column
        twice = sorted({repr(c) for c in frame.columns[frame.columns.duplicated()]})
        raise _fail([f"column(s) {', '.join(twice)} given more than once"], schema)
    missing = [s for s in schema.inputs if s.required and s.name not in columns]
    problems = []
    if missing:
        got = ", ".join(repr(c) for c in columns) or "none"
        problems.append(
            f"missing column(s) {', '.join(_spec_text(s) for s in missing)} (got columns {got})"
            + (_UNNAMED if columns == list(range(len(columns))) else "")
        )
    out: dict[str, Any] = {}
    unchanged = columns == names
    for spec in schema.inputs:
        if spec.name in columns:
            column = frame[spec.name]
            converted = _enforce_column(column, spec, problems)
            unchanged = unchanged and converted is column
            out[str(spec.name)] = converted
    if problems:
        raise _fail(problems, schema)
    if unchanged:  # the common case of a server's requests: the columns already fit
        return frame
    return pd.DataFrame(out, index=frame.index)


#: Why an array or a list of rows never fits named columns (as in MLflow: no matching by
#: position, which would silently swap two columns sent in another order).
_UNNAMED = (
    "; the input has no column names (an array or a list of rows?): name the columns, "
    "e.g. a DataFrame, a list of row dicts, or dataframe_split with 'columns'"
)


def _enforce_positional(frame: Any, schema: Schema) -> Any:
    import pandas as pd

    if frame.shape[1] != len(schema):
        raise _fail([f"got {frame.shape[1]} column(s), expected {len(schema)}"], schema)
    problems: list[str] = []
    out = {
        c: _enforce_column(frame[c], spec, problems)
        for c, spec in zip(frame.columns, schema.inputs, strict=True)
    }
    if problems:
        raise _fail(problems, schema)
    return pd.DataFrame(out, index=frame.index)


def _enforce_column(series: Any, spec: ColSpec | TensorSpec, problems: list[str]) -> Any:
    assert isinstance(spec, ColSpec)
    label = f"column {spec.name!r}" if spec.name is not None else f"column {series.name!r}"
    try:
        return convert_column(series, spec.type, spec.required)
    except ValueError as e:
        problems.append(f"{label}: expected {type_name(spec.type)}, got {e}")
        return series


def _observed(series: Any) -> str:
    values = [v for v in series.tolist()[:3] if v is not None]
    sample = f" (e.g. {values[0]!r})" if values else ""
    return f"{series.dtype}{sample}"


_NUMPY_TYPES = {
    DataType.integer: "int32",
    DataType.long: "int64",
    DataType.float: "float32",
    DataType.double: "float64",
    DataType.boolean: "bool",
}
_INT_RANGE = {DataType.integer: (-(2**31), 2**31 - 1), DataType.long: (-(2**63), 2**63 - 1)}


def convert_column(series: Any, dtype: ColType, required: bool = True) -> Any:
    """``series`` converted to ``dtype``; ValueError(what came) when that would lose data."""
    import numpy as np
    import pandas as pd

    if not required:
        present = series.dropna()
        if len(present) < len(series):
            if len(present):
                convert_column(present, dtype)  # raises when a present value is wrong
            return series
    if isinstance(dtype, AnyType):
        return series
    if not isinstance(dtype, DataType):
        for value in series.tolist():
            check_value(value, dtype)
        return series
    kind = getattr(getattr(series.dtype, "numpy_dtype", series.dtype), "kind", "O")
    if isinstance(series.dtype, pd.StringDtype):
        kind = "T"
    if kind == "O":
        kind = _object_kind(series)
        if kind == "mixed":
            raise ValueError(f"mixed values ({_observed_types(series)})")
    if dtype == DataType.string and kind in ("T", "U", "str"):
        return series
    if dtype == DataType.boolean and kind in ("b", "bool"):
        return series.astype(bool)
    target = _NUMPY_TYPES.get(dtype)
    if target is not None and series.dtype == target:
        return series
    if dtype in _INT_RANGE and kind in ("i", "u", "int"):
        low, high = _INT_RANGE[dtype]
        if len(series) and (series.min() < low or series.max() > high):
            raise ValueError(f"values out of the {dtype.value} range ({_observed(series)})")
        return series.astype(np.int32 if dtype == DataType.integer else np.int64)
    if dtype in (DataType.float, DataType.double) and kind in ("f", "i", "u", "int", "float"):
        return series.astype(np.float32 if dtype == DataType.float else np.float64)
    if dtype == DataType.binary and kind in ("S", "bytes"):
        return series
    if dtype == DataType.datetime and kind in ("M", "T", "U", "str", "datetime"):
        try:
            return pd.to_datetime(series)
        except (ValueError, TypeError) as e:
            raise ValueError(f"text that is not a date ({_observed(series)})") from e
    raise ValueError(_observed(series))


def _value_kinds(series: Any) -> set[str]:
    import datetime as dt

    kinds = set()
    for value in series.tolist():
        if value is None or (isinstance(value, float) and value != value):
            kinds.add("missing")
        elif isinstance(value, bool):
            kinds.add("bool")
        elif isinstance(value, int):
            kinds.add("int")
        elif isinstance(value, float):
            kinds.add("float")
        elif isinstance(value, str):
            kinds.add("str")
        elif isinstance(value, (bytes, bytearray)):
            kinds.add("bytes")
        elif isinstance(value, dt.date):
            kinds.add("datetime")
        else:
            kinds.add(type(value).__name__)
    return kinds


def _observed_types(series: Any) -> str:
    return ", ".join(sorted(_value_kinds(series)))


def _object_kind(series: Any) -> str:
    """The one Python type of an object column's values ('mixed' if several)."""
    kinds = _value_kinds(series)
    if kinds == {"int", "float"}:
        return "float"
    return kinds.pop() if len(kinds) == 1 else "mixed"


def check_value(value: Any, dtype: ColType, where: str = "value") -> None:
    """Check one JSON-like value against an array, object, map or scalar type."""
    if isinstance(dtype, AnyType):
        return
    if isinstance(dtype, Array):
        if not hasattr(value, "__iter__") or isinstance(value, (str, bytes, dict)):
            raise ValueError(f"{type(value).__name__} {value!r} where an array belongs")
        for item in value:
            check_value(item, dtype.dtype, where)
        return
    if isinstance(dtype, Map):
        if not isinstance(value, dict):
            raise ValueError(f"{type(value).__name__} {value!r} where a map belongs")
        for item in value.values():
            check_value(item, dtype.value_type, where)
        return
    if isinstance(dtype, Object):
        _check_object(value, dtype, where)
        return
    if not _scalar_fits(value, dtype):
        raise ValueError(f"{type(value).__name__} {value!r} where {dtype.value} belongs")


def _check_object(value: Any, dtype: Object, where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{type(value).__name__} {value!r} where an object belongs")
    known = {p.name: p for p in dtype.properties}
    missing = [n for n, p in known.items() if p.required and n not in value]
    if missing:
        raise ValueError(f"an object without the required key(s) {missing}")
    extra = sorted(set(value) - set(known))
    if extra:
        raise ValueError(f"an object with unknown key(s) {extra}")
    for name, item in value.items():
        if item is not None or known[name].required:
            check_value(item, known[name].dtype, where)


def _scalar_fits(value: Any, dtype: DataType) -> bool:
    import datetime as dt

    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if dtype == DataType.boolean:
        return isinstance(value, bool)
    if dtype in (DataType.integer, DataType.long):
        return isinstance(value, int) and not isinstance(value, bool)
    if dtype in (DataType.float, DataType.double):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if dtype == DataType.string:
        return isinstance(value, str)
    if dtype == DataType.binary:
        return isinstance(value, (bytes, bytearray))
    return isinstance(value, (dt.date, str))


# -- tensor schemas ------------------------------------------------------------------------


def _enforce_tensors(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    specs = [s for s in schema.inputs if isinstance(s, TensorSpec)]
    if schema.has_input_names() and (len(specs) > 1 or isinstance(data, dict)):
        if not isinstance(data, dict):
            raise _fail([f"got {type(data).__name__}, expected a dict of named arrays"], schema)
        missing = [s.name for s in specs if s.name not in data]
        if missing:
            raise _fail([f"missing tensor(s) {missing} (got {sorted(data)})"], schema)
        return {s.name: _enforce_tensor(np.asarray(data[s.name]), s, schema) for s in specs}
    if isinstance(data, pd.DataFrame):
        data = data.to_numpy()
    elif isinstance(data, dict) and len(data) == 1:
        data = next(iter(data.values()))
    return _enforce_tensor(np.asarray(data), specs[0], schema)


def _enforce_tensor(array: Any, spec: TensorSpec, schema: Schema) -> Any:
    import numpy as np

    label = f"tensor {spec.name!r}" if spec.name is not None else "tensor"
    expected = np.dtype(spec.type)
    problems = []
    if array.dtype != expected:
        if np.can_cast(array.dtype, expected, casting="safe"):
            array = array.astype(expected)
        else:
            problems.append(f"{label}: expected dtype {expected}, got {array.dtype}")
    shape_ok = len(array.shape) == len(spec.shape) and all(
        want == -1 or want == got for want, got in zip(spec.shape, array.shape, strict=True)
    )
    if not shape_ok:
        problems.append(f"{label}: expected shape {list(spec.shape)}, got {list(array.shape)}")
    if problems:
        raise _fail(problems, schema)
    return array
