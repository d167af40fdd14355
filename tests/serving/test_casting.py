"""Number columns converted while a request is parsed (mltrail.serving.casting), as MLflow's
server converts them (``cast_df_types_according_to_schema``), but never losing a value."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltrail.models import ColSpec, DataType, ModelSchemaError, Schema
from mltrail.models.enforce import enforce_schema
from mltrail.serving.casting import BadValue, to_signature_types
from mltrail.serving.protocol import ScoringError, parse_request

SCHEMA = Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.long, "n")])
JSON = "application/json"


def _split(a: Any, n: Any) -> bytes:
    return json.dumps({"dataframe_split": {"columns": ["a", "n"], "data": [[a, n]]}}).encode()


def _row(body: bytes, content_type: str = JSON, schema: Schema = SCHEMA) -> dict[str, Any]:
    """The one row the request's input becomes once the signature check has run."""
    data = enforce_schema(parse_request(body, content_type, schema).data, schema)
    return dict(data.to_dict(orient="records")[0])


@pytest.mark.parametrize(
    ("a", "n", "row"),
    [
        ("5.1", 3, {"a": 5.1, "n": 3}),  # recorded: numeric_string_in_double
        (True, 3, {"a": 1.0, "n": 3}),  # recorded: bool_in_double
        (False, "7", {"a": 0.0, "n": 7}),
        (2.5, True, {"a": 2.5, "n": 1}),
        (2.5, 7.0, {"a": 2.5, "n": 7}),
        ("-1e3", " 12 ", {"a": -1000.0, "n": 12}),
    ],
)
def test_text_and_booleans_become_the_signatures_numbers(a: Any, n: Any, row: Any) -> None:
    assert _row(_split(a, n)) == row


def test_every_json_form_and_csv_convert_alike() -> None:
    bodies = {
        "records": {"dataframe_records": [{"a": "2.5", "n": "3"}]},
        "instances": {"instances": [{"a": "2.5", "n": 3.0}]},
        "inputs rows": {"inputs": [{"a": "2.5", "n": 3}]},
        "inputs columns": {"inputs": {"a": ["2.5"], "n": ["3"]}},
    }
    for name, body in bodies.items():
        assert _row(json.dumps(body).encode()) == {"a": 2.5, "n": 3}, name
    assert _row(b"a,n\nTrue,3\n", "text/csv") == {"a": 1.0, "n": 3}


@pytest.mark.parametrize(
    ("a", "n", "says"),
    [
        ("abc", 3, "column 'a' takes double values, but row 1 holds 'abc' (str)"),
        (1.0, 7.5, "column 'n' takes long values, but row 1 holds 7.5 (float)"),  # MLflow: 7
        (1.0, "7.0", "column 'n' takes long values, but row 1 holds '7.0' (str)"),
        ([1.0], 3, "column 'a' takes double values, but row 1 holds [1.0] (list)"),
        ("x" * 500, 3, "holds 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... (str)"),
    ],
)
def test_a_value_that_is_no_number_is_a_400_naming_its_column(a: Any, n: Any, says: str) -> None:
    with pytest.raises(ScoringError) as caught:
        parse_request(_split(a, n), JSON, SCHEMA)
    assert caught.value.status == 400 and caught.value.error_code == "BAD_REQUEST"
    assert says in caught.value.message and len(caught.value.message) < 200


def test_a_bad_csv_value_names_its_row() -> None:
    with pytest.raises(ScoringError, match="row 3 holds 'x'"):
        parse_request(b"a,n\n1.5,1\n2.5,2\nx,3\n", "text/csv", SCHEMA)


def test_columns_that_already_fit_are_the_same_object() -> None:
    frame = pd.DataFrame({"a": [1.5], "n": np.array([3], dtype=np.int64), "other": ["x"]})
    assert to_signature_types(frame, SCHEMA) is frame
    assert to_signature_types(frame, None) is frame
    assert to_signature_types(frame, Schema([ColSpec(DataType.string, "other")])) is frame


def test_other_types_are_left_to_the_signature_check() -> None:
    schema = Schema([ColSpec(DataType.string, "s"), ColSpec(DataType.boolean, "b")])
    frame = pd.DataFrame({"s": [5], "b": ["false"]})
    assert to_signature_types(frame, schema) is frame
    with pytest.raises(ModelSchemaError, match="'s'"):
        enforce_schema(frame, schema)


def test_missing_values_stay_missing() -> None:
    out = to_signature_types(pd.DataFrame({"a": ["1.5", None], "n": [1, 2]}), SCHEMA)
    assert out["a"].iloc[0] == 1.5 and math.isnan(out["a"].iloc[1])
    body = json.dumps({"inputs": {"a": [1.0], "n": [None]}}).encode()
    with pytest.raises(ModelSchemaError, match="'n'"):  # a long cannot be missing (MLflow: 400)
        _row(body)


def test_a_list_for_one_named_column_is_that_column() -> None:
    """MLflow's server reads a bare list as the only column; a list of lists stays refused."""
    one = Schema([ColSpec(DataType.double, "a")])
    for key in ("instances", "inputs"):
        body = json.dumps({key: [5.1, "3.0", 2]}).encode()
        data = enforce_schema(parse_request(body, JSON, one).data, one)
        assert data["a"].tolist() == [5.1, 3.0, 2.0]
        rows = parse_request(json.dumps({key: [[5.1], [3.0]]}).encode(), JSON, one).data
        with pytest.raises(ModelSchemaError, match="no column names"):
            enforce_schema(rows, one)


@pytest.mark.parametrize(
    "body",
    [
        {"instances": [[5.1, 3]]},  # recorded: instances_lists
        {"inputs": [[5.1, 3]]},  # recorded: inputs_lists
        {"dataframe_split": {"data": [[5.1, 3]]}},  # recorded: split_without_columns
    ],
)
def test_rows_without_column_names_are_refused(body: Any) -> None:
    data = parse_request(json.dumps(body).encode(), JSON, SCHEMA).data
    with pytest.raises(ModelSchemaError, match=r"missing column\(s\) 'a': double, 'n': long"):
        enforce_schema(data, SCHEMA)


FINITE = st.floats(allow_nan=False, allow_infinity=False)


@given(FINITE, st.sampled_from([repr, str, lambda x: f"{x:.17e}", lambda x: f" {x!r}\n"]))
def test_any_float_written_as_text_is_the_same_double(value: float, write: Any) -> None:
    out = to_signature_types(pd.DataFrame({"a": [write(value)]}), SCHEMA)
    assert out["a"].dtype == np.float64 and out["a"].iloc[0] == value


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_any_long_written_as_text_or_as_a_whole_float_is_that_long(value: int) -> None:
    out = to_signature_types(pd.DataFrame({"n": [str(value)]}), SCHEMA)
    assert out["n"].tolist() == [value]
    if abs(value) < 2**53:  # a double holds these exactly
        assert to_signature_types(pd.DataFrame({"n": [float(value)]}), SCHEMA)["n"].tolist() == [
            value
        ]


@given(st.lists(st.booleans() | FINITE | FINITE.map(repr), min_size=1, max_size=5))
def test_a_double_column_of_numbers_booleans_and_text_keeps_every_value(values: list[Any]) -> None:
    out = to_signature_types(pd.DataFrame({"a": pd.Series(values, dtype=object)}), SCHEMA)
    assert out["a"].tolist() == [float(v) for v in values]


@given(st.text(max_size=8))
def test_text_is_converted_exactly_when_python_reads_it_as_a_number(text: str) -> None:
    try:
        expected = float(text)
    except ValueError:
        with pytest.raises(BadValue, match="column 'a'"):
            to_signature_types(pd.DataFrame({"a": [text]}), SCHEMA)
    else:
        got = to_signature_types(pd.DataFrame({"a": [text]}), SCHEMA)["a"].iloc[0]
        assert got == expected or (math.isnan(got) and math.isnan(expected))
