"""The recorded answers of MLflow's scoring server are a well-formed fixture.

``record_mlflow.py`` (run with MLflow's interpreter) writes the fixture; these checks keep
its shape fit for the tests that will compare ``mltrail models serve`` with it: every case
has a request and a response, each declared shape holds, and nothing that differs between
machines (ports, temporary paths) leaked in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "mlflow_3.17.2_responses.json"
DOC = Path(__file__).parents[2] / "docs" / "SERVING.md"

# The matrix the recording must cover (issue 10): a missing name means a lost case.
REQUIRED_CASES = {
    "get_ping",
    "get_health",
    "get_version",
    "get_invocations",
    "post_unknown_path",
    "split",
    "split_with_index",
    "records",
    "instances_dicts",
    "instances_lists",
    "inputs_columns",
    "split_with_params",
    "csv_with_header",
    "json_charset_utf8",
    "parquet",
    "two_input_keys",
    "no_known_key",
    "malformed_json",
    "empty_body_json",
    "text_plain",
    "application_xml",
    "missing_column",
    "extra_column",
    "string_in_double",
    "null_in_double",
    "nan_literal_in_double",
    "one_row",
    "rows_1000",
}

# Cases that send the same three rows in different envelopes: one answer for all.
SAME_THREE_ROWS = [
    "split",
    "split_with_index",
    "records",
    "instances_dicts",
    "inputs_columns",
    "inputs_records",
    "split_with_params",
    "json_charset_utf8",
    "parquet",
]

ERROR_STATUS = {"BAD_REQUEST": 400, "INVALID_PARAMETER_VALUE": 400}


@pytest.fixture(scope="module")
def recording() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cases(recording: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return recording["cases"]


def test_the_file_is_in_canonical_form(recording: dict[str, Any]) -> None:
    canonical = json.dumps(recording, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert FIXTURE.read_text(encoding="utf-8") == canonical


def test_it_records_the_version_its_name_says(recording: dict[str, Any]) -> None:
    assert recording["mlflow_version"] == "3.17.2"
    assert recording["model"]["signature"]["inputs"]
    assert recording["model"]["columns"] == ["a", "b", "c", "d"]


def test_nothing_machine_specific_leaked() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    for leak in ("/tmp/", "mltrail-record-", "127.0.0.1:", "localhost:", "/work/"):
        assert leak not in text


def test_every_required_case_is_recorded(cases: dict[str, dict[str, Any]]) -> None:
    assert not REQUIRED_CASES - cases.keys(), REQUIRED_CASES - cases.keys()


def test_every_case_has_a_request_and_a_response(cases: dict[str, dict[str, Any]]) -> None:
    for name, case in cases.items():
        request, response = case["request"], case["response"]
        assert request["method"] in {"GET", "POST"}, name
        assert request["path"].startswith("/"), name
        assert {"body", "body_base64", "body_elided"} & request.keys(), name
        assert isinstance(response["status"], int), name
        assert response["body_format"] in {"json", "text"}, name
        assert "body" in response, name
        assert case["shape"] in {"predictions", "mlflow_error", "text", "framework", "info"}


def _of_shape(cases: dict[str, dict[str, Any]], shape: str) -> dict[str, dict[str, Any]]:
    return {name: case["response"] for name, case in cases.items() if case["shape"] == shape}


def test_good_requests_answer_200_with_predictions(cases: dict[str, dict[str, Any]]) -> None:
    good = _of_shape(cases, "predictions")
    assert len(good) >= 15
    for name, response in good.items():
        assert response["status"] == 200, name
        assert response["content_type"] == "application/json", name
        assert "predictions" in response["body"], name
    assert cases["rows_1000"]["response"]["prediction_count"] == 1000


def test_one_input_gives_one_answer_in_every_envelope(cases: dict[str, dict[str, Any]]) -> None:
    answers = {name: cases[name]["response"]["body"]["predictions"] for name in SAME_THREE_ROWS}
    assert len({json.dumps(a) for a in answers.values()}) == 1, answers
    assert len(answers["split"]) == 3


def test_mlflow_errors_carry_a_code_and_a_message(cases: dict[str, dict[str, Any]]) -> None:
    errors = _of_shape(cases, "mlflow_error")
    assert len(errors) >= 20
    for name, response in errors.items():
        body = response["body"]
        assert response["content_type"] == "application/json", name
        assert body["message"], name
        assert response["status"] == ERROR_STATUS[body["error_code"]], name


def test_other_refusals_are_plain_text_or_the_framework(cases: dict[str, dict[str, Any]]) -> None:
    for name, response in _of_shape(cases, "text").items():
        assert response["status"] in {415, 500}, name
        assert response["content_type"].startswith("text/plain"), name
    for name, response in _of_shape(cases, "framework").items():
        assert response["status"] in {404, 405}, name
        assert set(response["body"]) == {"detail"}, name


def test_the_serving_doc_tables_every_case_with_its_status(
    cases: dict[str, dict[str, Any]],
) -> None:
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| (\d{3}) \|", DOC.read_text(), re.MULTILINE)
    documented = {name: int(status) for name, status in rows}
    recorded = {name: case["response"]["status"] for name, case in cases.items()}
    assert documented == recorded
