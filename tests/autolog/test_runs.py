"""Which run autologging logs into, how it ends, failures, and turning it off."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import mltrail
from mltrail.errors import InvalidParameterValue
from tests.autolog.conftest import all_runs, artifact_paths, last_run

LOGGER = "mltrail.sklearn.autolog"


def test_active_run_is_used_and_left_open(autolog: Any, regression: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LinearRegression

    autolog()
    with mltrail.start_run() as run:
        LinearRegression().fit(*regression)
        assert mltrail.active_run() is not None
        assert mltrail.active_run().info.run_id == run.info.run_id
        assert mltrail.get_run(run.info.run_id).info.status == "RUNNING"
        LinearRegression().fit(*regression)  # a second model in the same run: model-2
    got = mltrail.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert "training_score" in got.data.metrics
    assert "mlflow.autologging" not in got.data.tags  # only on runs autologging started
    assert {"model", "model-2"} <= artifact_paths(run.info.run_id)
    assert len(all_runs()) == 1


def test_extra_tags_on_started_runs(autolog: Any, regression: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LinearRegression

    autolog(log_models=False, extra_tags={"team": "churn"})
    LinearRegression().fit(*regression)
    tags = last_run().data.tags
    assert tags["team"] == "churn"
    assert tags["mlflow.autologging"] == "sklearn"


def test_exclusive_leaves_user_runs_alone(autolog: Any, regression: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LinearRegression

    autolog(exclusive=True, log_models=False)
    with mltrail.start_run() as run:
        LinearRegression().fit(*regression)
    assert mltrail.get_run(run.info.run_id).data.metrics == {}
    LinearRegression().fit(*regression)  # no user run: autologging starts its own
    assert last_run().info.run_id != run.info.run_id
    assert "training_score" in last_run().data.metrics


def test_user_error_propagates_and_run_fails(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression

    class Boom(Exception):
        pass

    class Broken(LogisticRegression):
        def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
            super().fit(X, y, sample_weight)
            raise error

    error = Boom("user code failed")
    autolog(log_models=False)
    with pytest.raises(Boom) as raised:
        pipeline_of(Broken()).fit(*binary)
    assert raised.value is error
    assert mltrail.active_run() is None
    run = last_run()
    assert run.info.status == "FAILED"
    assert run.data.params["clf__C"] == "1.0"  # logged before training
    assert run.data.metrics == {}


def pipeline_of(estimator: Any) -> Any:
    from sklearn.pipeline import Pipeline

    return Pipeline([("clf", estimator)])


def test_invalid_data_error_is_sklearns_own(autolog: Any) -> None:
    from sklearn.linear_model import LinearRegression

    autolog()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LinearRegression().fit([[1.0], [2.0]], [1.0, 2.0, 3.0])
    assert last_run().info.status == "FAILED"


def test_logging_failure_never_breaks_fit(
    autolog: Any, regression: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from sklearn.linear_model import LinearRegression

    autolog(log_models=False)
    with mltrail.start_run() as run:
        mltrail.log_param("fit_intercept", "no")  # autolog's "True" cannot replace it
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            model = LinearRegression().fit(*regression)
    assert model.coef_.shape == (3,)
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1
    assert "log params and tags" in warnings[0].getMessage()
    assert "training was not affected" in warnings[0].getMessage()
    got = mltrail.get_run(run.info.run_id)
    assert got.data.params == {"fit_intercept": "no"}
    assert "training_score" in got.data.metrics  # the other steps still ran


def test_silent_hides_warnings(
    autolog: Any, regression: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from sklearn.linear_model import LinearRegression

    autolog(log_models=False, silent=True)
    with mltrail.start_run():
        mltrail.log_param("fit_intercept", "no")
        with caplog.at_level(logging.DEBUG, logger=LOGGER):
            LinearRegression().fit(*regression)
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_disable_restores_scikit_learn(autolog: Any, binary: tuple[Any, Any]) -> None:
    import sklearn.metrics
    import sklearn.model_selection
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    before = {
        "fit": LogisticRegression.fit,
        "pca_fit_transform": vars(PCA).get("fit_transform"),
        "pipeline_predict": Pipeline.__dict__["predict"].fn,
        "accuracy": sklearn.metrics.accuracy_score,
        "cross_val_score": sklearn.model_selection.cross_val_score,
    }
    from sklearn.cluster import KMeans

    assert "fit_predict" not in vars(KMeans)  # inherited from ClusterMixin
    autolog()
    assert "fit_predict" in vars(KMeans)
    assert LogisticRegression.fit is not before["fit"]
    assert Pipeline.__dict__["predict"].fn is not before["pipeline_predict"]
    assert sklearn.metrics.accuracy_score is not before["accuracy"]
    autolog()  # enabling twice patches once
    autolog(disable=True)
    assert LogisticRegression.fit is before["fit"]
    assert vars(PCA).get("fit_transform") is before["pca_fit_transform"]
    assert Pipeline.__dict__["predict"].fn is before["pipeline_predict"]
    assert sklearn.metrics.accuracy_score is before["accuracy"]
    assert sklearn.model_selection.cross_val_score is before["cross_val_score"]
    assert "fit_predict" not in vars(KMeans)  # inherited again
    LogisticRegression().fit(*binary)
    assert all_runs() == []


def test_options_are_checked(autolog: Any) -> None:
    with pytest.raises(InvalidParameterValue, match="max_tuning_runs"):
        autolog(max_tuning_runs=-1)
    with pytest.raises(InvalidParameterValue, match="serialization_format"):
        autolog(serialization_format="json")
    with pytest.raises(InvalidParameterValue, match="extra_tags"):
        autolog(extra_tags=["a"])


def test_unsupported_version_can_disable(
    autolog: Any, regression: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sklearn
    from sklearn.linear_model import LinearRegression

    monkeypatch.setattr(sklearn, "__version__", "1.2.0")
    autolog(disable_for_unsupported_versions=True)
    LinearRegression().fit(*regression)
    assert all_runs() == []
    autolog(log_models=False)  # without the option: a warning, and autologging works
    LinearRegression().fit(*regression)
    assert len(all_runs()) == 1


def test_serialization_format_and_registered_name(
    autolog: Any, regression: tuple[Any, Any]
) -> None:
    from sklearn.linear_model import LinearRegression

    autolog(serialization_format="skops", registered_model_name="churn")
    LinearRegression().fit(*regression)
    run_id = last_run().info.run_id
    assert "model/model.skops" in artifact_paths(run_id, "model")
    version = mltrail.Client().get_model_version("churn", "1")
    assert version.run_id == run_id
