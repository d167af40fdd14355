"""The patched ``fit`` (and ``fit_transform`` / ``fit_predict``) of scikit-learn estimators.

Only the outermost training call logs.  Without an active run it starts one (tagged
``mlflow.autologging=sklearn``) and ends it after the call: FINISHED, or FAILED (KILLED
on Ctrl-C) when the user's ``fit`` raises, whose exception then propagates unchanged.
With an active run it logs there and leaves the run open (unless ``exclusive=True``:
then the user's run is left alone and nothing is logged).  Every logging step runs
under a :class:`Guard`: a failure skips that step and ends in one warning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from mltrail.entities import RunStatus
from mltrail.sklearn import autolog_config, autolog_content, autolog_post, autolog_search
from mltrail.sklearn.autolog_config import AutologConfig, Guard, log
from mltrail.sklearn.autolog_patch import TrainingSession

INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class FitData:
    """The training data of one call, copied before training (as MLflow does)."""

    x: Any
    y: Any
    sample_weight: Any


def make_fit_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        config = autolog_config.active()
        if config is None:
            return original(self, *args, **kwargs)
        with TrainingSession(self) as session:
            if not session.should_log() or _user_run_excluded(config):
                return original(self, *args, **kwargs)
            return _fit_in_run(original, self, args, kwargs, config)

    return fit


def _user_run_excluded(config: AutologConfig) -> bool:
    from mltrail.tracking import fluent

    return config.exclusive and fluent.active_run() is not None


def _start_run(config: AutologConfig) -> Any:
    from mltrail.tracking import fluent

    run = fluent.start_run(tags=config.run_tags())
    log.info("Started autologging run %s for this scikit-learn training.", run.info.run_id)
    return run


def _fit_in_run(
    original: Callable[..., Any], est: Any, args: tuple, kwargs: dict, config: AutologConfig
) -> Any:
    from mltrail.tracking import fluent

    guard = Guard(config, f"{type(est).__name__}.{original.__name__}")
    managed = None if fluent.active_run() else guard.call("start a run", _start_run, config)
    run = fluent.active_run()
    if run is None:  # no run could be started: train without logging
        guard.report()
        return original(est, *args, **kwargs)
    try:
        result = _train(original, est, args, kwargs, run.info.run_id, guard)
    except BaseException as e:
        if managed is not None:
            status = RunStatus.KILLED if isinstance(e, KeyboardInterrupt) else RunStatus.FAILED
            guard.call("end the run", fluent._end_run, status, managed)
        guard.report()
        raise
    if managed is not None:
        guard.call("end the run", fluent._end_run, RunStatus.FINISHED, managed)
    guard.report()
    return result


def _train(
    original: Callable[..., Any], est: Any, args: tuple, kwargs: dict, run_id: str, guard: Guard
) -> Any:
    """Log before, train, log after; only the training call may raise."""
    data = guard.call("read the training data", _fit_data, est, args, kwargs)
    guard.call("log params and tags", _log_params_and_tags, run_id, est)
    result = original(est, *args, **kwargs)
    if data is not None:
        _after_training(est, data, run_id, guard)
    if guard.config.log_post_training_metrics:
        autolog_post.register_model(est, run_id)
    return result


def _fit_data(est: Any, args: tuple, kwargs: dict) -> FitData:
    return FitData(*autolog_content.fit_data(est.fit, args, kwargs))


def _client() -> Any:
    from mltrail.tracking.client import Client

    return Client()


def _log_params_and_tags(run_id: str, est: Any) -> None:
    client = _client()
    client.log_params(run_id, autolog_content.estimator_params(est))
    client.set_tags(run_id, autolog_content.estimator_tags(est))


def _after_training(est: Any, data: FitData, run_id: str, guard: Guard) -> None:
    """MLflow's order: the model, training metrics and artifacts, then search results."""
    config = guard.config
    example, signature = None, None
    if config.log_models:
        example, signature = _example_and_signature(est, data.x, config)
        guard.call("log the model", _log_model, est, "model", run_id, example, signature, config)
    metrics = guard.call("log training metrics", _log_training_metrics, est, data, run_id, config)
    guard.call("log training plots", _log_plots, est, data, run_id)
    guard.call("log estimator.html", _log_html, est, run_id)
    if data.y is None and not metrics:
        log.warning(
            "Training metrics are not logged: the training call got no labels (y). Pass y "
            "to fit to have them."
        )
    if autolog_content.is_search(est):
        _after_search(est, run_id, example, signature, guard)


def _log_html(est: Any, run_id: str) -> None:
    _client().log_text(run_id, autolog_content.estimator_html(est), "estimator.html")


def _log_training_metrics(est: Any, data: FitData, run_id: str, config: AutologConfig) -> dict:
    from mltrail.tracking import fluent

    metrics = autolog_content.training_metrics(
        est, data.x, data.y, data.sample_weight, config.pos_label
    )
    try:
        metrics.update(autolog_content.training_score(est, data.x, data.y, data.sample_weight))
    except Exception as e:  # as MLflow: a failing score drops training_score only
        log.warning("%s.score failed; training_score is not logged: %s", type(est).__name__, e)
    if metrics:
        fluent.log_metrics(metrics, run_id=run_id)
    return metrics


def _log_plots(est: Any, data: FitData, run_id: str) -> None:
    import tempfile
    from pathlib import Path

    from mltrail.sklearn.autolog_plots import classifier_plots

    files = classifier_plots(est, data.x, data.y, data.sample_weight)
    if not files:
        return
    with tempfile.TemporaryDirectory(prefix="mltrail-autolog-") as tmp:
        for name, content in files.items():
            (Path(tmp) / name).write_bytes(content)
        _client().log_artifacts(run_id, tmp)


def _example_and_signature(est: Any, x: Any, config: AutologConfig) -> tuple[Any, Any]:
    """MLflow's rules: the first rows as example, the signature from predicting on them.

    The example is kept only with ``log_input_examples``; ``signature=False`` tells
    ``log_model`` not to infer one when signatures are off or inference failed.
    """
    if not (config.log_input_examples or config.log_model_signatures):
        return None, None
    try:
        example = deepcopy(x[:INPUT_EXAMPLE_ROWS])
    except Exception as e:  # a data type without slicing: no example, no signature
        log.warning("Could not take an input example from the training data: %s", e)
        return None, None
    signature: Any = None
    if config.log_model_signatures:
        try:
            signature = _infer_signature(est, example)
        except Exception as e:  # a model that cannot predict on 5 rows still gets logged
            log.warning("Could not infer the model signature: %s", e)
    if signature is None:
        signature = False
    return (example if config.log_input_examples else None), signature


def _infer_signature(est: Any, example: Any) -> Any:
    from mltrail.models.signature import infer_signature

    if hasattr(est, "predict"):
        output = est.predict(deepcopy(example))
    elif hasattr(est, "transform"):
        output = est.transform(deepcopy(example))
    else:
        raise TypeError(f"{type(est).__name__} has neither predict nor transform")
    return infer_signature(example, output)


def _free_path(run_id: str, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... when a model of an earlier fit holds it."""
    client = _client()
    path, n = base, 1
    while client.list_artifacts(run_id, path):
        n += 1
        path = f"{base}-{n}"
    return path


def _log_model(
    est: Any, base: str, run_id: str, example: Any, signature: Any, config: AutologConfig
) -> None:
    from mltrail.sklearn import log_model

    path = _free_path(run_id, base)
    if path != base:
        log.info("Run %s already holds a model at %r; this one goes to %r.", run_id, base, path)
    log_model(
        est,
        path,
        signature=signature,
        input_example=example,
        serialization_format=config.serialization_format,
        registered_model_name=config.registered_model_name if base == "model" else None,
        run_id=run_id,
    )


def _after_search(est: Any, run_id: str, example: Any, signature: Any, guard: Guard) -> None:
    """The best estimator's model, ``best_cv_score``, ``best_*``, child runs, cv_results.csv."""
    config = guard.config
    if config.log_models and hasattr(est, "best_estimator_"):
        best = est.best_estimator_
        args = (best, "best_estimator", run_id, example, signature, config)
        guard.call("log best_estimator", _log_model, *args)
    guard.call("log best_cv_score and best_* params", _log_best, est, run_id)
    if hasattr(est, "cv_results_"):
        max_runs = config.max_tuning_runs
        guard.call("create child runs", autolog_search.create_child_runs, run_id, est, max_runs)
        guard.call("log cv_results.csv", autolog_search.log_cv_results, run_id, est)


def _log_best(est: Any, run_id: str) -> None:
    from mltrail.tracking import fluent

    if metrics := autolog_search.best_metrics(est):
        fluent.log_metrics(metrics, run_id=run_id)
    if params := autolog_search.best_params(est):
        fluent.log_params(params, run_id=run_id)
