"""Both ways with the real MLflow 3.17: mltrail's models load in MLflow and vice versa.

One MLflow subprocess per module: it loads the models mltrail saved (reporting their
predictions, signatures and examples as MLflow sees them) and saves models of its own
(skops, cloudpickle as MLflow 2 wrote, a trusted tree, a model logged into a run),
which the tests then load with mltrail.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest

import mltrail
import mltrail.pyfunc
import mltrail.sklearn
from mltrail.models import Model
from tests.models.conftest import MlflowRunner


class Doubler(mltrail.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        self.bonus = float(Path(context.artifacts["bonus"]).read_text())

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return (model_input["a"] * 2 + self.bonus).tolist()


@dataclass(frozen=True)
class Exchange:
    ours: Path
    theirs: Path
    report: dict[str, Any]


MLFLOW_SCRIPT = """
import json, sys
import numpy as np, pandas as pd
import mlflow, mlflow.pyfunc, mlflow.sklearn
from mlflow.models import Model
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

ours, theirs = sys.argv[1], sys.argv[2]
fast = {"pip_requirements": ["scikit-learn"]}  # skips MLflow's requirement-inference subprocess
X = pd.DataFrame(json.loads(sys.argv[3]))
y = json.loads(sys.argv[4])
report = {"loaded": {}}
for name in json.loads(sys.argv[5]):
    path = f"{ours}/{name}"
    model = mlflow.pyfunc.load_model(path)
    meta = Model.load(path)
    example = meta.load_input_example(path)
    report["loaded"][name] = {
        "predict": np.asarray(model.predict(X)).tolist(),
        "signature": meta.signature.to_dict() if meta.signature else None,
        "example": example.to_dict("list") if example is not None else None,
    }
    if "sklearn" in meta.flavors:
        report["loaded"][name]["raw"] = type(mlflow.sklearn.load_model(path)).__name__

lr = LogisticRegression().fit(X, y)
mlflow.sklearn.save_model(lr, f"{theirs}/skops", input_example=X.head(2), **fast)
mlflow.sklearn.save_model(
    lr, f"{theirs}/cloudpickle", serialization_format="cloudpickle", **fast
)
forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
mlflow.sklearn.save_model(
    forest, f"{theirs}/forest", skops_trusted_types=["sklearn.tree._tree.Tree"], **fast
)
mlflow.set_tracking_uri(f"file://{theirs}/mlruns")
with mlflow.start_run():
    info = mlflow.sklearn.log_model(lr, name="model", input_example=X.head(2), **fast)
report["logged"] = info.artifact_path.removeprefix("file://")
report["expected"] = {"lr": lr.predict(X).tolist(), "forest": forest.predict(X).tolist()}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def exchange(
    tmp_path_factory: pytest.TempPathFactory,
    run_mlflow: MlflowRunner,
    frame: Any,
    labels: list[int],
    lr: Any,
) -> Exchange:
    from sklearn.ensemble import GradientBoostingClassifier

    base = tmp_path_factory.mktemp("exchange")
    ours, theirs = base / "ours", base / "theirs"
    ours.mkdir()
    mltrail.sklearn.save_model(lr, ours / "skops", input_example=frame.head(2))
    mltrail.sklearn.save_model(lr, ours / "cloudpickle", serialization_format="cloudpickle")
    boosted = GradientBoostingClassifier(n_estimators=3, random_state=0).fit(frame, labels)
    mltrail.sklearn.save_model(boosted, ours / "boosted")
    (base / "bonus.txt").write_text("0.5")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # MLflow cannot import tests
    try:
        mltrail.pyfunc.save_model(
            ours / "custom",
            python_model=Doubler(),
            artifacts={"bonus": str(base / "bonus.txt")},
            input_example=frame.head(2),
        )
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    names = ["skops", "cloudpickle", "boosted", "custom"]
    args = [str(ours), str(theirs), frame.to_json(orient="columns"), json.dumps(labels)]
    report = run_mlflow(MLFLOW_SCRIPT, base, args=[*args, json.dumps(names)])
    return Exchange(ours, theirs, report)


def test_mltrail_sklearn_models_predict_the_same_in_mlflow(
    exchange: Exchange, frame: Any, lr: Any
) -> None:
    loaded = exchange.report["loaded"]
    for name in ("skops", "cloudpickle"):
        assert loaded[name]["predict"] == lr.predict(frame).tolist()
        assert loaded[name]["raw"] == "LogisticRegression"
    boosted = mltrail.sklearn.load_model(exchange.ours / "boosted")
    assert loaded["boosted"]["predict"] == boosted.predict(frame).tolist()


def test_mlflow_reads_mltrail_signatures_and_examples_as_written(
    exchange: Exchange, frame: Any
) -> None:
    seen = exchange.report["loaded"]["skops"]
    assert seen["signature"] == Model.load(exchange.ours / "skops").signature.to_dict()  # type: ignore[union-attr]
    assert seen["example"] == frame.head(2).to_dict("list")


def test_mltrail_custom_python_model_predicts_the_same_in_mlflow(
    exchange: Exchange, frame: Any
) -> None:
    ours = mltrail.pyfunc.load_model(exchange.ours / "custom").predict(frame)
    assert exchange.report["loaded"]["custom"]["predict"] == ours == [2.5, 4.5, 6.5, 8.5]


@pytest.mark.parametrize("name", ["skops", "cloudpickle", "forest", "logged"])
def test_models_saved_by_mlflow_load_in_mltrail(exchange: Exchange, frame: Any, name: str) -> None:
    path = exchange.report["logged"] if name == "logged" else exchange.theirs / name
    expected = exchange.report["expected"]["forest" if name == "forest" else "lr"]
    model = mltrail.pyfunc.load_model(path)
    assert np.asarray(model.predict(frame)).tolist() == expected
    assert mltrail.sklearn.load_model(path).predict(frame).tolist() == expected


def test_mlflow_signatures_are_enforced_by_mltrail(exchange: Exchange) -> None:
    model = mltrail.pyfunc.load_model(exchange.theirs / "skops")
    assert model.metadata.get_input_schema() is not None
    with pytest.raises(mltrail.models.ModelSchemaError, match="column 'b': expected long"):
        model.predict(pd.DataFrame({"a": [1.0], "b": ["x"]}))
