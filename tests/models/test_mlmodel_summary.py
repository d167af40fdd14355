"""The tolerant MLmodel summary (mltrail.models.summary): whatever the file holds, it is
read or its problem reported in one line, never raised."""

from __future__ import annotations

import json

import yaml
from hypothesis import given
from hypothesis import strategies as st

from mltrail.models.summary import read_mlmodel_summary, summarize_signature, type_text

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
SIGNATURES = st.dictionaries(st.sampled_from(["inputs", "outputs", "params"]), JSON.map(json.dumps))


@given(st.one_of(JSON, SIGNATURES))
def test_any_signature_is_read_or_reported(value: object) -> None:
    signature, problem = summarize_signature(value)
    assert signature is None or problem is None
    if signature is not None:
        assert "→" in signature.one_line()


@given(
    st.one_of(
        st.text(),
        st.dictionaries(
            st.sampled_from(["flavors", "signature", "saved_input_example_info", "x"]),
            st.one_of(JSON, SIGNATURES),
        ).map(yaml.safe_dump),
    )
)
def test_any_mlmodel_text_is_summarized_or_reported(text: str) -> None:
    summary = read_mlmodel_summary(text)
    assert summary.readable or summary.problem
    assert all(isinstance(f, str) for f in summary.flavors)
    assert summary.example_path is None or isinstance(summary.example_path, str)
    assert summary.serving_example_path is None or isinstance(summary.serving_example_path, str)


def test_a_real_mlmodel_is_summarized() -> None:
    tensor = {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}
    text = yaml.safe_dump(
        {
            "flavors": {"python_function": {"python_version": "3.11.7"}, "sklearn": {}},
            "signature": {
                "inputs": json.dumps([{"name": "a", "type": "double"}, tensor]),
                "outputs": json.dumps([{"type": "long"}]),
                "params": '[{"name": "k", "type": "long", "default": 1, "shape": null}]',
            },
            "saved_input_example_info": {
                "artifact_path": "input_example.json",
                "serving_input_path": "serving_input_example.json",
            },
        }
    )
    summary = read_mlmodel_summary(text)
    assert summary.serving_example_path == "serving_input_example.json"
    assert summary.flavors == ("python_function", "sklearn")
    assert summary.python_version == "3.11.7"
    assert summary.example_path == "input_example.json" and summary.problem is None
    assert summary.signature is not None
    assert summary.signature.one_line() == ("a: double, tensor float64 (-1, 4) → long · params: k")
    assert (summary.signature.params[0].name, summary.signature.params[0].default) == ("k", "1")


def test_broken_files_name_their_problem() -> None:
    assert (read_mlmodel_summary("a: [").problem or "").startswith("MLmodel is not valid YAML")
    assert read_mlmodel_summary("- 1\n").problem == "MLmodel does not hold a mapping"
    broken = read_mlmodel_summary(yaml.safe_dump({"signature": {"inputs": "{not json"}}))
    assert broken.readable and (broken.problem or "").startswith("the signature cannot be read")


def test_signature_types_read_as_text() -> None:
    spec = {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"type": "string"}}, "b": {"type": "long"}},
    }
    assert type_text(spec) == "object{a: array<string>, b: long}"
    tensor = {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}
    assert type_text(tensor) == "tensor float64 (-1, 4)"
    assert type_text({"type": "array", "items": {"type": "string"}}) == "array<string>"
