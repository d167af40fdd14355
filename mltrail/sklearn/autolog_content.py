"""What autologging records about one fitted estimator: params, tags, training metrics.

Names and computations follow MLflow's sklearn autologging: ``training_`` metrics
(weighted averages for classifiers unless ``pos_label`` is given, ``ovo`` ROC AUC for
more than two classes), ``training_score`` from ``estimator.score``, the
``estimator.html`` view and, where matplotlib is installed, the classifier plots.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Callable
from typing import Any

from mltrail import validation

log = logging.getLogger("mltrail.sklearn.autolog")
TRAINING_PREFIX = "training_"
_SAMPLE_WEIGHT = "sample_weight"


def is_search(estimator: Any) -> bool:
    """GridSearchCV / RandomizedSearchCV (their seed estimator's params are not logged)."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    return isinstance(estimator, (GridSearchCV, RandomizedSearchCV))


def estimator_tags(estimator: Any) -> dict[str, str]:
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}


def _ellipsize(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def loggable_params(params: dict[str, Any]) -> dict[str, str]:
    """Params as strings; over-long keys and values cut with "..." (as MLflow's autolog)."""
    out = {}
    for key, value in params.items():
        name, text = str(key), str(value)
        if len(name) > validation.MAX_KEY_LENGTH:
            name = _ellipsize(name, validation.MAX_KEY_LENGTH)
            log.warning("Truncated the param key %r", name)
        if len(text) > validation.MAX_PARAM_VALUE_LENGTH:
            text = _ellipsize(text, validation.MAX_PARAM_VALUE_LENGTH)
            log.warning("Truncated the value of the param %r to %d characters", name, len(text))
        out[name] = text
    return out


def estimator_params(estimator: Any) -> dict[str, str]:
    return loggable_params(estimator.get_params(deep=not is_search(estimator)))


def _arg_names(fn: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(fn).parameters)


def fit_data(fit: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple:
    """``(X, y, sample_weight)`` of a training call; X and y are copied, as MLflow does."""
    from copy import deepcopy

    names = _arg_names(fit)
    x_name = names[0] if names else "X"
    y_name = names[1] if len(names) > 1 else "y"
    if len(args) >= 2:
        x, y = args[0], args[1]
    elif len(args) == 1:
        x, y = args[0], kwargs.get(y_name)
    else:
        x, y = kwargs.get(x_name), kwargs.get(y_name)
    weight = None
    if _SAMPLE_WEIGHT in names:
        index = names.index(_SAMPLE_WEIGHT)
        weight = args[index] if len(args) > index else kwargs.get(_SAMPLE_WEIGHT)
    return (
        deepcopy(x) if x is not None else None,
        deepcopy(y) if y is not None else None,
        weight,
    )


def _each(metrics: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Compute each metric; one that fails is left out with a warning (MLflow's rule)."""
    values = {}
    for name, compute in metrics.items():
        try:
            values[name] = float(compute())
        except Exception as e:  # e.g. log_loss on labels it never saw: skip this metric only
            log.warning("The metric %s could not be computed and is not logged: %s", name, e)
    return values


def classifier_metrics(est: Any, x: Any, y: Any, weight: Any, pos_label: Any) -> dict[str, float]:
    from sklearn import metrics

    p = TRAINING_PREFIX
    average = "weighted" if pos_label is None else "binary"
    pred = est.predict(x)
    common = {"pos_label": pos_label, "average": average, "sample_weight": weight}
    todo: dict[str, Callable[[], Any]] = {
        p + "precision_score": lambda: metrics.precision_score(y, pred, **common),
        p + "recall_score": lambda: metrics.recall_score(y, pred, **common),
        p + "f1_score": lambda: metrics.f1_score(y, pred, **common),
        p + "accuracy_score": lambda: metrics.accuracy_score(
            y, pred, normalize=True, sample_weight=weight
        ),
    }
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(x)
        score = proba[:, 1] if len(proba[0]) == 2 else proba
        todo[p + "log_loss"] = lambda: metrics.log_loss(y, proba, sample_weight=weight)
        todo[p + "roc_auc"] = lambda: metrics.roc_auc_score(
            y, score, average="weighted", sample_weight=weight, multi_class="ovo"
        )
    return _each(todo)


def regressor_metrics(est: Any, x: Any, y: Any, weight: Any) -> dict[str, float]:
    from sklearn import metrics

    p = TRAINING_PREFIX
    pred = est.predict(x)
    common = {"sample_weight": weight, "multioutput": "uniform_average"}
    values = _each(
        {
            p + "mean_squared_error": lambda: metrics.mean_squared_error(y, pred, **common),
            p + "mean_absolute_error": lambda: metrics.mean_absolute_error(y, pred, **common),
            p + "r2_score": lambda: metrics.r2_score(y, pred, **common),
        }
    )
    if p + "mean_squared_error" in values:
        values[p + "root_mean_squared_error"] = math.sqrt(values[p + "mean_squared_error"])
    return values


def training_metrics(est: Any, x: Any, y: Any, weight: Any, pos_label: Any) -> dict[str, float]:
    """The ``training_*`` metrics of a fitted classifier or regressor (none without y)."""
    from sklearn.base import is_classifier, is_regressor

    if y is None:
        return {}
    if is_classifier(est):
        return classifier_metrics(est, x, y, weight, pos_label)
    if is_regressor(est):
        return regressor_metrics(est, x, y, weight)
    return {}


def training_score(est: Any, x: Any, y: Any, weight: Any) -> dict[str, float]:
    """``training_score``: ``est.score`` on the training data (needs labels)."""
    if y is None or not hasattr(est, "score"):
        return {}
    args = (x, y, weight) if _SAMPLE_WEIGHT in _arg_names(est.score) else (x, y)
    return {TRAINING_PREFIX + "score": float(est.score(*args))}


def estimator_html(estimator: Any) -> str:
    """The estimator's scikit-learn HTML diagram as a page (MLflow's ``estimator.html``)."""
    from sklearn.utils import estimator_html_repr

    head = '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"></head>\n'
    return f"{head}<body>\n{estimator_html_repr(estimator)}\n</body>\n</html>\n"
