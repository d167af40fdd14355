"""``mltrail.pyfunc``: custom PythonModels, loader modules, and one predict for all."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import mltrail
import mltrail.pyfunc
from mltrail.errors import InvalidParameterValue
from mltrail.models import ModelSchemaError
from mltrail.pyfunc import PythonModel, PythonModelContext
from mltrail.store import FileStore


class Scaler(PythonModel):
    """Multiplies column x by the number in its ``factor`` artifact and by param k."""

    def load_context(self, context: PythonModelContext) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())
        self.offset = context.model_config.get("offset", 0)

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        k = (params or {}).get("k", 1)
        return model_input["x"] * self.factor * k + self.offset


class NoContext(PythonModel):
    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:  # type: ignore[override]
        return np.asarray(model_input).sum(axis=1)


@pytest.fixture
def factor_file(tmp_path: Path) -> Path:
    path = tmp_path / "factor.txt"
    path.write_text("10")
    return path


def test_python_model_with_artifacts_params_and_config(tmp_path: Path, factor_file: Path) -> None:
    path = tmp_path / "scaler"
    mltrail.pyfunc.save_model(
        path,
        python_model=Scaler(),
        artifacts={"factor": str(factor_file)},
        input_example=(pd.DataFrame({"x": [1.0, 2.0]}), {"k": 2}),
        model_config={"offset": 1},
    )
    conf = yaml.safe_load((path / "MLmodel").read_text())["flavors"]["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["python_model"] == "python_model.pkl"
    assert conf["artifacts"]["factor"]["uri"] == str(factor_file)
    model = mltrail.pyfunc.load_model(path)
    # k defaults to the example's value (2), as in MLflow's params schema
    assert model.predict(pd.DataFrame({"x": [1.0, 2.0]})).tolist() == [21.0, 41.0]
    assert model.predict({"x": [3.0]}, params={"k": 3}).tolist() == [91.0]
    assert model.predict([{"x": 1.0}]).tolist() == [21.0]
    assert isinstance(model.unwrap_python_model(), Scaler)
    assert model.metadata.get_params_schema() is not None
    with pytest.raises(ModelSchemaError, match=r"missing column\(s\) 'x': double"):
        model.predict(pd.DataFrame({"y": [1.0]}))
    reqs = (path / "requirements.txt").read_text().split()
    assert {r.split("==")[0] for r in reqs} >= {"cloudpickle", "mltrail", "pandas"}


def test_predict_without_context_and_numpy_input(tmp_path: Path) -> None:
    example = np.ones((2, 3))
    mltrail.pyfunc.save_model(tmp_path / "m", python_model=NoContext(), input_example=example)
    model = mltrail.pyfunc.load_model(tmp_path / "m")
    assert model.metadata.get_input_schema().to_json() == (  # type: ignore[union-attr]
        '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'
    )
    assert model.predict([[1, 2, 3]]).tolist() == [6.0]
    with pytest.raises(ModelSchemaError, match=r"expected shape \[-1, 3\], got \[1, 2\]"):
        model.predict(np.ones((1, 2)))


def test_a_loader_module_shipped_in_code_paths(tmp_path: Path) -> None:
    loader = tmp_path / "mltrail_test_loader.py"
    loader.write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            class _Model:
                def __init__(self, word):
                    self.word = word

                def predict(self, data, params=None):
                    return [self.word] * len(data)

            def _load_pyfunc(path):
                return _Model(Path(path).read_text())
            """
        )
    )
    (tmp_path / "word.txt").write_text("hi")
    path = tmp_path / "m"
    mltrail.pyfunc.save_model(
        path,
        loader_module="mltrail_test_loader",
        data_path=tmp_path / "word.txt",
        code_paths=[loader],
    )
    assert mltrail.pyfunc.load_model(path).predict(pd.DataFrame({"a": [1, 2]})) == ["hi", "hi"]


def test_save_model_needs_exactly_one_kind_of_model(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterValue, match="python_model=PythonModel"):
        mltrail.pyfunc.save_model(tmp_path / "a")
    with pytest.raises(InvalidParameterValue, match="has no predict method"):
        mltrail.pyfunc.save_model(tmp_path / "b", python_model=object())  # type: ignore[arg-type]


def test_unsupported_mlflow_flavors_are_named(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: mlflow.xgboost\n"
    )
    with pytest.raises(InvalidParameterValue, match=r"MLflow's mlflow\.xgboost flavor; supported"):
        mltrail.pyfunc.load_model(tmp_path)


def test_log_model_with_an_artifact_from_another_run(
    tracking: FileStore, factor_file: Path
) -> None:
    with mltrail.start_run() as source:
        mltrail.log_artifact(str(factor_file), "inputs")
    with mltrail.start_run():
        info = mltrail.pyfunc.log_model(
            "scaler",
            python_model=Scaler(),
            artifacts={"factor": f"runs:/{source.info.run_id}/inputs/factor.txt"},
        )
    model = mltrail.pyfunc.load_model(info.model_uri)
    assert model.predict(pd.DataFrame({"x": [2.0]})).tolist() == [20.0]
    assert mltrail.pyfunc.load_model(f"runs:/{info.run_id}/scaler/").metadata.run_id == info.run_id


def test_infer_code_paths_ships_the_modules_the_model_needs(tmp_path: Path) -> None:
    """MLflow's rule: the working directory's modules that loading imports, nothing else."""
    import subprocess
    import sys

    project = tmp_path / "project"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "helpers.py").write_text("def factor():\n    return 2\n")
    (project / "shop" / "model.py").write_text(
        textwrap.dedent(
            """
            import mltrail.pyfunc
            from shop.helpers import factor

            class Doubler(mltrail.pyfunc.PythonModel):
                def predict(self, context, model_input, params=None):
                    return [x * factor() for x in model_input]
            """
        )
    )
    (project / "notes.py").write_text("SECRET = 'not part of the model'\n")
    save = (
        "import mltrail.pyfunc, shop.model; mltrail.pyfunc.save_model("
        "'out', python_model=shop.model.Doubler(), infer_code_paths=True)"
    )
    subprocess.run([sys.executable, "-c", save], cwd=project, check=True)
    out = project / "out"
    shipped = sorted(p.relative_to(out / "code").as_posix() for p in (out / "code").rglob("*.py"))
    assert shipped == ["shop/__init__.py", "shop/helpers.py", "shop/model.py"]
    assert yaml.safe_load((out / "MLmodel").read_text())["flavors"]["python_function"]["code"] == (
        "code"
    )
    # Loaded from elsewhere, with the project's folder nowhere on sys.path.
    load = f"import mltrail.pyfunc; print(mltrail.pyfunc.load_model({str(out)!r}).predict([1, 3]))"
    done = subprocess.run(
        [sys.executable, "-c", load], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[2, 6]"


def test_infer_code_paths_refuses_code_paths_too_and_names_a_failed_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidParameterValue, match="drop code_paths"):
        mltrail.pyfunc.save_model(
            tmp_path / "a", python_model=Scaler(), code_paths=[tmp_path], infer_code_paths=True
        )
    # Run from a folder where this test module cannot be imported: the model cannot load.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        InvalidParameterValue, match=r"loading the model .* failed \(ModuleNotFoundError"
    ):
        mltrail.pyfunc.save_model(tmp_path / "b", python_model=Scaler(), infer_code_paths=True)
