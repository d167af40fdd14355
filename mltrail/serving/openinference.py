"""The Open Inference Protocol (KServe V2) over REST, beside MLflow's own protocol.

What a KServe-style client sends and gets, without a server (``app.py`` routes to it):

- ``GET /v2/health/live``, ``/v2/health/ready``: ``{"live": true}``, ``{"ready": true}``;
- ``GET /v2``: the server's name, version and extensions (none);
- ``GET /v2/models/{name}[/versions/{version}]``: the model's metadata, its inputs and
  outputs from the signature (name, datatype, shape; -1 for any length);
- ``GET /v2/models/{name}[/versions/{version}]/ready``;
- ``POST /v2/models/{name}[/versions/{version}]/infer``: typed tensors in, typed tensors
  out (``{"inputs": [{"name", "shape", "datatype", "data"}], "parameters"?, "outputs"?,
  "id"?}``).

How tensors become the model's input: for a model whose signature names columns, each
input tensor is one column (shape ``[N]`` or ``[N, 1]``), or one ``[N, k]`` tensor holds
the k columns in the signature's order; for a tensor signature, one unnamed tensor is
the array and named tensors a dict of arrays; without a signature, several inputs are
columns and one input is the array. The request's ``parameters.content_type`` (MLServer's
convention) overrides this: ``"pd"`` makes every input a column, ``"np"`` hands the model
the array (or a dict of arrays). The predictions come back as one output per column
of a DataFrame (or key of a dict), else one output named after the signature's output,
or ``predictions``. Errors are ``{"error": message}`` (400 bad input, 404 another model).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from mltrail.serving.protocol import ScoringError, json_default

#: The protocol's tensor types and the numpy types they are read as.
DATATYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_FROM_NUMPY = {v: k for k, v in DATATYPES.items() if k != "BYTES"}
#: Signature column types as protocol types (text, bytes and dates travel as BYTES).
_FROM_COLUMN = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
}
#: Request parameters that describe the request itself, not the model's params.
_PROTOCOL_PARAMETERS = ("content_type", "headers")
DEFAULT_OUTPUT = "predictions"


class ProtocolError(ScoringError):
    """An answer of this protocol: ``{"error": message}`` with ``status``."""

    def body(self) -> bytes:
        return json.dumps({"error": self.message}).encode()


@dataclass(frozen=True)
class Route:
    """What a ``/v2`` path asks: ``action`` is live, ready, server, model, model_ready or
    infer; ``name`` and ``version`` the model named in the path."""

    action: str
    method: str
    name: str | None = None
    version: str | None = None


def route(path: str) -> Route | None:
    """The route of a ``/v2...`` path (None: no such endpoint)."""
    parts = path.rstrip("/").split("/")[2:]  # after "", "v2"
    fixed = {(): "server", ("health", "live"): "live", ("health", "ready"): "ready"}
    if tuple(parts) in fixed:
        return Route(fixed[tuple(parts)], "GET")
    if len(parts) < 2 or parts[0] != "models" or not parts[1]:
        return None
    name, rest = unquote(parts[1]), parts[2:]
    version = None
    if len(rest) >= 2 and rest[0] == "versions":
        version, rest = unquote(rest[1]), rest[2:]
    actions = {
        (): ("model", "GET"),
        ("ready",): ("model_ready", "GET"),
        ("infer",): ("infer", "POST"),
    }
    found = actions.get(tuple(rest))
    return Route(found[0], found[1], name, version) if found else None


def check_model(route: Route, name: str, version: str | None) -> None:
    """404 unless the path names the served model (and its version, when given)."""
    if route.name != name:
        raise ProtocolError(
            f"Model {route.name!r} is not served here; this server serves {name!r}.", 404
        )
    if route.version is not None and route.version != version:
        served = f"version {version}" if version is not None else "a model outside the registry"
        raise ProtocolError(
            f"Version {route.version!r} of {name!r} is not served here; this server "
            f"serves {served}.",
            404,
        )


def server_metadata(version: str) -> dict[str, Any]:
    return {"name": "mltrail", "version": version, "extensions": []}


def model_metadata(meta: Any, name: str, version: str | None) -> dict[str, Any]:
    """The model's metadata: its name, versions, platform, inputs and outputs."""
    signature = getattr(meta, "signature", None)
    flavors = [f for f in sorted(getattr(meta, "flavors", {}) or {}) if f != "python_function"]
    return {
        "name": name,
        "versions": [version] if version is not None else [],
        "platform": flavors[0] if flavors else "python_function",
        "inputs": _tensors(signature.inputs if signature else None, "input"),
        "outputs": _tensors(signature.outputs if signature else None, DEFAULT_OUTPUT),
    }


def _tensors(schema: Any, unnamed: str) -> list[dict[str, Any]]:
    """Metadata tensors of ``schema``; unnamed ones are ``unnamed`` (``unnamed-<i>`` when
    there are several), as the infer answer names them."""
    if schema is None:
        return []
    found = []
    for i, spec in enumerate(schema.inputs):
        name = spec.name if spec.name is not None else unnamed
        if spec.name is None and len(schema.inputs) > 1:
            name = f"{unnamed}-{i}"
        if schema.is_tensor_spec():
            datatype = _FROM_NUMPY.get(str(spec.type), "BYTES")
            shape = list(spec.shape)
        else:
            datatype = _FROM_COLUMN.get(getattr(spec.type, "value", ""), "BYTES")
            shape = [-1]
        found.append({"name": name, "datatype": datatype, "shape": shape})
    return found


@dataclass(frozen=True)
class InferRequest:
    """One parsed inference request: the model input, its params, and what to answer."""

    data: Any
    params: dict[str, Any] | None
    request_id: str | None
    outputs: list[str] | None


def parse_infer(body: bytes, signature: Any) -> InferRequest:
    """The model input of an inference request (400 for anything the protocol refuses)."""
    try:
        request = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"The request body is not valid JSON: {e}.") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise ProtocolError('An inference request is a JSON object with an "inputs" list.')
    if not request["inputs"]:
        raise ProtocolError('"inputs" is empty: send at least one tensor.')
    tensors = [_tensor(t, i) for i, t in enumerate(request["inputs"])]
    names = [n for n, _ in tensors]
    if len(set(names)) != len(names):
        raise ProtocolError(f"Input names must differ; got {names}.")
    parameters = request.get("parameters")
    content_type = parameters.get("content_type") if isinstance(parameters, dict) else None
    if content_type not in (None, "pd", "np"):
        raise ProtocolError(f'parameters.content_type is "pd" or "np"; got {content_type!r}.')
    return InferRequest(
        _model_input(tensors, signature, content_type),
        _params(parameters),
        _request_id(request.get("id")),
        _requested(request.get("outputs")),
    )


def _tensor(item: Any, index: int) -> tuple[str, Any]:
    import numpy as np

    where = f"inputs[{index}]"
    if not isinstance(item, dict):
        raise ProtocolError(f"{where} must be an object with name, shape, datatype and data.")
    missing = [k for k in ("name", "shape", "datatype", "data") if k not in item]
    if missing:
        raise ProtocolError(f"{where} has no {', '.join(missing)}.")
    name, shape, datatype, data = item["name"], item["shape"], item["datatype"], item["data"]
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"{where}.name must be a non-empty string.")
    where = f"input {name!r}"
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise ProtocolError(
            f"{where}: shape must be a list of non-negative integers; got {shape!r}."
        )
    if datatype not in DATATYPES:
        raise ProtocolError(
            f"{where}: unknown datatype {datatype!r}; use one of {', '.join(DATATYPES)}."
        )
    flat = _flatten(data, where)
    if len(flat) != math.prod(shape):
        raise ProtocolError(
            f"{where}: shape {shape} holds {math.prod(shape)} values but data has {len(flat)}."
        )
    try:
        array = np.array(flat, dtype=DATATYPES[datatype])
    except (ValueError, TypeError, OverflowError) as e:
        raise ProtocolError(f"{where}: the data is not {datatype} ({e}).") from None
    if datatype == "BYTES" and not all(isinstance(v, str) for v in flat):
        raise ProtocolError(f"{where}: BYTES data must be strings.")
    if datatype == "BOOL" and not all(isinstance(v, bool) for v in flat):
        raise ProtocolError(f"{where}: BOOL data must be true or false.")
    return name, array.reshape(shape)


def _flatten(data: Any, where: str) -> list[Any]:
    """Row-major values of ``data``, given flat or nested as the shape (both are allowed)."""
    if not isinstance(data, list):
        raise ProtocolError(f"{where}: data must be a list.")
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:  # iterative, so a deeply nested body cannot exhaust the stack
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            if isinstance(value, dict):
                raise ProtocolError(f"{where}: data holds an object; tensors hold values.")
            flat.append(value)
        else:
            stack.pop()
    return flat


def _model_input(tensors: list[tuple[str, Any]], signature: Any, content_type: str | None) -> Any:
    import pandas as pd

    schema: Any = signature.inputs if signature is not None else None
    tensor_schema = schema is not None and schema.is_tensor_spec()
    if content_type == "np" or (content_type is None and tensor_schema):
        if len(tensors) == 1 and not (tensor_schema and schema.has_input_names()):
            return tensors[0][1]
        return dict(tensors)
    columns = (
        [str(n) for n in schema.input_names()] if schema and schema.has_input_names() else None
    )
    single = len(tensors) == 1 and (columns is None or tensors[0][0] not in columns)
    if single and not (columns is None and content_type == "pd"):
        array = tensors[0][1]
        if columns is None:
            return array
        if array.ndim != 2 or array.shape[1] != len(columns):
            raise ProtocolError(
                f"input {tensors[0][0]!r}: the model takes the columns {columns}; send one "
                f"tensor per column, or one [N, {len(columns)}] tensor; got shape "
                f"{list(array.shape)}."
            )
        return pd.DataFrame(array, columns=columns)
    frame: dict[str, Any] = {}
    for name, array in tensors:
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ProtocolError(
                f"input {name!r} is one column: its shape must be [N] or [N, 1]; got "
                f"{list(array.shape)}."
            )
        frame[name] = array
    if len({len(a) for a in frame.values()}) > 1:
        raise ProtocolError("Column inputs must have the same length.")
    return pd.DataFrame(frame)


def _params(parameters: Any) -> dict[str, Any] | None:
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise ProtocolError('"parameters" must be an object.')
    params = {k: v for k, v in parameters.items() if k not in _PROTOCOL_PARAMETERS}
    return params or None


def _request_id(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ProtocolError('"id" must be a string.')
    return value


def _requested(outputs: Any) -> list[str] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise ProtocolError('"outputs" must be a list of objects with a "name".')
    return [o["name"] for o in outputs]


def infer_body(
    predictions: Any, request: InferRequest, signature: Any, name: str, version: str | None
) -> bytes:
    """The response of an inference request: one typed tensor per output."""
    outputs = _outputs(predictions, signature)
    if request.outputs is not None:
        known = {o["name"] for o in outputs}
        unknown = [n for n in request.outputs if n not in known]
        if unknown:
            raise ProtocolError(f"Unknown outputs {unknown}; this model has {sorted(known)}.")
        outputs = [o for o in outputs if o["name"] in request.outputs]
    response: dict[str, Any] = {"model_name": name}
    if version is not None:
        response["model_version"] = version
    if request.request_id is not None:
        response["id"] = request.request_id
    response["outputs"] = outputs
    return json.dumps(response, default=json_default).encode()


def _outputs(predictions: Any, signature: Any) -> list[dict[str, Any]]:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return [_output(str(c), predictions[c].to_numpy()) for c in predictions.columns]
    if isinstance(predictions, dict):
        return [_output(str(k), np.asarray(v)) for k, v in predictions.items()]
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_numpy()
    outputs = signature.outputs if signature is not None else None
    names = outputs.input_names() if outputs is not None and outputs.has_input_names() else []
    label = str(names[0]) if len(names) == 1 else DEFAULT_OUTPUT
    return [_output(label, np.asarray(predictions))]


def _output(name: str, array: Any) -> dict[str, Any]:
    datatype = _FROM_NUMPY.get(str(array.dtype), "BYTES")
    values = array.reshape(-1).tolist()
    if datatype == "BYTES":
        values = [v if isinstance(v, str) else json_default(v) for v in values]
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": values}
