"""The model being evaluated: a model URI, a loaded pyfunc model, or a Python function.

A scikit-learn model loaded through its pyfunc flavor is used raw, as MLflow does: its
``predict_proba`` gives the class probabilities (ROC, PR, lift and calibration plots, log
loss) and its ``score`` becomes the ``score`` metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mltrail.errors import InvalidParameterValue

SKLEARN_LOADER = "mlflow.sklearn"


@dataclass(frozen=True)
class Predictor:
    """How to get predictions (and, for scikit-learn models, probabilities and score)."""

    predict: Any
    predict_proba: Any = None
    score: Any = None
    model_id: str | None = None


def load(model: Any, model_config: Any) -> Predictor | None:
    """The predictor for ``model`` (None when ``model`` is None: static predictions)."""
    from mltrail.pyfunc import PyFuncModel, load_model

    if model is None:
        if model_config:
            raise InvalidParameterValue("model_config needs a model URI to load.")
        return None
    if isinstance(model, str):
        loaded = load_model(model, model_config=model_config)
        model_id = _model_id(loaded) if model.startswith("models:") else None
        return _from_pyfunc(loaded, model_id)
    if model_config:
        raise InvalidParameterValue(
            "model_config applies only to a model URI; load the model with "
            "mltrail.pyfunc.load_model(uri, model_config=...) instead."
        )
    if isinstance(model, PyFuncModel):
        return _from_pyfunc(model, _model_id(model))
    if callable(model):
        return Predictor(predict=model)
    raise InvalidParameterValue(
        "model must be a model URI, a model from mltrail.pyfunc.load_model, a function, "
        f"or None; got {type(model).__name__}."
    )


def _model_id(model: Any) -> str | None:
    """The logged-model id (``m-...``) recorded in a model's MLmodel file, if any."""
    found = model.metadata.extra.get("model_id")
    return str(found) if found else None


def _from_pyfunc(model: Any, model_id: str | None) -> Predictor:
    if model.loader_module != SKLEARN_LOADER:
        return Predictor(predict=model.predict, model_id=model_id)
    raw = model.get_raw_model()
    return Predictor(raw.predict, getattr(raw, "predict_proba", None),
                     getattr(raw, "score", None), model_id)  # fmt: skip


def as_column(values: Any, predictions: str | None) -> Any:
    """A model's output as a 1-d array: one column of a frame or dict (``predictions``
    names it when there are several), or the values themselves."""
    import numpy as np
    import pandas as pd

    if isinstance(values, list) and values and all(isinstance(v, dict) for v in values):
        values = pd.DataFrame(values)
    if isinstance(values, dict):
        values = pd.DataFrame(values)
    if isinstance(values, pd.DataFrame):
        if predictions is not None and predictions in values.columns:
            return values[predictions].to_numpy()
        if len(values.columns) == 1:
            return values.iloc[:, 0].to_numpy()
        raise InvalidParameterValue(
            f"The model returns several columns ({list(values.columns)}): name the one "
            "holding the predictions with predictions='...'."
        )
    found = np.asarray(values)
    return found.reshape(len(found)) if found.ndim == 2 and found.shape[1] == 1 else found
