"""What one autologged fit records: params, tags, training metrics, artifacts, the model."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import mltrail
from mltrail.models import Model
from tests.autolog.conftest import all_runs, artifact_paths, last_run

CLASSIFIER_METRICS = {
    "training_score",
    "training_accuracy_score",
    "training_precision_score",
    "training_recall_score",
    "training_f1_score",
    "training_log_loss",
    "training_roc_auc",
}
REGRESSOR_METRICS = {
    "training_score",
    "training_mean_squared_error",
    "training_root_mean_squared_error",
    "training_mean_absolute_error",
    "training_r2_score",
}


def user_tags(run: Any) -> dict[str, str]:
    return {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}


def test_binary_classifier_run(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    autolog()
    X, y = binary
    model = LogisticRegression(C=0.5).fit(X, y)
    run = last_run()
    assert run.info.status == "FINISHED"
    assert mltrail.active_run() is None
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    assert run.data.params == {k: str(v) for k, v in model.get_params(deep=True).items()}
    assert user_tags(run) == {
        "estimator_name": "LogisticRegression",
        "estimator_class": "sklearn.linear_model._logistic.LogisticRegression",
    }
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    assert artifact_paths(run.info.run_id) == {
        "model",
        "estimator.html",
        "training_confusion_matrix.png",
        "training_roc_curve.png",
        "training_precision_recall_curve.png",
    }
    got = run.data.metrics
    pred, proba = model.predict(X), model.predict_proba(X)[:, 1]
    assert got["training_accuracy_score"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert got["training_f1_score"] == pytest.approx(metrics.f1_score(y, pred, average="weighted"))
    assert got["training_roc_auc"] == pytest.approx(metrics.roc_auc_score(y, proba))
    assert got["training_score"] == pytest.approx(model.score(X, y))


def test_multiclass_classifier_metrics(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    autolog(log_models=False)
    X, y = iris
    model = LogisticRegression(max_iter=300).fit(X, y)
    run = last_run()
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    # the ROC and precision-recall plots are for two classes only
    assert artifact_paths(run.info.run_id) == {"estimator.html", "training_confusion_matrix.png"}
    proba = model.predict_proba(X)
    expected = metrics.roc_auc_score(y, proba, average="weighted", multi_class="ovo")
    assert run.data.metrics["training_roc_auc"] == pytest.approx(expected)
    assert run.data.metrics["training_log_loss"] == pytest.approx(metrics.log_loss(y, proba))
    precision = metrics.precision_score(y, model.predict(X), average="weighted")
    assert run.data.metrics["training_precision_score"] == pytest.approx(precision)


def test_classifier_without_predict_proba(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.svm import LinearSVC

    autolog(log_models=False)
    LinearSVC().fit(*binary)
    assert set(last_run().data.metrics) == CLASSIFIER_METRICS - {
        "training_log_loss",
        "training_roc_auc",
    }


def test_pos_label_gives_binary_averages(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    autolog(log_models=False, pos_label=1)
    X, y = binary
    model = LogisticRegression().fit(X, y)
    expected = metrics.f1_score(y, model.predict(X), pos_label=1)
    assert last_run().data.metrics["training_f1_score"] == pytest.approx(expected)


def test_regressor_metrics(autolog: Any, regression: tuple[Any, Any]) -> None:
    from sklearn import metrics
    from sklearn.linear_model import Ridge

    autolog(log_models=False)
    X, y = regression
    sample_weight = np.linspace(0.5, 1.5, len(y))
    model = Ridge(alpha=2.0).fit(X, y, sample_weight=sample_weight)
    run = last_run()
    assert artifact_paths(run.info.run_id) == {"estimator.html"}
    got = run.data.metrics
    assert set(got) == REGRESSOR_METRICS
    mse = metrics.mean_squared_error(y, model.predict(X), sample_weight=sample_weight)
    assert got["training_mean_squared_error"] == pytest.approx(mse)
    assert got["training_root_mean_squared_error"] == pytest.approx(math.sqrt(mse))
    assert got["training_r2_score"] == pytest.approx(model.score(X, y, sample_weight))
    assert run.data.params["alpha"] == "2.0"


def test_model_logged_with_signature_and_loadable(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.ensemble import RandomForestClassifier

    autolog()
    X, y = binary
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    run_id = last_run().info.run_id
    loaded = mltrail.pyfunc.load_model(f"runs:/{run_id}/model")
    assert np.array_equal(loaded.predict(X), model.predict(X))
    signature = loaded.metadata.signature
    assert signature is not None
    assert signature.inputs.to_dict() == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}
    ]
    assert signature.outputs.to_dict() == [
        {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}
    ]
    assert loaded.metadata.saved_input_example_info is None  # off by default, as in MLflow
    assert mltrail.sklearn.load_model(f"runs:/{run_id}/model").n_estimators == 5


def test_input_example_and_no_signature(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression

    autolog(log_input_examples=True, log_model_signatures=False)
    X, y = binary
    LogisticRegression().fit(X, y)
    folder = mltrail.Client().download_artifacts(last_run().info.run_id, "model")
    saved = Model.load(folder)
    assert saved.signature is None
    assert np.allclose(np.asarray(saved.load_input_example(folder)), X[:5])


def test_pandas_training_data_gives_a_column_signature(
    autolog: Any, binary: tuple[Any, Any]
) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    autolog()
    X, y = binary
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    LogisticRegression().fit(frame, y)
    model = mltrail.pyfunc.load_model(f"runs:/{last_run().info.run_id}/model")
    assert model.metadata.signature.inputs.input_names() == ["a", "b", "c", "d"]


def test_log_models_false_logs_no_model(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression

    autolog(log_models=False)
    LogisticRegression().fit(*binary)
    assert "model" not in artifact_paths(last_run().info.run_id)


def test_pipeline_logs_once_with_deep_params(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    autolog(log_models=False)
    Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=2.0))]).fit(*binary)
    runs = all_runs()
    assert len(runs) == 1  # the steps' own fit calls are not logged
    run = last_run()
    assert run.data.params["lr__C"] == "2.0"
    assert run.data.params["scale__with_mean"] == "True"
    assert user_tags(run)["estimator_name"] == "Pipeline"
    assert set(run.data.metrics) == CLASSIFIER_METRICS


def test_fit_transform_and_fit_predict_are_logged(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    autolog(log_models=False)
    X, _ = iris
    PCA(n_components=2).fit_transform(X)
    assert user_tags(last_run())["estimator_name"] == "PCA"
    labels = KMeans(n_clusters=3, n_init=2, random_state=0).fit_predict(X)
    assert len(labels) == len(X)
    run = last_run()
    assert user_tags(run)["estimator_name"] == "KMeans"
    assert run.data.params["n_clusters"] == "3"
    assert run.data.metrics == {}  # no labels, no training metrics
    assert len(all_runs()) == 2


def test_preprocessing_is_not_logged_alone(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn.preprocessing import StandardScaler

    autolog()
    StandardScaler().fit_transform(iris[0])
    assert all_runs() == []


def test_cross_val_score_does_not_log(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn import model_selection
    from sklearn.tree import DecisionTreeClassifier

    autolog()
    scores = model_selection.cross_val_score(DecisionTreeClassifier(), *iris, cv=3)
    assert len(scores) == 3
    assert all_runs() == []
