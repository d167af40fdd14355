"""MLflow's scoring protocol (mltrail.serving.protocol): every request format gives the
same predictions from a real saved model, and bad requests get a clear status and
message, never another exception."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mltrail.pyfunc
import mltrail.sklearn
from mltrail.models import ModelSchemaError, infer_signature
from mltrail.serving.protocol import (
    ScoringError,
    ScoringInput,
    parse_request,
    predictions_body,
)

sklearn_linear = pytest.importorskip("sklearn.linear_model")
JSON = "application/json"
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
COLUMNS = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small classifier saved with its signature, loaded as MLflow's server loads it."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 4)), columns=COLUMNS)
    target = (frame["a"] + frame["c"] > 0).astype(int)
    clf = sklearn_linear.LogisticRegression().fit(frame, target)
    path = tmp_path_factory.mktemp("served") / "model"
    signature = infer_signature(frame, clf.predict(frame))
    mltrail.sklearn.save_model(clf, path, signature=signature)
    return mltrail.pyfunc.load_model(Path(path))


def _predict(model: Any, body: bytes, content_type: str = JSON) -> Any:
    request = parse_request(body, content_type)
    return json.loads(predictions_body(model.predict(request.data, request.params)))


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def test_every_request_format_gives_the_same_predictions(model: Any) -> None:
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    expected = {"predictions": model.predict(frame).tolist()}
    records = frame.to_dict(orient="records")
    bodies = {
        "dataframe_split": _json({"dataframe_split": frame.to_dict(orient="split")}),
        "split without index": _json({"dataframe_split": {"columns": COLUMNS, "data": ROWS}}),
        "dataframe_records": _json({"dataframe_records": records}),
        "instances": _json({"instances": records}),
        "inputs": _json({"inputs": {c: frame[c].tolist() for c in COLUMNS}}),
        "with params": _json({"dataframe_records": records, "params": {}}),
    }
    for name, body in bodies.items():
        assert _predict(model, body) == expected, name
    csv = frame.to_csv(index=False).encode()
    assert _predict(model, csv, "text/csv") == expected
    assert _predict(model, bodies["dataframe_records"], "Application/JSON; charset=UTF-8") == (
        expected
    )


def test_parquet_gives_the_same_predictions(model: Any) -> None:
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    expected = {"predictions": model.predict(frame).tolist()}
    assert _predict(model, buffer.getvalue(), "application/vnd.apache.parquet") == expected


def test_params_and_tensors_are_passed_through() -> None:
    request = parse_request(_json({"inputs": [[1, 2], [3, 4]], "params": {"k": 3}}), JSON)
    assert request.params == {"k": 3}
    assert request.data.shape == (2, 2)
    rows = parse_request(_json({"instances": [[1.5, 2.0], [3.0, 4.0]]}), JSON).data
    assert rows.tolist() == [[1.5, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b"{}", "text/plain", 415, "only supports the content types"),
        (b"{}", None, 415, "only supports the content types"),
        (b"a\n1\n", "text/csv; charset=latin-1", 415, "only supports UTF-8"),
        (b"{}", "application/json; format=pandas-split", 415, "parameters: format"),
        (b"{not json", JSON, 400, "not valid JSON"),
        (b"", JSON, 400, "not valid JSON"),
        (b"\xff\xfe", JSON, 400, "not valid JSON"),
        (b"[1, 2]", JSON, 400, "got a list"),
        (b'{"columns": ["a"], "data": [[1]]}', JSON, 400, "exactly one of the fields"),
        (b'{"inputs": [1], "instances": [1]}', JSON, 400, "exactly one of the fields"),
        (b'{"inputs": [1], "params": [1]}', JSON, 400, "'params' must be an object"),
        (b'{"dataframe_split": [[1]]}', JSON, 400, "must be an object with 'data'"),
        (b'{"dataframe_split": {"data": [[1]], "x": 1}}', JSON, 400, "unknown fields ['x']"),
        (b'{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}', JSON, 400, "split format"),
        (b'{"dataframe_records": {"a": 1}}', JSON, 400, "list of row objects"),
        (b'{"instances": {"a": 1}}', JSON, 400, "must be a list of rows"),
        (b'{"inputs": [[1, 2], [3]]}', JSON, 400, "not a rectangular tensor"),
        (b"", "text/csv", 400, "not a CSV table"),
        (b"\xff\xfe", "text/csv", 400, "not UTF-8"),
    ],
)
def test_bad_requests_get_a_status_and_a_message(
    body: bytes, content_type: str | None, status: int, says: str
) -> None:
    with pytest.raises(ScoringError) as caught:
        parse_request(body, content_type)
    error = caught.value
    assert error.status == status and says in error.message
    assert json.loads(error.body()) == {"error_code": "BAD_REQUEST", "message": error.message}


def test_a_missing_or_mistyped_column_names_the_column(model: Any) -> None:
    missing = parse_request(_json({"dataframe_records": [{"a": 1.0, "b": 2.0, "c": 3.0}]}), JSON)
    with pytest.raises(ModelSchemaError, match="'d'"):
        model.predict(missing.data)
    text = {"a": "x", "b": 2.0, "c": 3.0, "d": 4.0}
    with pytest.raises(ModelSchemaError, match="'a'"):
        model.predict(parse_request(_json({"dataframe_records": [text]}), JSON).data)


def test_predictions_are_written_as_mlflow_writes_them() -> None:
    frame = pd.DataFrame({"p": [0.25, float("nan")], "label": ["x", "y"]})
    assert (
        json.loads(predictions_body(frame))
        == {"predictions": [{"p": 0.25, "label": "x"}, {"p": None, "label": "y"}]}
        or "NaN" in predictions_body(frame).decode()
    )
    assert json.loads(predictions_body(np.array([1, 2]))) == {"predictions": [1, 2]}
    assert json.loads(predictions_body(pd.Series([1.5], name="y"))) == {"predictions": [{"y": 1.5}]}
    assert json.loads(predictions_body([np.int64(3), np.float32(0.5)])) == {"predictions": [3, 0.5]}
    assert json.loads(predictions_body([b"\x00\x01"])) == {"predictions": ["AAE=\n"]}


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs", "params"])


@given(
    st.one_of(
        st.binary(max_size=200),
        ANY_JSON.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(KEYS, ANY_JSON, max_size=3).map(lambda v: json.dumps(v).encode()),
    ),
    st.sampled_from([JSON, "text/csv", "text/plain", None, "application/json; charset=utf-8"]),
)
def test_any_body_is_parsed_or_refused_with_a_status(body: bytes, content_type: str | None) -> None:
    try:
        request = parse_request(body, content_type)
    except ScoringError as e:
        assert e.status in (400, 415) and e.message
    else:
        assert isinstance(request, ScoringInput)
