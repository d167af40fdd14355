"""The scoring server's ASGI app, served by a real uvicorn on 127.0.0.1, answers every
request MLflow 3.17.2's server was recorded answering with the same status and the same
predictions (tests/serving/fixtures), except the differences docs/SERVING.md lists."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

import mltrail
import mltrail.pyfunc
import mltrail.sklearn
from mltrail.serving.app import ScoringApp
from tests.serving.record_mlflow import CASES, COLUMNS, FIXTURE, Case
from tests.serving.servers import send, serve_app

uvicorn = pytest.importorskip("uvicorn")
sklearn_linear = pytest.importorskip("sklearn.linear_model")
RECORDED = json.loads(FIXTURE.read_text())["cases"]
#: Where mltrail answers differently on purpose (docs/SERVING.md): case -> our status.
KNOWN_DIFFERENCES = {
    "json_mixed_case": 200,  # HTTP media types are case-insensitive; MLflow says 415
    "no_content_type": 415,  # MLflow's server fails with 500
    "params_not_a_dict": 400,  # MLflow ignores a params that is not an object
    "extra_column": 400,  # MLflow drops unknown columns silently (--allow-unknown-columns)
    "extra_unicode_column": 400,
}
#: Where both answer 400 but with another error_code: case -> ours (none left).
KNOWN_CODE_DIFFERENCES: dict[str, str] = {}


def same_error_code(case: Case, ours: Any, theirs: Any) -> bool:
    """Whether our error's code is MLflow's (or the known difference), when both are
    MLflow JSON errors."""
    if not (isinstance(theirs, dict) and "error_code" in theirs):
        return True
    return bool(ours["error_code"] == KNOWN_CODE_DIFFERENCES.get(case.name, theirs["error_code"]))


@pytest.fixture(scope="module")
def model(recorded_model: Any) -> Any:
    return recorded_model


@pytest.fixture(scope="module")
def port(model: Any) -> Iterator[int]:
    with serve_app(ScoringApp(model, version=mltrail.__version__)) as port:
        yield port


def _send(port: int, method: str, path: str, body: bytes, ctype: str | None) -> tuple[int, Any]:
    status, answer, _ = send(port, method, path, body, ctype)
    return status, answer


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_recorded_request_gets_mlflows_answer(port: int, case: Case) -> None:
    recorded = RECORDED[case.name]["response"]
    status, body = _send(port, case.method, case.path, case.body, case.content_type)
    assert status == KNOWN_DIFFERENCES.get(case.name, recorded["status"]), body
    theirs = recorded["body"]
    if "prediction_count" in recorded:  # a large answer, kept as its count
        assert len(body["predictions"]) == recorded["prediction_count"]
    elif status == 200 and isinstance(theirs, dict) and "predictions" in theirs:
        assert body["predictions"] == theirs["predictions"]
    elif status >= 400:
        assert set(body) == {"error_code", "message"} and body["message"]
        assert same_error_code(case, body, theirs), (body, theirs)


def test_limits_answer_413_and_504(model: Any) -> None:
    class Slow:
        metadata = model.metadata

        def predict(self, data: Any) -> Any:
            time.sleep(1.0)
            return model.predict(data)

    body = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [[5.1, 3.5, 1.4, 0.2]]}})
    with serve_app(ScoringApp(Slow(), version="x", max_body_bytes=200, timeout=0.2)) as port:
        status, answer = _send(port, "POST", "/invocations", body.encode(), "application/json")
        assert status == 504 and answer["error_code"] == "DEADLINE_EXCEEDED"
        big = json.dumps({"dataframe_records": [{"a": 1.0}] * 100}).encode()
        status, answer = _send(port, "POST", "/invocations", big, "application/json")
        assert status == 413 and "limit of 200 bytes" in answer["message"]
        status, answer = _send(port, "GET", "/version", b"", None)
        assert (status, answer) == (200, "x")


@pytest.mark.parametrize("name", ["extra_column", "extra_unicode_column"])
def test_unknown_columns_are_named_or_dropped_as_mlflow_does(
    port: int, model: Any, name: str
) -> None:
    case = next(c for c in CASES if c.name == name)
    status, body = _send(port, "POST", case.path, case.body, case.content_type)
    assert status == 400
    unknown = "e" if name == "extra_column" else "größe"
    assert f"Unknown column(s) {unknown!r}" in body["message"]
    assert "--allow-unknown-columns" in body["message"]
    lenient = ScoringApp(model, version="x", allow_unknown_columns=True)
    with serve_app(lenient) as port:
        status, body = _send(port, "POST", case.path, case.body, case.content_type)
    assert status == 200
    assert body["predictions"] == RECORDED[name]["response"]["body"]["predictions"]
