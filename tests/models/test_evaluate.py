"""``mltrail.evaluate`` against MLflow 3.17.2's default evaluator, and its refusals.

The same models (LogisticRegression on breast cancer and iris, LinearRegression on
diabetes) are evaluated by the real MLflow in a subprocess (a temporary file store) and
by mltrail in a temporary git store: metric names and values, artifact names and the
dataset digest must agree.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mltrail
from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.store import FileStore

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

CASES = {
    "binary": ("load_breast_cancer", "LogisticRegression(max_iter=5000)", "classifier"),
    "multiclass": ("load_iris", "LogisticRegression(max_iter=5000)", "classifier"),
    "regressor": ("load_diabetes", "LinearRegression()", "regressor"),
}

MLFLOW_SCRIPT = """
import json, sys
import mlflow
from sklearn import datasets
from sklearn.linear_model import LinearRegression, LogisticRegression

mlflow.set_tracking_uri("file:" + sys.argv[1])
out = {}
for case, (loader, estimator, model_type) in json.loads(sys.argv[2]).items():
    X, y = getattr(datasets, loader)(return_X_y=True, as_frame=True)
    model = eval(estimator).fit(X, y)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        result = mlflow.models.evaluate(
            info.model_uri, X.assign(label=y), targets="label", model_type=model_type,
            evaluators="default", evaluator_config={"log_model_explainability": False},
        )
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    out[case] = {
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "artifacts": sorted(result.artifacts),
        "files": sorted(a.uri.rsplit("/", 1)[1] for a in result.artifacts.values()),
        "digest": inputs[0].dataset.digest,
    }

import numpy as np
import pandas as pd

static = pd.DataFrame({"x": range(12), "y": ["no", "yes"] * 6,
                       "p": ["no", "no", "yes", "yes", "no", "yes"] * 2})
numbers = np.arange(110, dtype=float).reshape(11, 10)
with mlflow.start_run():
    prefixed = mlflow.models.evaluate(
        data=static, targets="y", predictions="p", model_type="classifier",
        evaluator_config={"metric_prefix": "val_", "pos_label": "no",
                          "log_model_explainability": False},
    )
    function = mlflow.models.evaluate(
        lambda df: df["feature_01"] * 2.0 + df["feature_10"], numbers,
        targets=numbers.sum(axis=1), model_type="regressor",
        evaluator_config={"log_model_explainability": False},
    )
for case, result in (("static", prefixed), ("function", function)):
    out[case] = {
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "artifacts": sorted(result.artifacts),
        "files": sorted(a.uri.rsplit("/", 1)[1] for a in result.artifacts.values()),
    }
print(json.dumps(out))
"""


def _fit(case: str) -> tuple[Any, Any, str]:
    from sklearn import datasets
    from sklearn.linear_model import LinearRegression, LogisticRegression

    loader, _, model_type = CASES[case]
    X, y = getattr(datasets, loader)(return_X_y=True, as_frame=True)
    model = LinearRegression() if case == "regressor" else LogisticRegression(max_iter=5000)
    return model.fit(X, y), X.assign(label=y), model_type


@pytest.fixture(scope="module")
def mlflow_results(run_mlflow: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    import json

    where = tmp_path_factory.mktemp("mlflow-eval")
    args = [str(where / "mlruns"), json.dumps(CASES)]
    return run_mlflow(MLFLOW_SCRIPT, where, args=args, timeout=300)


@pytest.mark.parametrize("case", sorted(CASES))
def test_metrics_and_artifacts_match_mlflow(
    case: str, mlflow_results: Any, tracking: FileStore
) -> None:
    model, df, model_type = _fit(case)
    with mltrail.start_run() as run:
        info = mltrail.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        result = mltrail.models.evaluate(
            info.model_uri, df, targets="label", model_type=model_type, evaluators="default",
            evaluator_config={"log_model_explainability": False},
        )  # fmt: skip
    expected = mlflow_results[case]
    assert list(result.metrics) == list(expected["metrics"])
    assert result.metrics == pytest.approx(expected["metrics"], rel=1e-9)
    assert sorted(result.artifacts) == expected["artifacts"]
    files = sorted(a.uri.rsplit("/", 1)[1] for a in result.artifacts.values())
    assert files == expected["files"]
    logged = mltrail.get_run(run.info.run_id)
    assert logged.data.metrics == pytest.approx(expected["metrics"], rel=1e-9)
    (entry,) = logged.inputs.dataset_inputs
    assert entry.dataset.digest == expected["digest"]
    assert [(t.key, t.value) for t in entry.tags] == [("mlflow.data.context", "evaluation")]
    linked = mltrail.get_logged_model(info.model_id).metrics
    assert {m.key for m in linked} == set(expected["metrics"])
    assert {m.dataset_digest for m in linked} == {expected["digest"]}
    for artifact in result.artifacts.values():
        assert Path(artifact.uri.removeprefix("file://")).is_file()
    if case == "multiclass":
        table = result.artifacts["per_class_metrics"].content
        assert list(table["positive_class"]) == [0, 1, 2]
        assert table["roc_auc"].between(0, 1).all()


def test_static_predictions_and_functions_match_mlflow(
    mlflow_results: Any, tracking: FileStore
) -> None:
    import numpy as np
    import pandas as pd

    static = pd.DataFrame({"x": range(12), "y": ["no", "yes"] * 6,
                           "p": ["no", "no", "yes", "yes", "no", "yes"] * 2})  # fmt: skip
    numbers = np.arange(110, dtype=float).reshape(11, 10)
    with mltrail.start_run():
        prefixed = mltrail.models.evaluate(
            data=static, targets="y", predictions="p", model_type="classifier",
            evaluator_config={"metric_prefix": "val_", "pos_label": "no"},
        )  # fmt: skip
        function = mltrail.models.evaluate(
            lambda df: df["feature_01"] * 2.0 + df["feature_10"], numbers,
            targets=numbers.sum(axis=1), model_type="regressor",
        )  # fmt: skip
    for case, result in (("static", prefixed), ("function", function)):
        expected = mlflow_results[case]
        assert result.metrics == pytest.approx(expected["metrics"], rel=1e-9)
        assert list(result.metrics) == list(expected["metrics"])
        assert sorted(result.artifacts) == expected["artifacts"]
        files = sorted(a.uri.rsplit("/", 1)[1] for a in result.artifacts.values())
        assert files == expected["files"]


def test_static_predictions_with_a_prefix(tracking: FileStore) -> None:
    import pandas as pd

    df = pd.DataFrame({"x": range(8), "y": [0, 0, 1, 1, 0, 1, 1, 0],
                       "p": [0, 1, 1, 1, 0, 1, 0, 0]})  # fmt: skip
    with mltrail.start_run() as run:
        result = mltrail.evaluate(
            data=df, targets="y", predictions="p", model_type="classifier",
            evaluator_config={"metric_prefix": "val_"},
        )  # fmt: skip
    assert result.run_id == run.info.run_id
    assert result.metrics["val_accuracy_score"] == pytest.approx(6 / 8)
    assert result.metrics["val_true_positives"] == 3
    assert "score" not in result.metrics and "val_roc_auc" not in result.metrics
    assert result.artifacts["confusion_matrix"].uri.endswith("/val_confusion_matrix.png")
    (entry,) = mltrail.get_run(run.info.run_id).inputs.dataset_inputs
    assert entry.tags[0].value == "val_"


def test_a_function_as_model_starts_and_ends_its_own_run(tracking: FileStore) -> None:
    import numpy as np

    X = np.arange(20, dtype=float).reshape(10, 2)
    result = mltrail.evaluate(lambda df: df["feature_1"] * 2.0, X, targets=X[:, 0] * 2.0 + 1,
                              model_type="regressor")  # fmt: skip
    assert mltrail.active_run() is None
    run = mltrail.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["mean_absolute_error"] == pytest.approx(1.0)
    assert run.data.metrics["example_count"] == 10
    assert result.artifacts == {}


def test_pos_label_picks_the_positive_class(tracking: FileStore) -> None:
    import pandas as pd

    df = pd.DataFrame({"y": ["a", "a", "b", "b"], "p": ["a", "b", "b", "b"]})
    flipped = mltrail.evaluate(data=df, targets="y", predictions="p", model_type="classifier",
                               evaluator_config={"pos_label": "a"})  # fmt: skip
    assert flipped.metrics["recall_score"] == pytest.approx(0.5)
    assert flipped.metrics["precision_score"] == pytest.approx(1.0)
    assert flipped.metrics["true_positives"] == 1


def test_the_same_evaluation_writes_the_same_plots(tracking: FileStore) -> None:
    model, df, _ = _fit("binary")
    first, second = (
        mltrail.evaluate(lambda X: model.predict(X), df, targets="label", model_type="classifier")
        for _ in range(2)
    )
    for name in first.artifacts:
        a, b = (Path(r.artifacts[name].uri.removeprefix("file://")) for r in (first, second))
        assert a.read_bytes() == b.read_bytes()


ERRORS = {
    "unknown model type": ({"model_type": "ranker"}, "Unknown model_type 'ranker'"),
    "LLM model type": ({"model_type": "question-answering"}, "not supported by mltrail"),
    "no model type": ({"model_type": None}, "Unknown model_type None"),
    "unknown evaluator": ({"evaluators": "mine"}, "Unknown evaluator 'mine'"),
    "shap evaluator": ({"evaluators": ["default", "shap"]}, "'shap' evaluator"),
    "wrong evaluator": ({"evaluators": "regressor"}, "cannot evaluate a classifier"),
    "unknown config key": ({"evaluator_config": {"pos_lable": 1}}, "key 'pos_lable'"),
    "wrong config type": ({"evaluator_config": {"metric_prefix": 3}}, "must be a str"),
    "flat config with a list": (
        {"evaluators": ["default"], "evaluator_config": {"pos_label": 1}},
        "maps each evaluator's name",
    ),
    "extra metrics": ({"extra_metrics": ["m"]}, "extra_metrics is not supported"),
    "custom artifacts": ({"custom_artifacts": [print]}, "custom_artifacts is not supported"),
    "env manager": ({"env_manager": "conda"}, "env_manager='conda'"),
    "inference params": ({"inference_params": {"t": 1}}, "deployment endpoints"),
    "no data": ({"data": None}, "data argument cannot be None"),
    "missing target column": ({"targets": "nope"}, "targets column 'nope'"),
    "no predictions": ({"model": None}, "Give a model, or the predictions column"),
    "not a model": ({"model": 42}, "got int"),
    "data of another kind": ({"data": "a.csv"}, "got str"),
    "model_config without a URI": ({"model_config": {"a": 1}}, "model_config applies only"),
    "a prefix with a path": ({"evaluator_config": {"metric_prefix": "../"}}, "may not contain"),
    "a prefix making bad keys": ({"evaluator_config": {"metric_prefix": "a*"}}, "Invalid metric"),
    "one class only": ({"evaluator_config": {"label_list": [True]}}, "at least two classes"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_bad_arguments_get_one_line_errors_and_log_nothing(case: str, tracking: FileStore) -> None:
    import pandas as pd

    changes, expected = ERRORS[case]
    kwargs: dict[str, Any] = {
        "model": lambda df: df["x"] > 0,
        "data": pd.DataFrame({"x": [-1, 1], "y": [False, True]}),
        "targets": "y",
        "model_type": "classifier",
        **changes,
    }
    with pytest.raises(MltrailError, match=expected) as caught:
        mltrail.evaluate(**kwargs)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert "\n" not in str(caught.value)
    assert mltrail.search_runs(output_format="list") == []


def test_a_dataset_names_its_own_targets(tracking: FileStore) -> None:
    import pandas as pd

    df = pd.DataFrame({"x": [-1, 1, 2], "y": [0, 1, 1]})
    dataset = mltrail.data.from_pandas(df, targets="y", name="holdout")
    with pytest.raises(MltrailError, match="name the targets in the dataset"):
        mltrail.evaluate(lambda d: d["x"] > 0, dataset, targets="y", model_type="classifier")
    result = mltrail.evaluate(lambda d: (d["x"] > 0).astype(int), dataset, model_type="classifier")
    (entry,) = mltrail.get_run(result.run_id).inputs.dataset_inputs
    assert (entry.dataset.name, entry.dataset.digest) == ("holdout", dataset.digest)


def test_a_model_id_contradicting_the_model_is_refused(tracking: FileStore) -> None:
    model, df, _ = _fit("regressor")
    with mltrail.start_run():
        info = mltrail.sklearn.log_model(model, name="m", pip_requirements=["scikit-learn"])
    with pytest.raises(MltrailError, match="contradicts the model's own id"):
        mltrail.evaluate(info.model_uri, df, targets="label", model_type="regressor",
                         model_id="m-0123")  # fmt: skip


def test_a_missing_library_names_the_extra(
    tracking: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MltrailError, match=r"pip install 'mltrail\[evaluate\]'"):
        mltrail.evaluate(lambda d: d["x"], pd.DataFrame({"x": [1.0], "y": [1.0]}),
                         targets="y", model_type="regressor")  # fmt: skip


def test_importing_mltrail_loads_neither_sklearn_nor_matplotlib() -> None:
    code = ("import sys, mltrail, mltrail.models, mltrail.evaluation; "
            "print(sorted({'sklearn', 'matplotlib'} & set(sys.modules)))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.filterwarnings("ignore:.*is ill-defined")
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=40))
def test_binary_counts_add_up(pairs: list[tuple[bool, bool]]) -> None:
    import numpy as np

    from mltrail.evaluation import metrics

    y = np.array([int(a) for a, _ in pairs])
    p = np.array([int(b) for _, b in pairs])
    labels = metrics.resolve_labels(y, p, [0, 1], None)
    found = metrics.binary_metrics(y, p, labels, None, None)
    counts = [found[k] for k in ("true_negatives", "false_positives", "false_negatives",
                                 "true_positives")]  # fmt: skip
    assert sum(counts) == found["example_count"] == len(pairs)
    assert found["accuracy_score"] == pytest.approx((counts[0] + counts[3]) / len(pairs))
