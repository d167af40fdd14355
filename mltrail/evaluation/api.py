"""``mltrail.evaluate``: MLflow's default evaluator for classifiers and regressors."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue, MltrailError
from mltrail.evaluation import config as cfg
from mltrail.evaluation.data import EvalData, prepare
from mltrail.evaluation.model import Predictor, as_column, load
from mltrail.evaluation.result import EvaluationArtifact, EvaluationResult

#: The evaluation dataset's ``mlflow.data.context`` when no ``metric_prefix`` is set.
CONTEXT = "evaluation"


def _check_libraries() -> None:
    try:
        import matplotlib  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as e:
        raise MltrailError(
            f"mltrail.evaluate needs scikit-learn and matplotlib ({e.name} is missing): "
            "pip install 'mltrail[evaluate]'."
        ) from e


def _refuse(extra_metrics: Any, custom_artifacts: Any, env_manager: str,
            inference_params: Any) -> None:  # fmt: skip
    if extra_metrics:
        raise InvalidParameterValue(
            "extra_metrics is not supported by mltrail: compute your own metrics from "
            "the predictions and log them with mltrail.log_metrics."
        )
    if custom_artifacts:
        raise InvalidParameterValue(
            "custom_artifacts is not supported by mltrail: log your own files with "
            "mltrail.log_artifact."
        )
    if env_manager != "local":
        raise InvalidParameterValue(
            f"env_manager={env_manager!r} is not supported: mltrail evaluates in the current "
            "environment (env_manager='local')."
        )
    if inference_params is not None:
        raise InvalidParameterValue(
            "inference_params applies only to deployment endpoints, which mltrail does not serve."
        )


def _model_id(predictor: Predictor | None, given: str | None) -> str | None:
    from mltrail.tracking.logged_models import active_model_id

    derived = None if predictor is None else predictor.model_id
    if given is not None and derived is not None and given != derived:
        raise InvalidParameterValue(
            f"model_id {given!r} contradicts the model's own id {derived!r}: drop model_id."
        )
    return given or derived or active_model_id()


@contextlib.contextmanager
def _run() -> Iterator[str]:
    """The active run's id, or that of a new run ended afterwards (as MLflow does)."""
    from mltrail.tracking import fluent

    active = fluent.active_run()
    if active is not None:
        yield active.info.run_id
        return
    with fluent.start_run() as run:
        yield run.info.run_id


def _inputs(predictor: Predictor | None, data: EvalData, predictions: str | None,
            conf: cfg.EvalConfig) -> Any:  # fmt: skip
    from mltrail.evaluation.evaluators import Inputs

    if predictor is None:
        return Inputs(data.y_true, as_column(data.y_static, None), None, None)
    y_pred = as_column(predictor.predict(data.features.copy()), predictions)
    proba = None
    if conf.model_type == cfg.names.CLASSIFIER and predictor.predict_proba is not None:
        import numpy as np

        proba = np.asarray(predictor.predict_proba(data.features.copy()))
    score = None
    if predictor.score is not None:
        score = float(predictor.score(data.features.copy(), data.y_true,
                                      sample_weight=conf.sample_weights))  # fmt: skip
    return Inputs(data.y_true, y_pred, proba, score)


def _log(run_id: str, outcome: Any, folder: Path, data: EvalData, conf: cfg.EvalConfig,
         model_id: str | None) -> EvaluationResult:  # fmt: skip
    from mltrail.tracking import fluent, fluent_artifacts, fluent_models

    context = conf.metric_prefix or CONTEXT
    fluent_models.log_input(data.dataset, context=context, model=model_id)
    found = {f"{conf.metric_prefix}{k}": v for k, v in outcome.metrics.items()}
    if model_id is not None:
        fluent.log_metrics(found, step=0, run_id=run_id, model_id=model_id, dataset=data.dataset)
    else:  # linked to no model, as MLflow's evaluator logs them
        from mltrail.entities import Metric

        client, _ = fluent._run_client(run_id)
        now = int(time.time() * 1000)
        client.log_batch(run_id, [Metric(k, float(v), now, 0) for k, v in found.items()])
    artifacts: dict[str, EvaluationArtifact] = {}
    for name, (file_name, kind) in outcome.files.items():
        fluent_artifacts.log_artifact(folder / file_name, run_id=run_id)
        uri = fluent_artifacts.get_artifact_uri(file_name)
        artifacts[name] = kind(uri, _local(uri))
    return EvaluationResult(found, artifacts, run_id)


def _local(uri: str) -> Path | None:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def evaluate(
    model: Any = None,
    data: Any = None,
    *,
    model_type: str | None = None,
    targets: Any = None,
    predictions: str | None = None,
    dataset_path: str | None = None,
    feature_names: list[str] | None = None,
    evaluators: str | list[str] | None = None,
    evaluator_config: dict[str, Any] | None = None,
    extra_metrics: list[Any] | None = None,
    custom_artifacts: list[Any] | None = None,
    env_manager: str = "local",
    model_config: dict[str, Any] | None = None,
    inference_params: dict[str, Any] | None = None,
    model_id: str | None = None,
) -> EvaluationResult:
    """Evaluate a classifier or regressor on data, as MLflow's default evaluator does.

    Predicts with ``model`` (or takes the predictions from ``data``), computes MLflow's
    default metrics under MLflow's names (``accuracy_score``, ``roc_auc``, ``r2_score``
    ...), draws its plots (confusion matrix, ROC, precision-recall, lift, calibration)
    and tables (``per_class_metrics``), and logs them all to the active run (a new run
    when none is active).  The data is logged as the run's input (context
    ``evaluation``, or the ``metric_prefix``); the metrics are linked to the logged
    model when there is one.  No SHAP explainability, no LLM evaluators.

    Args:
        model: a model URI (``models:/m-...``, ``runs:/<id>/model`` ...), a model from
            ``mltrail.pyfunc.load_model``, a function from a DataFrame to predictions,
            or None to evaluate the predictions in ``data``.
        data: a pandas DataFrame, a numpy array, or an ``mltrail.data`` dataset.
        model_type: ``"classifier"`` or ``"regressor"``.
        targets: the target column's name (DataFrame), or the target values (array).
        predictions: the predictions column: in ``data`` when ``model`` is None, else in
            the model's output when it has several columns.
        dataset_path: where the data came from; recorded as the dataset's source.
        feature_names: the feature columns (default: every column but the targets and
            predictions; ``feature_1``, ``feature_2`` ... for an array).
        evaluators: ``"default"`` (or None), ``"classifier"``, ``"regressor"``, or a list.
        evaluator_config: settings: ``pos_label``, ``label_list``, ``average``,
            ``sample_weights``, ``metric_prefix``, ``max_classes_for_multiclass_roc_pr``,
            ``calibration_n_bins``, ``calibration_classifier_name``, ``col_mapping``,
            ``log_model_explainability`` (accepted; mltrail draws no SHAP plots).
        extra_metrics: not supported (an error if given): log your own metrics.
        custom_artifacts: not supported (an error if given): log your own files.
        env_manager: only ``"local"``.
        model_config: settings for loading a model given by URI.
        inference_params: not supported (deployment endpoints only).
        model_id: the logged model the results are about (default: the model's own id,
            else the active model).

    Returns:
        An ``EvaluationResult`` with ``metrics``, ``artifacts`` (each with ``uri`` and
        ``content``) and ``run_id``.

    Example:
        >>> import mltrail, pandas as pd
        >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
        >>> result = mltrail.evaluate(lambda X: (X["x"] > 1.5).astype(int), df,
        ...                           targets="y", model_type="classifier")
        >>> result.metrics["accuracy_score"], sorted(result.artifacts)
        (1.0, ['confusion_matrix'])
    """
    _refuse(extra_metrics, custom_artifacts, env_manager, inference_params)
    mapping = cfg.col_mapping(evaluator_config)
    targets = mapping.get(targets, targets) if isinstance(targets, str) else targets
    if isinstance(predictions, str):
        predictions = mapping.get(predictions, predictions)
    conf = cfg.resolve(model_type, evaluators, evaluator_config)
    _check_libraries()
    from mltrail.evaluation import evaluators as builtin

    prepared = prepare(data, targets, predictions, model is not None, feature_names, dataset_path)
    if model is None and prepared.y_static is None:
        raise InvalidParameterValue(
            "Give a model, or the predictions column of the data (predictions='...')."
        )
    predictor = load(model, model_config)
    linked = _model_id(predictor, model_id)
    inputs = _inputs(predictor, prepared, predictions, conf)
    run = builtin.classify if conf.model_type == cfg.names.CLASSIFIER else builtin.regress
    with tempfile.TemporaryDirectory(prefix="mltrail-eval-") as tmp:
        outcome = run(inputs, conf, Path(tmp))  # every check passed before a run starts
        with _run() as run_id:
            return _log(run_id, outcome, Path(tmp), prepared, conf, linked)
