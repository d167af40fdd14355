"""Post-training metrics: sklearn.metrics calls and model.score after fit, MLflow's names.

The dataset part of a name is the caller's variable name, so these tests keep their
data in local variables with telling names, exactly as a training script would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mltrail
from tests.autolog.conftest import last_run


def post_metrics(run_id: str) -> dict[str, float]:
    metrics = mltrail.get_run(run_id).data.metrics
    return {k: v for k, v in metrics.items() if not k.startswith("training_")}


def metric_info(run_id: str) -> dict[str, str]:
    local = mltrail.Client().download_artifacts(run_id, "metric_info.json")
    return json.loads(Path(local).read_text())


def test_metric_names_and_call_indexes(autolog: Any, binary: tuple[Any, Any]) -> None:
    import sklearn.metrics
    from sklearn.linear_model import LogisticRegression

    autolog(log_models=False)
    from sklearn.metrics import accuracy_score, f1_score  # imported after autolog()

    X, y = binary
    model = LogisticRegression().fit(X[:40], y[:40])
    run_id = last_run().info.run_id
    X_test, y_test = X[40:], y[40:]
    pred = model.predict(X_test)
    acc = accuracy_score(y_test, pred)
    accuracy_score(y_test, pred)
    f1_score(y_test, pred)
    sklearn.metrics.precision_score(y_test, y_pred=pred)
    proba = model.predict_proba(X_test)
    sklearn.metrics.log_loss(y_test, proba)
    model.score(X_test, y_test)
    model.score(X_test, y_test)
    accuracy_score(y_test, pred.copy())  # a copy of a prediction maps to no run: not logged
    X_test = X[45:]  # another object under the same name: X_test-2
    pred2 = model.predict(X_test)
    accuracy_score(y[45:], pred2)
    pred3 = model.predict(X[50:])  # an expression: unknown_dataset
    accuracy_score(y[50:], pred3)
    got = post_metrics(run_id)
    assert set(got) == {
        "accuracy_score_X_test",
        "accuracy_score-2_X_test",
        "accuracy_score-3_X_test-2",
        "accuracy_score-4_unknown_dataset",
        "f1_score_X_test",
        "precision_score_X_test",
        "log_loss_X_test",
        "LogisticRegression_score_X_test",
        "LogisticRegression_score-2_X_test",
    }
    assert got["accuracy_score_X_test"] == pytest.approx(acc)
    info = metric_info(run_id)
    assert set(info) == set(got)
    assert info["accuracy_score_X_test"] == "accuracy_score(y_true=y_test, y_pred=pred)"
    assert info["precision_score_X_test"] == "precision_score(y_true=y_test, y_pred=pred)"
    assert info["LogisticRegression_score_X_test"] == "LogisticRegression.score(X=X_test, y=y_test)"
    unknown = "accuracy_score(y_true=<ndarray>, y_pred=pred3)"
    assert info["accuracy_score-4_unknown_dataset"] == unknown


def evaluate(model: Any, data: Any, labels: Any) -> float:
    from sklearn import metrics

    return float(metrics.r2_score(labels, model.predict(data)))


def test_regressor_metrics_logged_after_the_run_ended(
    autolog: Any, regression: tuple[Any, Any]
) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LinearRegression

    autolog(log_models=False)
    X, y = regression
    model = LinearRegression().fit(X, y)
    train_run = last_run().info.run_id
    with mltrail.start_run() as other:  # another run is active: the training run still gets them
        X_val = X[:20]
        pred = model.predict(X_val)
        metrics.mean_squared_error(y[:20], pred)
        evaluate(model, X_val, y[:20])  # inside a function: the caller's name is used
    assert set(post_metrics(train_run)) == {"mean_squared_error_X_val", "r2_score_X_val"}
    assert post_metrics(other.info.run_id) == {}
    assert mltrail.get_run(train_run).info.status == "FINISHED"


def test_pipeline_and_search_predictions(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    autolog(log_models=False, max_tuning_runs=0)
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y)
    pipe_run = last_run().info.run_id
    search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    search_run = last_run().info.run_id
    X_eval = X[::3]
    metrics.accuracy_score(y[::3], pipe.predict(X_eval))
    metrics.balanced_accuracy_score(y[::3], search.predict(X_eval))
    assert set(post_metrics(pipe_run)) == {"accuracy_score_X_eval"}
    assert set(post_metrics(search_run)) == {"best_cv_score", "balanced_accuracy_score_X_eval"}


def test_switched_off(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    autolog(log_models=False, log_post_training_metrics=False)
    X, y = binary
    model = LogisticRegression().fit(X, y)
    X_test = X[:10]
    metrics.accuracy_score(y[:10], model.predict(X_test))
    model.score(X_test, y[:10])
    assert post_metrics(last_run().info.run_id) == {}


def test_metrics_during_training_are_not_post_training(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    autolog(log_models=False, max_tuning_runs=0)
    grid = {"max_depth": [1, 2]}
    GridSearchCV(DecisionTreeClassifier(), grid, scoring="f1_macro", cv=2).fit(*iris)
    assert set(post_metrics(last_run().info.run_id)) == {"best_cv_score"}
