"""Fixtures shared by the serving tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mltrail.pyfunc
import mltrail.sklearn
from mltrail.models import infer_signature
from tests.serving.record_mlflow import COLUMNS, sample


@pytest.fixture(scope="module")
def recorded_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The model MLflow's server was recorded with (tests/serving/record_mlflow.py),
    trained the same way, saved by mltrail and loaded."""
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    rows, labels = sample(150, seed=0)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    clf = sklearn_linear.LogisticRegression(max_iter=500).fit(frame, labels)
    path = tmp_path_factory.mktemp("recorded") / "model"
    mltrail.sklearn.save_model(clf, path, signature=infer_signature(frame, clf.predict(frame)))
    return mltrail.pyfunc.load_model(Path(path))
