"""A request's number columns converted to the signature's types while it is parsed.

MLflow's scoring server converts each column its signature names to the declared type as
it parses a request (pandas ``astype`` in ``cast_df_types_according_to_schema``, numpy
for ``instances`` and ``inputs``), before ``predict`` checks the input; so ``"5.1"`` and
``true`` reach a double column as 5.1 and 1.0. ``predict`` called in-process makes no such
conversion (in MLflow and here, a text or boolean column against a double is refused).
This module is that parsing step, for the number types (integer, long, float, double)
and only where no value changes:

- a number written as text (``"5.1"``, ``"-2"``, ``"1e3"``) becomes that number;
- ``true`` and ``false`` (``True``, ``False`` in CSV) become 1 and 0;
- a whole float (``5.0``) in an integer or long column becomes 5;
- a missing value (``null``, ``NaN``) stays missing.

Anything else raises :class:`BadValue` naming the column, the row, what the column takes
and what came, where MLflow would silently lose data (``5.5`` truncated to 5 in a long
column) or fail deeper. Other column types are left to the signature check.
"""

from __future__ import annotations

import math
from typing import Any

from mltrail.models.schema import ColSpec, DataType, Schema

_WHOLE = (DataType.integer, DataType.long)
_NUMBERS = (*_WHOLE, DataType.float, DataType.double)
#: Characters of a refused value shown in a message (never the whole request).
_SHOWN = 40


class BadValue(ValueError):
    """A value a number column cannot take: its column, its row (0-based) and the value."""

    def __init__(self, column: str, row: int, value: Any, expected: DataType) -> None:
        shown = repr(value)
        if len(shown) > _SHOWN:
            shown = shown[: _SHOWN - 3] + "..."
        super().__init__(
            f"column {column!r} takes {expected.value} values, but row {row + 1} holds "
            f"{shown} ({type(value).__name__})"
        )
        self.column = column
        self.row = row


def to_signature_types(data: Any, schema: Schema | None) -> Any:
    """``data`` (a parsed request) with its number columns converted as the module says.

    Args:
        data: a DataFrame, a dict of column arrays, or an array (a request's rows).
        schema: the model's input schema (None: no signature, nothing to convert).

    Returns:
        ``data`` itself when nothing needed converting, else a converted copy; a 1-D array
        for a schema of one named column becomes that column (as MLflow reads it).

    Raises:
        BadValue: a value of a number column that is not a number.

    Example:
        >>> import pandas as pd
        >>> from mltrail.models import ColSpec, DataType, Schema
        >>> schema = Schema([ColSpec(DataType.double, "a")])
        >>> to_signature_types(pd.DataFrame({"a": ["5.1", True]}), schema)["a"].tolist()
        [5.1, 1.0]
    """
    import numpy as np
    import pandas as pd

    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return data
    specs = [s for s in schema.inputs if isinstance(s, ColSpec) and s.type in _NUMBERS]
    if isinstance(data, np.ndarray) and data.ndim == 1 and len(schema.inputs) == 1:
        only = schema.inputs[0]
        if isinstance(only, ColSpec) and isinstance(only.type, DataType):
            data = {str(only.name): data}
    if isinstance(data, pd.DataFrame):
        return _frame(data, specs)
    if isinstance(data, dict):
        return _columns(data, specs)
    return data


def _frame(frame: Any, specs: list[ColSpec]) -> Any:
    import pandas as pd

    if not specs or not _needs_work(frame.to_numpy().dtype, specs):
        return frame  # the usual request: its columns share one number type (a quick look)
    dtypes = frame.dtypes
    changed = {}
    for spec in specs:
        name = str(spec.name)
        if name not in dtypes.index or not _needs_work(dtypes[name], [spec]):
            continue
        values = _numbers(frame[name].tolist(), spec)
        changed[name] = pd.Series(values, index=frame.index, name=name)
    return frame.assign(**changed) if changed else frame


def _columns(data: dict[str, Any], specs: list[ColSpec]) -> Any:
    import numpy as np

    out = dict(data)
    for spec in specs:
        name = str(spec.name)
        column = data.get(name)
        if isinstance(column, np.ndarray) and _needs_work(column.dtype, [spec]):
            out[name] = np.asarray(_numbers(column.tolist(), spec))
    return out


def _needs_work(dtype: Any, specs: list[ColSpec]) -> bool:
    """Whether values of ``dtype`` may be text, booleans, or floats for a whole-number
    column of ``specs`` (other numbers pass as they are: the signature check converts them)."""
    kind = getattr(dtype, "kind", "O")
    return kind in "OUSb" or (kind == "f" and any(s.type in _WHOLE for s in specs))


def _numbers(values: list[Any], spec: ColSpec) -> Any:
    """The numbers of one column: floats (NaN where missing) or Python ints."""
    import numpy as np

    assert isinstance(spec.type, DataType)
    whole = spec.type in _WHOLE
    out = []
    for row, value in enumerate(values):
        try:
            out.append(_number(value, whole))
        except (ValueError, TypeError, OverflowError):
            raise BadValue(str(spec.name), row, value, spec.type) from None
    if whole:
        return out  # pandas picks int64 (or object with None); the signature check decides
    return np.array(out, dtype=np.float64)


def _number(value: Any, whole: bool) -> Any:
    import numpy as np

    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None if whole else math.nan
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if whole and not float(value).is_integer():
            raise ValueError(value)  # a long column would truncate it
        return int(value) if whole else float(value)
    if isinstance(value, str):
        return int(value) if whole else float(value)
    raise TypeError(value)
