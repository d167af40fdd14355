"""Input examples: ``input_example.json`` and ``serving_input_example.json``.

Stored as MLflow stores them: a DataFrame in pandas' ``split`` orientation (no index),
a numpy array as nested lists, dicts and lists as they are; the serving file wraps the
same data in the scoring protocol (``dataframe_split`` or ``inputs``).  An example given
as ``(data, params)`` keeps the params beside the data.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mltrail.errors import InvalidParameterValue
from mltrail.models.confine import inside
from mltrail.models.schema import ColSpec, Schema


class Described(Protocol):
    """The model description an example is noted in (an ``mlmodel.Model``, which imports
    this module: a protocol rather than that class keeps the import one-way)."""

    saved_input_example_info: dict[str, Any] | None

    def get_input_schema(self) -> Schema | None: ...


EXAMPLE_FILENAME = "input_example.json"
SERVING_EXAMPLE_FILENAME = "serving_input_example.json"


@dataclass(frozen=True)
class Example:
    """An input example split into the data a model scores and its params."""

    data: Any
    params: dict[str, Any] | None


def split_example(example: Any) -> Example:
    """``(data, params)`` tuples carry params, as in MLflow."""
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        return Example(example[0], example[1])
    return Example(example, None)


def to_jsonable(value: Any) -> Any:
    """numpy, pandas, bytes and dates as JSON values (MLflow's conversions)."""
    import numpy as np
    import pandas as pd

    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, (bytes, bytearray)):
        return base64.encodebytes(bytes(value)).decode("ascii")
    if isinstance(value, (pd.Timestamp, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def _frame_split(frame: Any) -> dict[str, Any]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="split")
    rows.pop("index", None)
    if list(frame.columns) == list(range(frame.shape[1])):
        rows.pop("columns", None)
    return to_jsonable(rows)


def _encode(data: Any) -> tuple[str, Any, dict[str, Any]]:
    """(example type, stored JSON value, serving payload) for ``data``."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        split = _frame_split(data)
        return "dataframe", split, {"dataframe_split": split}
    if isinstance(data, dict):
        arrays = [isinstance(v, np.ndarray) for v in data.values()]
        kind = "ndarray" if arrays and all(arrays) else "json_object"
        stored = to_jsonable(data)
        return kind, stored, {"inputs": stored}
    if isinstance(data, np.ndarray):
        stored = to_jsonable(data)
        return "ndarray", stored, {"inputs": stored}
    if isinstance(data, (list, str, int, float, bool, dt.datetime)):
        stored = to_jsonable(data)
        return "json_object", stored, {"inputs": stored}
    raise InvalidParameterValue(
        f"Unsupported input example type {type(data).__name__}: use a pandas DataFrame, "
        "a numpy array, a dict, a list or a scalar."
    )


def save_example(model: Described, input_example: Any, path: Path) -> Example | None:
    """Write the example files into model dir ``path`` and note them in ``model``."""
    if input_example is None:
        return None
    example = split_example(input_example)
    kind, stored, serving = _encode(example.data)
    info: dict[str, Any] = {"artifact_path": EXAMPLE_FILENAME, "type": kind}
    if kind == "dataframe":
        info["pandas_orient"] = "split" if "columns" in stored else "values"
    if example.params:
        params = to_jsonable(example.params)
        stored = {"inputs": stored, "params": params}
        serving = {**serving, "params": params}
        info["params"] = "true"
    (path / EXAMPLE_FILENAME).write_text(json.dumps(stored))
    (path / SERVING_EXAMPLE_FILENAME).write_text(json.dumps(serving, indent=2))
    info["serving_input_path"] = SERVING_EXAMPLE_FILENAME
    model.saved_input_example_info = info
    return example


def read_example(model: Described, path: Path) -> Any:
    """The example saved with the model in ``path`` (None if there is none)."""
    import numpy as np
    import pandas as pd

    info = model.saved_input_example_info
    if not info:
        return None
    key = "saved_input_example_info.artifact_path"
    file = inside(path, info.get("artifact_path", EXAMPLE_FILENAME), key)
    try:
        stored = json.loads(file.read_text())
    except (OSError, ValueError) as e:
        raise InvalidParameterValue(f"Cannot read the input example {file}: {e}") from e
    if info.get("params"):
        stored = stored["inputs"]
    kind = info.get("type")
    if kind == "dataframe":
        frame = pd.DataFrame(stored.get("data", []), columns=stored.get("columns"))
        return _typed_frame(frame, model)
    if kind == "ndarray":
        if isinstance(stored, dict):
            return {k: np.asarray(v) for k, v in stored.items()}
        return np.asarray(stored)
    return stored


def _typed_frame(frame: Any, model: Described) -> Any:
    """Columns cast to the signature's numpy types where that works."""
    from mltrail.models.enforce import convert_column

    schema = model.get_input_schema()
    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return frame
    for spec in schema.inputs:
        if isinstance(spec, ColSpec) and spec.name in frame.columns:
            try:
                frame[spec.name] = convert_column(frame[spec.name], spec.type, spec.required)
            except ValueError:
                continue
    return frame
