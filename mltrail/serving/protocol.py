"""MLflow's scoring protocol, without a server: a request's body and content type become
the model's input and params, and predictions become the response body.

``mltrail models serve`` and ``mltrail models predict`` (issue 10) share this module, so
both accept exactly what ``mlflow models serve`` accepts (docs/SERVING.md):

- ``application/json``: an object with exactly one of ``dataframe_split`` (pandas'
  ``split`` orientation: ``columns``, ``data``, optional ``index``), ``dataframe_records``
  (a list of row objects), ``instances`` (rows: objects, or lists for a tensor) or
  ``inputs`` (columns as an object of lists, or a tensor as nested lists), and optional
  ``params`` (an object);
- ``text/csv``: a CSV with a header row;
- ``application/vnd.apache.parquet``: a Parquet file (needs pyarrow);
- a ``charset`` parameter other than UTF-8, any other parameter or another type: 415.

Bad input raises :class:`ScoringError`, which carries the HTTP status and MLflow's error
fields (``error_code``, ``message``); the request body is never echoed back (MLflow's
messages quote it, which makes a bad request's answer as large as the request). Given the
model's input schema, parsing converts number columns as MLflow's server does (``"5.1"``
and ``true`` into a double column; ``casting.py``); the input is then checked against the
signature by ``PyFuncModel.predict`` itself.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from mltrail.models.schema import Schema
from mltrail.serving.casting import BadValue, to_signature_types

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, CONTENT_TYPE_PARQUET)
DF_SPLIT = "dataframe_split"
DF_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
INPUT_KEYS = (DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS)
PARAMS = "params"
#: Top-level keys of an unwrapped body for a chat, completions or embeddings model (MLflow's
#: "unified LLM input"): the object goes to the model as it is.
LLM_KEYS = ("messages", "prompt", "input")
BAD_REQUEST = "BAD_REQUEST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"


class ScoringError(Exception):
    """A request the server answers with ``status`` and MLflow's JSON error body."""

    def __init__(self, message: str, status: int = 400, error_code: str = BAD_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code

    def body(self) -> bytes:
        """``{"error_code": ..., "message": ...}``, as MLflow's server sends it."""
        return json.dumps({"error_code": self.error_code, "message": self.message}).encode()


@dataclass(frozen=True)
class ScoringInput:
    """What one request asks the model: its input and its params (None: none given)."""

    data: Any
    params: dict[str, Any] | None
    #: An unwrapped LLM body: answered with the bare predictions, without the envelope.
    unwrapped: bool = False


def parse_request(
    body: bytes,
    content_type: str | None,
    schema: Schema | None = None,
    param_names: Collection[str] = (),
) -> ScoringInput:
    """The model input and params of a request with ``body`` and ``content_type``.

    Args:
        body: the request's bytes.
        content_type: its ``Content-Type`` header (None when absent).
        schema: the model's input schema: JSON and CSV number columns it names are
            converted to its types while parsing, as MLflow's server does
            (``mltrail.serving.casting``); Parquet keeps its own types.
        param_names: the names the model's params schema declares: in an unwrapped LLM
            body they are params, every other key is input.

    Returns:
        The parsed input (a DataFrame, a numpy array, or a dict of arrays) and params.

    Raises:
        ScoringError: 415 for an unsupported content type, 400 for a body that does not
            follow the protocol.
    """
    mime = _media_type(content_type)
    if mime == CONTENT_TYPE_JSON:
        return parse_json(body, schema, param_names)
    if mime == CONTENT_TYPE_CSV:
        return ScoringInput(_cast(parse_csv(body), schema), None)
    return ScoringInput(parse_parquet(body), None)


def _media_type(content_type: str | None) -> str:
    """The media type, if the server takes it (415 otherwise)."""
    parts = [p.strip() for p in (content_type or "").split(";")]
    mime = parts[0].lower()
    options = {k.strip().lower(): v.strip() for k, _, v in (p.partition("=") for p in parts[1:])}
    if options.get("charset", "utf-8").strip('"').lower() != "utf-8":
        raise ScoringError("The scoring server only supports UTF-8.", 415)
    unknown = sorted(set(options) - {"charset"})
    if unknown:
        raise ScoringError(f"Unrecognized content type parameters: {', '.join(unknown)}.", 415)
    if mime not in CONTENT_TYPES:
        raise ScoringError(
            f"This predictor only supports the content types {', '.join(CONTENT_TYPES)}; "
            f"got {content_type!r}.",
            415,
        )
    return mime


def parse_json(
    body: bytes, schema: Schema | None = None, param_names: Collection[str] = ()
) -> ScoringInput:
    """A JSON request: exactly one input key, and optional ``params``; number columns
    ``schema`` names converted to its types (see ``parse_request``). An object with any of
    ``LLM_KEYS`` is an unwrapped LLM body instead, as MLflow reads it (whatever else it
    holds): its keys in ``param_names`` are the params, the rest the model's input."""
    try:
        request = json.loads(body)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise ScoringError(f"The request body is not valid JSON: {e}.") from None
    if not isinstance(request, dict):
        kind = "a list" if isinstance(request, list) else type(request).__name__
        raise ScoringError(_one_key_message(f"got {kind}"))
    if any(k in request for k in LLM_KEYS):
        data = {k: v for k, v in request.items() if k not in param_names}
        given = {k: v for k, v in request.items() if k in param_names}
        return ScoringInput(data, given or None, unwrapped=True)
    keys = [k for k in INPUT_KEYS if k in request]
    if len(keys) != 1:
        raise ScoringError(_one_key_message(f"got the fields {sorted(request)}"))
    params = request.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise ScoringError(f"'params' must be an object of names to values, not {params!r}.")
    key = keys[0]
    return ScoringInput(_cast(_READERS[key](request[key]), schema), params)


def _cast(data: Any, schema: Schema | None) -> Any:
    try:
        return to_signature_types(data, schema)
    except BadValue as e:
        raise ScoringError(f"The input does not fit the model's signature: {e}.") from None


def _one_key_message(got: str) -> str:
    return (
        "The input must be a JSON object with exactly one of the fields "
        f"{', '.join(INPUT_KEYS)} (and optionally params); {got}."
    )


def _split(value: Any) -> Any:
    import pandas as pd

    if not isinstance(value, dict) or "data" not in value:
        raise ScoringError(
            "dataframe_split must be an object with 'data' and optionally 'columns' and "
            f"'index'; got {_kind(value)}."
        )
    extra = sorted(set(value) - {"columns", "data", "index"})
    if extra:
        raise ScoringError(f"dataframe_split has unknown fields {extra}: use columns, data, index.")
    try:
        return pd.DataFrame(
            data=value["data"], columns=value.get("columns"), index=value.get("index")
        )
    except (ValueError, TypeError) as e:
        raise ScoringError(f"dataframe_split is not a table in pandas' split format: {e}.") from e


def _records(value: Any) -> Any:
    import pandas as pd

    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise ScoringError(f"dataframe_records must be a list of row objects; got {_kind(value)}.")
    try:
        return pd.DataFrame.from_records(value) if value else pd.DataFrame()
    except (ValueError, TypeError) as e:
        raise ScoringError(f"dataframe_records is not a list of rows: {e}.") from e


def _instances(value: Any) -> Any:
    """Rows: objects become columns (a DataFrame), other values a tensor."""
    import pandas as pd

    if not isinstance(value, list):
        raise ScoringError(f"instances must be a list of rows; got {_kind(value)}.")
    if value and all(isinstance(r, dict) for r in value):
        return pd.DataFrame.from_records(value)
    return _tensor(value, INSTANCES)


def _inputs(value: Any) -> Any:
    """Columns as an object of lists (a dict of arrays), rows as a list of objects (a
    DataFrame, as for ``instances``), or one tensor."""
    if isinstance(value, dict):
        return {str(k): _tensor(v, f"inputs.{k}") for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        import pandas as pd

        return pd.DataFrame.from_records(value)
    return _tensor(value, INPUTS)


def _tensor(value: Any, where: str) -> Any:
    import numpy as np

    try:
        return np.asarray(value)
    except (ValueError, TypeError) as e:  # ragged nesting
        raise ScoringError(f"{where} is not a rectangular tensor: {e}.") from e


_READERS = {DF_SPLIT: _split, DF_RECORDS: _records, INSTANCES: _instances, INPUTS: _inputs}


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else type(value).__name__


def parse_csv(body: bytes) -> Any:
    """A CSV request with a header row, as a DataFrame."""
    import pandas as pd

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScoringError(f"The CSV body is not UTF-8 text: {e}.") from None
    try:
        return pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ScoringError(f"The body is not a CSV table with a header row: {e}.") from None


def parse_parquet(body: bytes) -> Any:
    """A Parquet request, as a DataFrame (pandas reads it with pyarrow)."""
    import pandas as pd

    try:
        return pd.read_parquet(io.BytesIO(body))
    except ImportError:
        raise ScoringError(
            "This server cannot read Parquet: install pyarrow where it runs "
            "(pip install pyarrow), or send JSON or CSV.",
            415,
        ) from None
    except (ValueError, OSError) as e:
        raise ScoringError(f"The body is not a Parquet file: {e}.") from None


def predictions_body(predictions: Any, unwrapped: bool = False) -> bytes:
    """``{"predictions": ...}`` (``unwrapped``: the predictions alone, the answer to an
    unwrapped LLM body): a DataFrame as its records, arrays and Series as lists, NaN and
    infinities as JSON's ``NaN`` / ``Infinity`` (as MLflow's server writes them)."""
    answer = jsonable(predictions)
    return json.dumps(
        answer if unwrapped else {"predictions": answer}, default=json_default
    ).encode()


def jsonable(value: Any) -> Any:
    """``value`` with pandas and numpy containers turned into JSON's lists and objects."""
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="records")
    if isinstance(value, pd.Series):
        return value.to_frame().to_dict(orient="records")
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def json_default(value: Any) -> Any:
    """What ``json`` cannot write by itself: numpy scalars and arrays, bytes (base64, as
    MLflow writes them), dates and times (ISO 8601); anything else as its text."""
    import datetime as dt

    import numpy as np

    if isinstance(value, np.generic):
        return value.item() if not isinstance(value, np.datetime64) else str(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes | bytearray):
        return base64.encodebytes(value).decode("ascii")
    if isinstance(value, dt.date | dt.time):  # pandas' Timestamp is a datetime
        return value.isoformat()
    return str(value)
