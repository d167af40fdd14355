"""GridSearchCV / RandomizedSearchCV: best_* params, best_cv_score, cv_results.csv, children."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mltrail
from tests.autolog.conftest import all_runs, artifact_paths, last_run

GRID = {"C": [0.01, 0.1, 1.0, 10.0], "fit_intercept": [True, False]}
CHILD_METRICS = {
    "mean_fit_time",
    "std_fit_time",
    "mean_score_time",
    "std_score_time",
    "mean_test_score",
    "std_test_score",
    "rank_test_score",
}


def children_of(run_id: str) -> list[Any]:
    return [r for r in all_runs() if r.data.tags.get("mlflow.parentRunId") == run_id]


def test_grid_search_in_a_user_run(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    autolog()
    with mltrail.start_run() as run:
        search = GridSearchCV(LogisticRegression(max_iter=300), GRID, cv=3).fit(*iris)
    parent = mltrail.get_run(run.info.run_id)
    params = parent.data.params
    assert params["best_C"] == str(search.best_params_["C"])
    assert params["best_fit_intercept"] == str(search.best_params_["fit_intercept"])
    assert params["cv"] == "3"
    assert "estimator__C" not in params  # the seed estimator's params are not logged deeply
    assert parent.data.metrics["best_cv_score"] == search.best_score_
    assert "training_accuracy_score" in parent.data.metrics
    assert parent.data.tags["estimator_name"] == "GridSearchCV"
    assert {"model", "best_estimator", "cv_results.csv", "estimator.html"} <= artifact_paths(
        run.info.run_id
    )
    children = children_of(run.info.run_id)
    assert len(children) == 5  # max_tuning_runs defaults to the 5 best of 8
    ranks = sorted(int(c.data.metrics["rank_test_score"]) for c in children)
    assert ranks == sorted(search.cv_results_["rank_test_score"])[:5]
    for child in children:
        assert child.info.status == "FINISHED"
        assert set(child.data.metrics) == CHILD_METRICS
        assert child.data.params["max_iter"] == "300"  # the seed's params, updated
        assert child.data.params["C"] in {str(c) for c in GRID["C"]}
        assert child.data.tags["estimator_name"] == "LogisticRegression"
        assert child.data.tags["mlflow.autologging"] == "sklearn"
        assert child.info.experiment_id == parent.info.experiment_id


def test_cv_results_csv(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    autolog(log_models=False)
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3]}, cv=3)
    search.fit(*iris)
    run_id = last_run().info.run_id
    local = mltrail.Client().download_artifacts(run_id, "cv_results.csv")
    with Path(local).open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert set(search.cv_results_) == set(rows[0])
    assert [r["param_max_depth"] for r in rows] == ["1", "2", "3"]
    scores = [float(r["mean_test_score"]) for r in rows]
    assert np.allclose(scores, search.cv_results_["mean_test_score"])


def test_max_tuning_runs(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    grid = {"max_depth": [1, 2, 3, 4, 5, 6, 7]}
    autolog(log_models=False, max_tuning_runs=2)
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=2).fit(*iris)
    children = children_of(last_run().info.run_id)
    ranks = sorted(c.data.metrics["rank_test_score"] for c in children)
    assert ranks == sorted(search.cv_results_["rank_test_score"])[:2]
    autolog(log_models=False, max_tuning_runs=None)
    GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=2).fit(*iris)
    assert len(children_of(last_run().info.run_id)) == 7
    autolog(log_models=False, max_tuning_runs=0)
    GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=2).fit(*iris)
    assert children_of(last_run().info.run_id) == []


def test_randomized_search_of_a_pipeline(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    autolog(log_models=False)
    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())])
    grid = {"lr__C": [0.1, 1.0, 10.0]}
    search = RandomizedSearchCV(pipe, grid, n_iter=3, cv=2, random_state=0).fit(*iris)
    run = last_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["best_lr__C"] == str(search.best_params_["lr__C"])
    assert run.data.tags["estimator_name"] == "RandomizedSearchCV"
    children = children_of(run.info.run_id)
    assert len(children) == 3
    assert all(c.data.params["scale__with_mean"] == "True" for c in children)
    assert len(all_runs()) == 4  # the search's run and its children: no run per inner fit


def test_search_with_several_scorers(autolog: Any, iris: tuple[Any, Any]) -> None:
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    autolog(log_models=False, max_tuning_runs=2)
    scoring = {"acc": "accuracy", "f1": "f1_macro"}
    grid = {"max_depth": [1, 2, 3]}
    search = GridSearchCV(
        DecisionTreeClassifier(random_state=0), grid, scoring=scoring, refit="acc", cv=2
    )
    with pytest.warns(UserWarning, match="chosen by the rank_test_acc column"):
        search.fit(*iris)
    children = children_of(last_run().info.run_id)
    assert len(children) == 2
    assert {"mean_test_acc", "mean_test_f1", "rank_test_acc"} <= set(children[0].data.metrics)
