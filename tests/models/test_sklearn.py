"""``mltrail.sklearn``: saving, logging into runs, loading, formats, trees, integrity."""

from __future__ import annotations

import json
import pickle
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import mltrail
import mltrail.pyfunc
import mltrail.sklearn
from mltrail.errors import InvalidParameterValue, ResourceAlreadyExists
from mltrail.models import LOGGED_MODELS_TAG, Model, ModelIntegrityError
from mltrail.store import FileStore


def test_save_model_writes_mlflows_layout(tmp_path: Path, lr: Any, frame: Any) -> None:
    path = tmp_path / "model"
    mltrail.sklearn.save_model(lr, path, input_example=frame.head(2))
    assert sorted(p.name for p in path.iterdir()) == [
        "MLmodel",
        "conda.yaml",
        "input_example.json",
        "model.skops",
        "python_env.yaml",
        "requirements.txt",
        "serving_input_example.json",
    ]
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert mlmodel["signature"] == {
        "inputs": '[{"type": "double", "name": "a", "required": true}, '
        '{"type": "long", "name": "b", "required": true}]',
        "outputs": '[{"type": "long", "required": true}]',
        "params": None,
    }
    assert json.loads((path / "input_example.json").read_text()) == {
        "columns": ["a", "b"],
        "data": [[1.0, 1], [2.0, 0]],
    }
    reqs = (path / "requirements.txt").read_text().splitlines()
    assert [r.split("==")[0] for r in reqs] == ["numpy", "scikit-learn", "scipy", "skops"]
    env = yaml.safe_load((path / "python_env.yaml").read_text())
    assert env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((path / "conda.yaml").read_text())
    assert conda["dependencies"][-1] == {"pip": reqs}
    assert set(mlmodel["mltrail"]["file_hashes"]) == {
        p.name for p in path.iterdir() if p.name != "MLmodel"
    }


@pytest.mark.parametrize("fmt", ["skops", "cloudpickle", "pickle"])
def test_every_serialization_format_loads(tmp_path: Path, lr: Any, frame: Any, fmt: str) -> None:
    path = tmp_path / fmt
    mltrail.sklearn.save_model(lr, path, serialization_format=fmt)
    assert Model.load(path).flavors["sklearn"]["serialization_format"] == fmt
    loaded = mltrail.sklearn.load_model(path)
    assert (loaded.predict(frame) == lr.predict(frame)).all()
    assert (mltrail.pyfunc.load_model(path).predict(frame) == lr.predict(frame)).all()


@pytest.mark.parametrize(
    "estimator",
    ["DecisionTreeClassifier", "RandomForestRegressor", "GradientBoostingClassifier"],
)
def test_tree_models_save_and_load_with_skops_by_default(
    tmp_path: Path, frame: Any, labels: list[int], estimator: str
) -> None:
    from sklearn import ensemble, tree

    cls = getattr(tree, estimator, None) or getattr(ensemble, estimator)
    kwargs = {} if estimator.startswith("Decision") else {"n_estimators": 3}
    model = cls(**kwargs).fit(frame, labels)
    mltrail.sklearn.save_model(model, tmp_path / "m")
    conf = Model.load(tmp_path / "m").flavors["sklearn"]
    assert "sklearn.tree._tree.Tree" in conf["skops_trusted_types"]
    loaded = mltrail.sklearn.load_model(tmp_path / "m")
    assert (loaded.predict(frame) == model.predict(frame)).all()


def test_save_model_refuses_bad_arguments(tmp_path: Path, lr: Any) -> None:
    with pytest.raises(InvalidParameterValue, match="Unknown serialization_format 'json'"):
        mltrail.sklearn.save_model(lr, tmp_path / "a", serialization_format="json")
    mltrail.sklearn.save_model(lr, tmp_path / "b")
    with pytest.raises(ResourceAlreadyExists, match="exists already"):
        mltrail.sklearn.save_model(lr, tmp_path / "b")


def test_predict_proba_code_paths_and_extra_files(tmp_path: Path, lr: Any, frame: Any) -> None:
    (tmp_path / "helpers.py").write_text("X = 1\n")
    (tmp_path / "notes.txt").write_text("hi")
    path = tmp_path / "m"
    mltrail.sklearn.save_model(
        lr,
        path,
        pyfunc_predict_fn="predict_proba",
        code_paths=[tmp_path / "helpers.py"],
        extra_files=[tmp_path / "notes.txt"],
    )
    assert (path / "code" / "helpers.py").is_file()
    conf = Model.load(path).flavors["sklearn"]
    assert conf["extra_files"] == [{"path": "extra_files/notes.txt"}]
    assert mltrail.pyfunc.load_model(path).predict(frame).shape == (4, 2)


def test_log_model_logs_into_the_active_run_and_records_it(
    tracking: FileStore, lr: Any, frame: Any
) -> None:
    with mltrail.start_run() as run:
        first = mltrail.sklearn.log_model(lr, "model", input_example=frame.head(2))
        second = mltrail.sklearn.log_model(lr, name="cp", serialization_format="cloudpickle")
    run_id = run.info.run_id
    assert first.model_uri == f"models:/{first.model_id}"
    assert (first.run_id, first.artifact_path, second.artifact_path) == (run_id, "model", "cp")
    assert first.signature is not None and second.signature is None
    names = {f.path for f in mltrail.list_artifacts(run_id, "model")}
    assert {"model/MLmodel", "model/model.skops", "model/requirements.txt"} <= names
    history = json.loads(mltrail.get_run(run_id).data.tags[LOGGED_MODELS_TAG])
    assert [h["artifact_path"] for h in history] == ["model", "cp"]
    assert set(history[0]) == {"run_id", "artifact_path", "utc_time_created", "model_uuid",
                               "flavors"}  # fmt: skip
    assert history[0]["model_uuid"] == first.model_uuid
    assert history[1]["flavors"]["sklearn"]["serialization_format"] == "cloudpickle"
    mlmodel = Model.load(tracking.artifacts(run_id).base / "model")
    assert (mlmodel.run_id, mlmodel.artifact_path) == (run_id, "model")
    for uri in (first.model_uri, second.model_uri):
        assert (mltrail.pyfunc.load_model(uri).predict(frame) == lr.predict(frame)).all()


def test_log_model_starts_a_run_when_none_is_active(tracking: FileStore, lr: Any) -> None:
    info = mltrail.sklearn.log_model(lr, artifact_path="m")
    active = mltrail.active_run()
    assert active is not None and active.info.run_id == info.run_id
    with pytest.raises(InvalidParameterValue, match="give one of them"):
        mltrail.sklearn.log_model(lr, artifact_path="a", name="b")
    with pytest.raises(ResourceAlreadyExists, match="already has artifacts at 'm'"):
        mltrail.sklearn.log_model(lr, name="m")


def test_large_model_files_load_through_the_artifact_store(
    tracking: FileStore, store_config: Callable[..., None], lr: Any, frame: Any
) -> None:
    store_config(large_artifact_threshold=1000)  # model.skops (~10 kB) becomes a pointer
    info = mltrail.sklearn.log_model(lr, "model")
    mltrail.end_run()
    folder = tracking.artifacts(info.run_id).base / "model"
    assert not (folder / "model.skops").exists()
    assert (folder / "model.skops.mltrail-pointer").exists()
    assert (mltrail.pyfunc.load_model(info.model_uri).predict(frame) == lr.predict(frame)).all()


def test_registered_model_name_registers_the_logged_model(
    tracking: FileStore, lr: Any, frame: Any
) -> None:
    pytest.importorskip("mltrail.registry.uris")
    with mltrail.start_run():
        info = mltrail.sklearn.log_model(lr, "model", registered_model_name="churn")
        again = mltrail.sklearn.log_model(lr, "model2", registered_model_name="churn")
    assert (info.registered_model_version, again.registered_model_version) == (1, 2)
    for uri in ("models:/churn/1", "models:/churn/latest"):
        assert (mltrail.pyfunc.load_model(uri).predict(frame) == lr.predict(frame)).all()
    assert mltrail.sklearn.load_model("models:/churn/2").get_params() == lr.get_params()


class _Marker:
    """Unpickling it writes a file: proof that loading ran the pickle."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (Path(self.path).write_text, ("pwned",))


def test_changed_files_are_refused_before_anything_is_unpickled(tmp_path: Path, lr: Any) -> None:
    path = tmp_path / "m"
    mltrail.sklearn.save_model(lr, path, serialization_format="pickle")
    marker = tmp_path / "marker"
    (path / "model.pkl").write_bytes(pickle.dumps(_Marker(str(marker))))
    for load in (mltrail.sklearn.load_model, mltrail.pyfunc.load_model):
        with pytest.raises(ModelIntegrityError, match=r"no longer match .*changed: model\.pkl"):
            load(path)
    assert not marker.exists()
    (path / "requirements.txt").unlink()
    with pytest.raises(ModelIntegrityError, match=r"missing: requirements\.txt"):
        mltrail.pyfunc.load_model(path)


def test_models_without_recorded_hashes_load(tmp_path: Path, lr: Any, frame: Any) -> None:
    path = tmp_path / "m"
    mltrail.sklearn.save_model(lr, path)
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    del mlmodel["mltrail"]
    (path / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    (path / "requirements.txt").write_text("edited\n")
    assert np.array_equal(mltrail.pyfunc.load_model(path).predict(frame), lr.predict(frame))


def test_without_skops_log_model_saves_with_cloudpickle_and_warns_once(
    tracking: FileStore, lr: Any, frame: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A training script must not fail at its last line for a missing package: without
    skops (``pip install mltrail`` alone), the model is saved with cloudpickle, with one
    warning that names the extra giving the safer default; it loads back."""
    from mltrail.sklearn import serialize

    monkeypatch.setitem(sys.modules, "skops", None)  # `import skops` fails
    monkeypatch.setitem(sys.modules, "skops.io", None)
    monkeypatch.setattr(serialize, "_warned_no_skops", False)
    with pytest.warns(UserWarning, match=r"pip install 'mltrail\[sklearn\]'"):
        first = mltrail.sklearn.log_model(lr, name="model")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second model is saved without a warning
        mltrail.sklearn.log_model(lr, name="again")
    flavor = mltrail.pyfunc.load_model(first.model_uri).metadata.flavors["sklearn"]
    assert flavor["serialization_format"] == "cloudpickle"
    loaded = mltrail.sklearn.load_model(first.model_uri)
    assert loaded.predict(frame).tolist() == lr.predict(frame).tolist()
    with pytest.raises(Exception, match=r"mltrail\[sklearn\]"):  # asked for by name: refused
        mltrail.sklearn.log_model(lr, name="skops", serialization_format="skops")
