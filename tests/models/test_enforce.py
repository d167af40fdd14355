"""Prediction input checked against the signature: conversions and the errors people see."""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrail.errors import InvalidParameterValue
from mltrail.models import (
    Array,
    ColSpec,
    DataType,
    ModelSchemaError,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)
from mltrail.models.enforce import enforce_schema
from mltrail.models.params import enforce_params

COLUMNS = Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.long, "b")])


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame({"b": [1, 0], "a": [1.0, 2.0], "extra": ["x", "y"]}),
        {"a": [1.0, 2.0], "b": [1, 0]},
        [{"a": 1.0, "b": 1}, {"a": 2.0, "b": 0}],
    ],
    ids=["frame", "dict", "records"],
)
def test_frames_dicts_and_records_become_the_schema_columns(data: Any) -> None:
    out = enforce_schema(data, COLUMNS)
    assert list(out.columns) == ["a", "b"]
    assert [str(t) for t in out.dtypes] == ["float64", "int64"]
    assert out["b"].tolist() == [1, 0]


@pytest.mark.parametrize(
    "data",
    [
        np.array([[1.0, 1], [2.0, 0]], dtype=object),
        [[1.0, 1], [2.0, 0]],
        pd.DataFrame([[1.0, 1], [2.0, 0]]),
        np.array([1.0, 2.0]),
        [1.0, 2.0],
    ],
    ids=["array", "rows", "frame-without-names", "1-D array", "list"],
)
def test_unnamed_input_never_fits_named_columns_by_position(data: Any) -> None:
    """MLflow's _enforce_schema refuses these too: 'Model is missing inputs'."""
    with pytest.raises(ModelSchemaError, match=r"missing column\(s\) 'a': double.*no column names"):
        enforce_schema(data, COLUMNS)


def test_a_bare_list_does_not_fit_even_one_named_column() -> None:
    """In-process, as in MLflow; the scoring protocol names it (tests/serving)."""
    one = Schema([ColSpec(DataType.double, "a")])
    for data in ([1.0, 2.0], np.array([1.0, 2.0]), pd.Series([1.0, 2.0])):
        with pytest.raises(ModelSchemaError, match="missing column"):
            enforce_schema(data, one)
    assert enforce_schema(pd.Series([1.0, 2.0], name="a"), one)["a"].tolist() == [1.0, 2.0]


def test_a_single_record_dict_is_one_row() -> None:
    out = enforce_schema({"a": 2.5, "b": 3}, COLUMNS)
    assert out.to_dict("records") == [{"a": 2.5, "b": 3}]


def test_a_dict_of_0d_arrays_is_one_row() -> None:
    """What the scoring protocol makes of ``{"inputs": {"a": 1.0, "b": 1}}``; MLflow's
    server answers it with one prediction."""
    out = enforce_schema({"a": np.asarray(1.0), "b": np.asarray(1)}, COLUMNS)
    assert out.to_dict("list") == {"a": [1.0], "b": [1]}


def test_single_values_beside_columns_fill_their_column() -> None:
    """As MLflow reads ``{"prompt": "hi", "a": [...], "b": 1}`` (an unwrapped LLM body): the
    lists are columns, a single value repeats down its own; unequal lists stay one record."""
    out = enforce_schema({"prompt": "hi", "a": [1.0, 2.0], "b": 1}, COLUMNS)
    assert out.to_dict("list") == {"a": [1.0, 2.0], "b": [1, 1]}
    with pytest.raises(ModelSchemaError):
        enforce_schema({"a": [1.0, 2.0], "b": [1]}, COLUMNS)


def test_a_column_given_twice_is_named() -> None:
    frame = pd.DataFrame([[1.0, 2.0, 1]], columns=["a", "a", "b"])
    with pytest.raises(ModelSchemaError, match="column\\(s\\) 'a' given more than once"):
        enforce_schema(frame, COLUMNS)


def test_lossless_conversions_are_made() -> None:
    schema = Schema([ColSpec(DataType.double, "x"), ColSpec(DataType.integer, "n")])
    out = enforce_schema(pd.DataFrame({"x": [1, 2], "n": np.array([5, 6], dtype=np.int64)}), schema)
    assert [str(t) for t in out.dtypes] == ["float64", "int32"]


def test_missing_and_mistyped_columns_are_all_reported_with_expected_and_got() -> None:
    with pytest.raises(ModelSchemaError) as caught:
        enforce_schema(pd.DataFrame({"a": ["x", "y"], "c": [1, 2]}), COLUMNS)
    message = str(caught.value)
    assert "missing column(s) 'b': long (got columns 'a', 'c')" in message
    assert "column 'a': expected double, got str (e.g. 'x')" in message
    assert "The model expects 'a': double, 'b': long." in message
    assert isinstance(caught.value, InvalidParameterValue)


@pytest.mark.parametrize(
    ("column", "got"),
    [
        ([1.5, 2.0], "got float64 (e.g. 1.5)"),
        ([True, False], "got bool"),
        ([2**40, 1], "got values out of the integer range"),
    ],
)
def test_integer_columns_refuse_lossy_values(column: list[Any], got: str) -> None:
    schema = Schema([ColSpec(DataType.integer, "n")])
    with pytest.raises(ModelSchemaError, match=re.escape(f"column 'n': expected integer, {got}")):
        enforce_schema(pd.DataFrame({"n": column}), schema)


def test_optional_columns_may_be_missing_or_hold_nulls() -> None:
    schema = Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.string, "s", False)])
    assert list(enforce_schema({"a": [1.0]}, schema).columns) == ["a"]
    out = enforce_schema(pd.DataFrame({"a": [1.0, 2.0], "s": ["x", None]}), schema)
    assert out["s"].tolist()[0] == "x"


def test_unnamed_columns_are_checked_by_position() -> None:
    schema = Schema([ColSpec(DataType.string)])
    assert enforce_schema(["a", "b"], schema).iloc[:, 0].tolist() == ["a", "b"]
    with pytest.raises(ModelSchemaError, match="got 2 column"):
        enforce_schema(pd.DataFrame({"x": ["a"], "y": ["b"]}), schema)


def test_nested_types_are_checked_value_by_value() -> None:
    schema = Schema(
        [
            ColSpec(Array(DataType.long), "ids"),
            ColSpec(Object((Property("k", DataType.string),)), "obj"),
        ]
    )
    ok = pd.DataFrame({"ids": [[1, 2]], "obj": [{"k": "v"}]})
    assert enforce_schema(ok, schema) is not None
    bad = pd.DataFrame({"ids": [[1, "x"]], "obj": [{"k": "v"}]})
    with pytest.raises(ModelSchemaError, match="column 'ids': expected array<long>, got str 'x'"):
        enforce_schema(bad, schema)
    with pytest.raises(ModelSchemaError, match=r"without the required key\(s\) \['k'\]"):
        enforce_schema(pd.DataFrame({"ids": [[1]], "obj": [{}]}), schema)


def test_tensors_check_dtype_and_shape() -> None:
    schema = Schema([TensorSpec("float64", (-1, 2))])
    out = enforce_schema(np.array([[1, 2]], dtype=np.int32), schema)  # safe cast
    assert out.dtype == np.float64
    with pytest.raises(ModelSchemaError, match=r"expected shape \[-1, 2\], got \[1, 3\]"):
        enforce_schema(np.zeros((1, 3)), schema)
    with pytest.raises(ModelSchemaError, match="expected dtype float64, got <U1"):
        enforce_schema(np.array([["a", "b"]]), schema)
    assert enforce_schema(pd.DataFrame({"x": [1.0], "y": [2.0]}), schema).shape == (1, 2)


def test_named_tensors_take_a_dict() -> None:
    schema = Schema([TensorSpec("int64", (-1,), "a"), TensorSpec("float32", (-1, 2), "b")])
    out = enforce_schema({"a": [1, 2], "b": np.zeros((2, 2), dtype=np.float32)}, schema)
    assert set(out) == {"a", "b"}
    with pytest.raises(ModelSchemaError, match=r"missing tensor\(s\) \['b'\]"):
        enforce_schema({"a": [1]}, schema)


PARAMS = ParamSchema(
    [ParamSpec("k", DataType.long, 3), ParamSpec("w", DataType.double, [1.0], (-1,))]
)


def test_params_get_defaults_and_are_type_checked(caplog: pytest.LogCaptureFixture) -> None:
    assert enforce_params(None, PARAMS) == {"k": 3, "w": [1.0]}
    assert enforce_params({"k": 5, "w": [2, 3]}, PARAMS) == {"k": 5, "w": [2.0, 3.0]}
    with pytest.raises(ModelSchemaError, match="param 'k': expected long, got str 'x'"):
        enforce_params({"k": "x"}, PARAMS)
    with pytest.raises(ModelSchemaError, match="param 'w': expected a list of double"):
        enforce_params({"w": 2.0}, PARAMS)
    with caplog.at_level(logging.WARNING):
        assert enforce_params({"zzz": 1}, PARAMS) == {"k": 3, "w": [1.0]}
    assert "zzz" in caplog.text


def test_params_for_a_model_without_a_params_schema_are_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert enforce_params({"k": 1}, None) is None
    assert "declares no params" in caplog.text
