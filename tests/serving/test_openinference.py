"""The Open Inference Protocol (KServe V2) on the scoring server: health, metadata from
the signature, and typed tensors in and out, served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mltrail
import mltrail.pyfunc
import mltrail.sklearn
from mltrail.serving import openinference as oip
from mltrail.serving.app import ScoringApp
from mltrail.serving.served import ModelIdentity
from tests.serving.models import AddN
from tests.serving.record_mlflow import COLUMNS
from tests.serving.servers import send, serve_app

sklearn_linear = pytest.importorskip("sklearn.linear_model")
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


@pytest.fixture(scope="module")
def model(recorded_model: Any) -> Any:
    return recorded_model


@pytest.fixture(scope="module")
def port(model: Any) -> Iterator[int]:
    identity = ModelIdentity("iris", "3", "models:/iris/3")
    with serve_app(ScoringApp(model, version=mltrail.__version__, identity=identity)) as port:
        yield port


def _infer(port: int, request: Any, path: str = "/v2/models/iris/infer") -> tuple[int, Any]:
    status, body, _ = send(port, "POST", path, request)
    return status, body


def _expected(model: Any) -> list[int]:
    return [int(v) for v in model.predict(pd.DataFrame(ROWS, columns=COLUMNS))]


def test_health_and_server_metadata(port: int) -> None:
    assert send(port, "GET", "/v2/health/live")[:2] == (200, {"live": True})
    assert send(port, "GET", "/v2/health/ready")[:2] == (200, {"ready": True})
    assert send(port, "GET", "/v2/models/iris/ready")[:2] == (200, {"name": "iris", "ready": True})
    status, body, _ = send(port, "GET", "/v2")
    assert status == 200 and body == {
        "name": "mltrail", "version": mltrail.__version__, "extensions": [],
    }  # fmt: skip


def test_model_metadata_comes_from_the_signature(port: int) -> None:
    for path in ("/v2/models/iris", "/v2/models/iris/versions/3"):
        status, body, _ = send(port, "GET", path)
        assert status == 200
        assert body == {
            "name": "iris",
            "versions": ["3"],
            "platform": "sklearn",
            "inputs": [{"name": c, "datatype": "FP64", "shape": [-1]} for c in COLUMNS],
            "outputs": [{"name": "predictions", "datatype": "INT64", "shape": [-1]}],
        }


def test_one_tensor_per_column(port: int, model: Any) -> None:
    inputs = [
        {"name": c, "shape": [3], "datatype": "FP64", "data": [r[i] for r in ROWS]}
        for i, c in enumerate(COLUMNS)
    ]
    status, body = _infer(port, {"id": "req-1", "inputs": inputs})
    assert status == 200, body
    assert body == {
        "model_name": "iris",
        "model_version": "3",
        "id": "req-1",
        "outputs": [
            {"name": "predictions", "shape": [3], "datatype": "INT64", "data": _expected(model)}
        ],
    }


@pytest.mark.parametrize("nested", [False, True])
def test_one_table_tensor_flat_or_nested(port: int, model: Any, nested: bool) -> None:
    data = ROWS if nested else [v for r in ROWS for v in r]
    request = {"inputs": [{"name": "rows", "shape": [3, 4], "datatype": "FP64", "data": data}]}
    status, body = _infer(port, request, "/v2/models/iris/versions/3/infer")
    assert status == 200, body
    assert body["outputs"][0]["data"] == _expected(model)


def test_requested_outputs_are_checked(port: int) -> None:
    request = {
        "inputs": [{"name": "rows", "shape": [1, 4], "datatype": "FP64", "data": ROWS[0]}],
        "outputs": [{"name": "probabilities"}],
    }
    status, body = _infer(port, request)
    assert status == 400 and "probabilities" in body["error"]


@pytest.mark.parametrize(
    ("path", "method", "payload", "status", "says"),
    [
        ("/v2/models/other/infer", "POST", {}, 404, "'other' is not served"),
        ("/v2/models/iris/versions/2/infer", "POST", {}, 404, "Version '2'"),
        ("/v2/models/iris/infer", "GET", None, 405, "takes POST"),
        ("/v2/models/iris/explain", "POST", {}, 404, "Not found"),
        ("/v2/models/iris/infer", "POST", "{not json", 400, "not valid JSON"),
        ("/v2/models/iris/infer", "POST", {"inputs": []}, 400, "empty"),
        ("/v2/models/iris/infer", "POST", {"instances": [1]}, 400, '"inputs" list'),
        ("/v2/models/iris/infer", "POST",
         {"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1.0]}]},
         400, "shape [2] holds 2 values but data has 1"),
        ("/v2/models/iris/infer", "POST",
         {"inputs": [{"name": "a", "shape": [1], "datatype": "FLOAT", "data": [1.0]}]},
         400, "unknown datatype 'FLOAT'"),
        ("/v2/models/iris/infer", "POST",
         {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": ["x"]}]},
         400, "not FP64"),
        ("/v2/models/iris/infer", "POST",
         {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
         400, "missing column(s) 'b'"),
        ("/v2/models/iris/infer", "POST",
         {"inputs": [{"name": "rows", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]},
         400, "one [N, 4] tensor"),
        ("/v2/models/iris/infer", "POST",
         {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [{"x": 1}]}]},
         400, "data holds an object"),
    ],
)  # fmt: skip
def test_bad_requests_get_the_protocols_error(
    port: int, path: str, method: str, payload: Any, status: int, says: str
) -> None:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    got, answer, _ = send(port, method, path, body if method == "POST" else b"")
    assert got == status, answer
    assert set(answer) == {"error"} and says in answer["error"]


def test_a_model_without_signature_takes_columns_when_asked(tmp_path: Path) -> None:
    mltrail.pyfunc.save_model(tmp_path / "m", python_model=AddN(10))
    loaded = mltrail.pyfunc.load_model(tmp_path / "m")
    tensor = {"name": "x", "shape": [2, 1], "datatype": "INT64", "data": [1, 2]}
    with serve_app(ScoringApp(loaded, version="x")) as port:
        assert send(port, "GET", "/v2/models/model")[1]["inputs"] == []
        as_array = _infer(port, {"inputs": [tensor]}, "/v2/models/model/infer")
        request = {"inputs": [tensor], "parameters": {"content_type": "pd"}}
        status, body = _infer(port, request, "/v2/models/model/infer")
    assert as_array[0] == 400  # one tensor is the array by default; the model indexes "x"
    assert status == 200, body
    assert body["outputs"] == [
        {"name": "predictions", "shape": [2], "datatype": "INT64", "data": [11, 12]}
    ]


shapes = st.lists(st.integers(0, 4), min_size=1, max_size=4)


@given(shapes, st.sampled_from(["FP64", "INT32", "BOOL", "BYTES"]), st.data())
def test_flat_and_nested_data_give_the_same_tensor(
    shape: list[int], datatype: str, data: Any
) -> None:
    values = {
        "FP64": st.floats(allow_nan=False, width=64),
        "INT32": st.integers(-(2**31), 2**31 - 1),
        "BOOL": st.booleans(),
        "BYTES": st.text(max_size=5),
    }[datatype]
    flat = data.draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    nested = np.array(flat, dtype=object).reshape(shape).tolist()
    tensors = []
    for given_data in (flat, nested):
        item = {"name": "t", "shape": shape, "datatype": datatype, "data": given_data}
        parsed = oip.parse_infer(json.dumps({"inputs": [item]}).encode(), None)
        tensors.append(parsed.data)
    assert tensors[0].shape == tuple(shape)
    assert (
        tensors[0].tolist()
        == tensors[1].tolist()
        == np.array(flat, dtype=object).reshape(shape).tolist()
    )


@given(st.lists(st.floats(allow_nan=False, width=64), min_size=1, max_size=20))
def test_outputs_round_trip_through_json(values: list[float]) -> None:
    request = oip.InferRequest(None, None, None, None)
    body = json.loads(oip.infer_body(np.array(values), request, None, "m", None))
    (output,) = body["outputs"]
    assert output == {
        "name": "predictions",
        "shape": [len(values)],
        "datatype": "FP64",
        "data": values,
    }
