"""The data of an evaluation: features, targets, static predictions and the dataset
recorded as the run's input (a DataFrame, numpy arrays or an ``mltrail.data`` dataset)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mltrail.errors import InvalidParameterValue


@dataclass(frozen=True)
class EvalData:
    """What ``evaluate`` works on."""

    features: Any  # a DataFrame: the model's input
    y_true: Any  # a 1-d numpy array
    y_static: Any  # predictions given in the data (model=None), or None
    dataset: Any  # an mltrail.data dataset, logged as the run's input
    predictions_name: str | None  # the column of the static predictions


def _source(dataset_path: Any) -> Any:
    return None if dataset_path is None else str(dataset_path)


def prepare(data: Any, targets: Any, predictions: Any, has_model: bool,
            feature_names: Any = None, dataset_path: Any = None) -> EvalData:  # fmt: skip
    """Check and split ``data``; a one-line error for any argument that does not fit it."""
    import numpy as np
    import pandas as pd

    from mltrail import data as mdata

    if data is None:
        raise InvalidParameterValue("The data argument cannot be None.")
    if isinstance(data, mdata.Dataset):
        return _from_dataset(data, targets, predictions, has_model, feature_names)
    if isinstance(data, list):
        data = np.asarray(data)
    if isinstance(data, pd.DataFrame):
        if not isinstance(targets, str):
            raise InvalidParameterValue(
                "With a DataFrame, targets is the name of its target column."
            )
        static = None if has_model else predictions
        dataset = mdata.from_pandas(data, source=_source(dataset_path), targets=targets,
                                    predictions=static)  # fmt: skip
        return _from_frame(data, targets, static, dataset, feature_names)
    if isinstance(data, np.ndarray):
        if targets is None or isinstance(targets, str):
            raise InvalidParameterValue(
                "With a numpy array as data, targets is an array of the target values."
            )
        if not has_model:
            raise InvalidParameterValue(
                "Static predictions (model=None) need a DataFrame with a predictions column."
            )
        y = np.asarray(targets)
        arrays = mdata.from_numpy(data, source=_source(dataset_path), targets=y)
        return EvalData(_frame(data, feature_names), y, None, arrays, None)
    raise InvalidParameterValue(
        f"data must be a pandas DataFrame, a numpy array or an mltrail.data dataset, got "
        f"{type(data).__name__}."
    )


def _frame(array: Any, feature_names: Any) -> Any:
    import pandas as pd

    width = array.shape[1] if array.ndim > 1 else 1
    digits = math.ceil(math.log10(width + 1))  # MLflow's names: feature_01 ... feature_10
    columns = (
        list(feature_names)
        if feature_names
        else [f"feature_{str(i + 1).zfill(digits)}" for i in range(width)]
    )
    if len(columns) != width:
        raise InvalidParameterValue(
            f"feature_names has {len(columns)} names for {width} feature columns."
        )
    return pd.DataFrame(array.reshape(len(array), width), columns=columns)


def _from_frame(df: Any, targets: str, static: Any, dataset: Any, feature_names: Any) -> EvalData:
    for what, column in (("targets", targets), ("predictions", static)):
        if column is not None and column not in df.columns:
            raise InvalidParameterValue(
                f"The {what} column {column!r} is not in the data "
                f"(its columns: {list(df.columns)})."
            )
    if static is None and dataset is not None and getattr(dataset, "predictions", None):
        static = dataset.predictions
    dropped = [c for c in (targets, static) if c is not None]
    features = df[list(feature_names)] if feature_names else df.drop(columns=dropped)
    y_static = None if static is None else df[static].to_numpy()
    return EvalData(features, df[targets].to_numpy(), y_static, dataset, static)


def _from_dataset(dataset: Any, targets: Any, predictions: Any, has_model: bool,
                  feature_names: Any) -> EvalData:  # fmt: skip
    from mltrail import data as mdata

    if targets is not None:
        raise InvalidParameterValue(
            "With a dataset as data, name the targets in the dataset "
            "(mltrail.data.from_pandas(df, targets='y')), not in evaluate(targets=...)."
        )
    if predictions is not None and not has_model:
        raise InvalidParameterValue(
            "With a dataset as data, name the predictions in the dataset "
            "(mltrail.data.from_pandas(df, predictions='p')), not in evaluate(predictions=...)."
        )
    if has_model and getattr(dataset, "predictions", None) is not None:
        raise InvalidParameterValue(
            "The dataset names a predictions column, but a model is given: drop one of them."
        )
    if dataset.targets is None:
        raise InvalidParameterValue(
            "The dataset names no targets; evaluating a classifier or regressor needs them "
            "(mltrail.data.from_pandas(df, targets='y'))."
        )
    if isinstance(dataset, mdata.PandasDataset):
        return _from_frame(dataset.df, dataset.targets, None, dataset, feature_names)
    if isinstance(dataset, mdata.NumpyDataset) and not isinstance(dataset.features, dict):
        import numpy as np

        features = _frame(np.asarray(dataset.features), feature_names)
        return EvalData(features, np.asarray(dataset.targets), None, dataset, None)
    raise InvalidParameterValue("Only pandas and (single-array) numpy datasets can be evaluated.")
