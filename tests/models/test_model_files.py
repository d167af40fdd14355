"""The files of a model folder: MLmodel, input examples, hashes, requirements, URIs."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.models import ColSpec, DataType, Model, ModelSignature, Schema
from mltrail.models.example import read_example, save_example
from mltrail.models.integrity import ModelIntegrityError, file_hashes, verify
from mltrail.models.requirements import modules_in_pickle, pinned_requirement
from mltrail.models.uri import parse_runs_uri, resolve_model_uri

keys = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8)
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
signatures = st.sampled_from(
    [
        None,
        ModelSignature(Schema([ColSpec(DataType.double, "a")])),
        ModelSignature(None, Schema([ColSpec(DataType.long)])),
    ]
)


@given(
    flavors=st.dictionaries(keys, st.dictionaries(keys, yaml_values, max_size=3), max_size=3),
    signature=signatures,
    extra=st.dictionaries(keys.map(lambda k: "x_" + k), yaml_values, max_size=3),
    run_id=st.none() | st.text("0123456789abcdef", min_size=32, max_size=32),
)
def test_mlmodel_round_trips_and_keeps_unknown_keys(
    flavors: dict[str, Any], signature: ModelSignature | None, extra: dict[str, Any], run_id: str
) -> None:
    model = Model(
        run_id=run_id,
        artifact_path="model" if run_id else None,
        flavors=flavors,
        signature=signature,
        **extra,
    )
    text = model.to_yaml()
    again = Model.from_dict(yaml.safe_load(text))
    assert again == model
    assert again.to_yaml() == text
    assert {k: v for k, v in again.extra.items() if k.startswith("x_")} == extra


def test_mlmodel_reads_an_mlflow_file_and_rewrites_it_unchanged() -> None:
    written_by_mlflow = {
        "flavors": {"sklearn": {"pickled_model": "model.skops", "skops_trusted_types": None}},
        "is_signature_from_type_hint": False,
        "mlflow_version": "3.17.2",
        "model_id": None,
        "model_size_bytes": 10678,
        "model_uuid": "ab087e9853234b8282baf3ef800a427a",
        "prompts": None,
        "signature": {"inputs": '[{"type": "double", "name": "a", "required": true}]',
                      "outputs": None, "params": None},
        "type_hint_from_example": False,
        "utc_time_created": "2026-11-27 04:43:15.077047",
    }  # fmt: skip
    model = Model.from_dict(written_by_mlflow)
    assert model.get_input_schema() == Schema([ColSpec(DataType.double, "a")])
    assert model.to_dict() == written_by_mlflow


def test_mlmodel_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ResourceNotFound, match="No MLmodel file at"):
        Model.load(tmp_path)
    (tmp_path / "MLmodel").write_text('signature:\n  inputs: \'[{"type": "nope"}]\'\n')
    with pytest.raises(InvalidParameterValue, match=r"Invalid MLmodel file .*Unknown type 'nope'"):
        Model.load(tmp_path)
    with pytest.raises(InvalidParameterValue, match="has no 'sklearn' flavor"):
        Model().flavor("sklearn")


text_cells = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=5)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(
    rows=st.lists(
        st.tuples(st.floats(allow_nan=False, width=32), st.integers(-(2**53), 2**53), text_cells),
        min_size=1,
        max_size=5,
    ),
    params=st.none() | st.dictionaries(keys, st.integers(), min_size=1, max_size=2),
)
def test_dataframe_examples_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Any], params: Any
) -> None:
    folder = tmp_path_factory.mktemp("example")
    frame = pd.DataFrame(rows, columns=["f", "i", "s"])
    model = Model()
    save_example(model, frame if params is None else (frame, params), folder)
    assert model.saved_input_example_info is not None
    assert model.saved_input_example_info["type"] == "dataframe"
    serving = json.loads((folder / "serving_input_example.json").read_text())
    assert serving["dataframe_split"]["columns"] == ["f", "i", "s"]
    assert serving.get("params") == params
    back = read_example(model, folder)
    assert back["i"].tolist() == frame["i"].tolist()
    assert back["s"].tolist() == frame["s"].tolist()
    assert back["f"].tolist() == pytest.approx(frame["f"].tolist())


def test_array_and_json_examples_use_the_inputs_key(tmp_path: Path) -> None:
    model = Model()
    save_example(model, np.arange(6).reshape(2, 3), tmp_path)
    assert json.loads((tmp_path / "input_example.json").read_text()) == [[0, 1, 2], [3, 4, 5]]
    assert json.loads((tmp_path / "serving_input_example.json").read_text()) == {
        "inputs": [[0, 1, 2], [3, 4, 5]]
    }
    assert (read_example(model, tmp_path) == np.arange(6).reshape(2, 3)).all()
    save_example(model, {"q": "hello", "n": 2}, tmp_path)
    assert model.saved_input_example_info == {
        "artifact_path": "input_example.json",
        "serving_input_path": "serving_input_example.json",
        "type": "json_object",
    }


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(
    files=st.dictionaries(
        st.sampled_from(["model.pkl", "code/a.py", "artifacts/x/y.txt", "conda.yaml"]),
        st.binary(max_size=64),
        min_size=1,
    ),
    data=st.data(),
)
def test_any_changed_or_missing_file_is_refused(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes], data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("hashed")
    for rel, content in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)
    model = Model()
    model.set_mltrail_record(file_hashes(folder))
    verify(folder, model)
    victim = data.draw(st.sampled_from(sorted(files)))
    if data.draw(st.booleans()):
        (folder / victim).write_bytes(files[victim] + b"!")
        expected = f"changed: {victim}"
    else:
        (folder / victim).unlink()
        expected = f"missing: {victim}"
    with pytest.raises(ModelIntegrityError, match=expected):
        verify(folder, model)


class _Local:
    pass


def test_pickled_modules_are_found_without_loading() -> None:
    import cloudpickle
    from sklearn.linear_model import LogisticRegression

    found = modules_in_pickle(pickle.dumps({"m": LogisticRegression(), "a": np.zeros(2)}))
    assert "sklearn.linear_model._logistic" in found
    assert "numpy" in {m.split(".")[0] for m in found}

    def uses_pandas(x: Any) -> Any:
        return pd.DataFrame(x)

    by_value = cloudpickle.dumps(uses_pandas)
    assert "pandas" in modules_in_pickle(by_value)
    assert pinned_requirement("sklearn.linear_model") == f"scikit-learn=={_version('sklearn')}"
    assert pinned_requirement("json.decoder") is None
    assert pinned_requirement(__name__) is None  # the user's own code installs nothing


def _version(module: str) -> str:
    import importlib

    return str(importlib.import_module(module).__version__)


@given(
    run_id=st.text("0123456789abcdef", min_size=1, max_size=32),
    path=st.lists(st.text("abc_-.1", min_size=1, max_size=5), max_size=3).map("/".join),
)
def test_runs_uris_parse(run_id: str, path: str) -> None:
    assert parse_runs_uri(f"runs:/{run_id}/{path}") == (run_id, path.strip("/"))


def test_local_model_uris(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    assert resolve_model_uri(tmp_path) == tmp_path
    assert resolve_model_uri(tmp_path.as_uri()) == tmp_path
    assert resolve_model_uri(str(tmp_path / "MLmodel")) == tmp_path
    with pytest.raises(ResourceNotFound, match="does not exist"):
        resolve_model_uri(tmp_path / "nope")
    with pytest.raises(InvalidParameterValue, match="Unsupported model URI"):
        resolve_model_uri("s3://bucket/model")
    with pytest.raises(InvalidParameterValue, match="runs:/<run_id>/<artifact path>"):
        resolve_model_uri("runs:/")
