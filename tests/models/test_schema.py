"""Signature schemas: MLflow's JSON form, round trips, parser robustness, inference."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrail.errors import InvalidParameterValue
from mltrail.models import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    ModelSignature,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
    infer_signature,
)

names = st.text(min_size=1, max_size=8)
scalars = st.sampled_from(list(DataType))
col_types = st.recursive(
    scalars | st.just(AnyType()),
    lambda inner: st.one_of(
        st.builds(Array, inner),
        st.builds(Map, inner),
        st.dictionaries(names, st.tuples(inner, st.booleans()), min_size=1, max_size=3).map(
            lambda d: Object(tuple(Property(k, t, r) for k, (t, r) in d.items()))
        ),
    ),
    max_leaves=6,
)
dims = st.lists(st.integers(-1, 64).filter(lambda n: n != 0), min_size=1, max_size=3)
dtypes = st.sampled_from(["float64", "float32", "int64", "int32", "uint8", "bool", "object"])


@st.composite
def schemas(draw: st.DrawFn) -> Schema:
    count = draw(st.integers(1, 4))
    named = draw(st.booleans())
    spec_names = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    if draw(st.booleans()):
        return Schema(
            [TensorSpec(draw(dtypes), tuple(draw(dims)), n if named else None) for n in spec_names]
        )
    return Schema(
        [ColSpec(draw(col_types), n if named else None, draw(st.booleans())) for n in spec_names]
    )


finite = st.floats(allow_nan=False, allow_infinity=False)
param_values = {
    DataType.long: st.integers(-(2**40), 2**40),
    DataType.double: finite,
    DataType.string: st.text(max_size=5),
    DataType.boolean: st.booleans(),
}


@st.composite
def param_schemas(draw: st.DrawFn) -> ParamSchema:
    specs = []
    for name in draw(st.lists(names, max_size=4, unique=True)):
        dtype = draw(st.sampled_from(list(param_values)))
        if draw(st.booleans()):
            specs.append(ParamSpec(name, dtype, draw(st.lists(param_values[dtype])), (-1,)))
        else:
            specs.append(ParamSpec(name, dtype, draw(param_values[dtype])))
    return ParamSchema(specs)


@given(schemas())
def test_schema_json_round_trips(schema: Schema) -> None:
    text = schema.to_json()
    assert Schema.from_json(text) == schema
    assert Schema.from_json(text).to_json() == text


@given(param_schemas())
def test_param_schema_json_round_trips(params: ParamSchema) -> None:
    assert ParamSchema.from_json(params.to_json()) == params


@given(schemas(), schemas() | st.none(), param_schemas())
def test_signature_dict_round_trips(inputs: Schema, outputs: Schema | None, p: ParamSchema) -> None:
    signature = ModelSignature(inputs, outputs, p if len(p) else None)
    assert ModelSignature.from_dict(signature.to_dict()) == signature


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=10,
)
spec_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["double", "tensor", "array", "object", "map", "nope", 3])},
    optional={
        "name": json_values,
        "required": json_values,
        "items": json_values,
        "properties": json_values,
        "values": json_values,
        "tensor-spec": json_values,
        "default": json_values,
        "shape": json_values,
    },
)


@settings(max_examples=300)
@given(st.one_of(json_values, st.lists(spec_like, max_size=3)).map(json.dumps) | st.text())
def test_parsers_only_raise_invalid_parameter_value(text: str) -> None:
    for parse in (Schema.from_json, ParamSchema.from_json):
        with contextlib.suppress(InvalidParameterValue):
            parse(text)


#: Written by MLflow 3.17 (saved models and infer_signature); mltrail must read and
#: write them byte for byte.
MLFLOW_SCHEMAS = [
    '[{"type": "double", "name": "a", "required": true}, {"type": "long", "name": "b", '
    '"required": true}]',
    '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
    '[{"type": "long", "required": true}]',
    '[{"name": "a", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}, '
    '{"name": "b", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
    '[{"type": "object", "properties": {"k": {"type": "long", "required": true}}, '
    '"name": "nested", "required": true}, {"type": "array", "items": {"type": "long"}, '
    '"name": "lst", "required": true}, {"type": "string", "name": "obj", "required": false}]',
]
MLFLOW_PARAMS = (
    '[{"name": "alpha", "default": 0.5, "shape": null, "type": "double"}, {"name": "k", '
    '"default": [1, 2], "shape": [-1], "type": "long"}]'
)


@pytest.mark.parametrize("text", MLFLOW_SCHEMAS)
def test_reads_and_writes_mlflow_schemas_verbatim(text: str) -> None:
    assert Schema.from_json(text).to_json() == text


def test_reads_and_writes_mlflow_params_verbatim() -> None:
    params = ParamSchema.from_json(MLFLOW_PARAMS)
    assert params.to_json() == MLFLOW_PARAMS
    assert params.params[1] == ParamSpec("k", DataType.long, [1, 2], (-1,))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"type": "decimal"}]', "Unknown type 'decimal'"),
        ('[{"name": "a"}]', "'type' is missing"),
        ('{"type": "double"}', "expected a list"),
        ('[{"type": "double", "name": "a"}, {"type": "long"}]', "name every spec"),
        ('[{"type": "double"}, {"type": "tensor", "tensor-spec": {"dtype": "x", "shape": []}}]',
         "mixes column and tensor"),
    ],
)  # fmt: skip
def test_invalid_schemas_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        Schema.from_json(text)


def _inferred(data: Any) -> str:
    schema = infer_signature(data).inputs
    assert schema is not None
    return schema.to_json()


def test_inference_matches_mlflow_for_frames() -> None:
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "f32": np.array([1, 2], dtype=np.float32),
            "i32": np.array([1, 2], dtype=np.int32),
            "u8": np.array([1, 2], dtype=np.uint8),
            "b": [True, False],
            "s": ["a", "b"],
            "obj": ["a", None],
            "dt": pd.to_datetime(["2020-01-01", "2021-01-01"]),
            "by": [b"a", b"b"],
            "nested": [{"k": 1}, {"k": 2}],
            "lst": [[1, 2], [3]],
        }
    )
    # What MLflow 3.17's infer_signature writes for the same frame.
    assert _inferred(frame) == (
        '[{"type": "float", "name": "f32", "required": true}, {"type": "integer", "name": '
        '"i32", "required": true}, {"type": "integer", "name": "u8", "required": true}, '
        '{"type": "boolean", "name": "b", "required": true}, {"type": "string", "name": "s", '
        '"required": true}, {"type": "string", "name": "obj", "required": false}, {"type": '
        '"datetime", "name": "dt", "required": true}, {"type": "binary", "name": "by", '
        '"required": true}, {"type": "object", "properties": {"k": {"type": "long", '
        '"required": true}}, "name": "nested", "required": true}, {"type": "array", "items": '
        '{"type": "long"}, "name": "lst", "required": true}]'
    )


def test_inference_matches_mlflow_for_arrays_dicts_and_lists() -> None:
    import numpy as np
    import pandas as pd

    assert _inferred(np.zeros((3, 4))) == MLFLOW_TENSOR_2D
    assert _inferred({"a": np.zeros((2, 3)), "b": np.ones(2, dtype=np.int64)}) == MLFLOW_SCHEMAS[3]
    assert _inferred({"x": [1.0, 2.0], "s": ["a", "b"]}) == (
        '[{"type": "array", "items": {"type": "double"}, "name": "x", "required": true}, '
        '{"type": "array", "items": {"type": "string"}, "name": "s", "required": true}]'
    )
    assert _inferred({"x": 1.0, "s": "a", "i": 3}) == (
        '[{"type": "double", "name": "x", "required": true}, {"type": "string", "name": "s", '
        '"required": true}, {"type": "long", "name": "i", "required": true}]'
    )
    assert _inferred([{"x": 1.0, "s": "a"}, {"x": 2.0, "s": "b"}]) == (
        '[{"type": "double", "name": "x", "required": true}, {"type": "string", "name": "s", '
        '"required": true}]'
    )
    assert _inferred(["a", "b"]) == '[{"type": "string", "required": true}]'
    assert _inferred(pd.Series([1, 2], name="y")) == (
        '[{"type": "long", "name": "y", "required": true}]'
    )


MLFLOW_TENSOR_2D = '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]'


def test_param_inference_matches_mlflow() -> None:
    params = {"a": 1, "b": "x", "c": [1.0], "d": True, "e": dt.datetime(2020, 1, 1)}
    signature = infer_signature(None, params=params)
    assert signature.params is not None
    assert signature.params.to_json() == (
        '[{"name": "a", "default": 1, "shape": null, "type": "long"}, {"name": "b", "default": '
        '"x", "shape": null, "type": "string"}, {"name": "c", "default": [1.0], "shape": [-1], '
        '"type": "double"}, {"name": "d", "default": true, "shape": null, "type": "boolean"}, '
        '{"name": "e", "default": "2020-01-01T00:00:00", "shape": null, "type": "datetime"}]'
    )


def test_inference_refuses_mixed_columns_with_the_reason() -> None:
    import pandas as pd

    with pytest.raises(InvalidParameterValue, match="mixes values of type long and string"):
        infer_signature(pd.DataFrame({"x": pd.Series([1, "a"], dtype=object)}))
